package io.vipfarm.allocation;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.partition.Partition;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService.Actions;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One control-plane member as its own JVM, for the failure tests ({@code *FailureIT},
 * {@code *SplitBrainIT}): a Hazelcast member configured like {@code deploy}'s ClusterConfig
 * (vertx-hazelcast defaults, {@link AllocationMaps#configure}, TCP-IP join, one bind address), a clustered
 * Vert.x on it, and the real {@link AllocationVerticle}. The test drives it through stdin, one command a
 * line, and reads one reply line per command on stdout ({@code OK ...} or {@code ERR ...}); asynchronous
 * reports start with {@code DONE}. Acquirers talk to the member's own AllocationVerticle over the event
 * bus (local delivery), as the service-api client would, and append every granted lease, after its reply
 * arrived, as one line to the grant log with a single unbuffered write, so a {@code kill -9} loses at most
 * the grant in flight.
 *
 * <p>Arguments: {@code clusterName bindAddress port member1:port,member2:port,... expectedMembers grantLog}.
 *
 * <p>Commands:
 * <ul>
 *   <li>{@code members}: {@code OK <cluster size this member sees>}
 *   <li>{@code pool <name> <cidr> <leaseSeconds>}: creates the pool; {@code OK <size>}
 *   <li>{@code usage <pool>}: {@code OK <used> <free>}
 *   <li>{@code owned <prefix> <n>}: the first name {@code prefix-i} (i < n) whose pool entry's primary is
 *       this member, {@code OK <name>} (or {@code ERR none})
 *   <li>{@code burst <tag> <pool> <host> <keys> <workers>}: {@code workers} concurrent acquirers lease
 *       {@code keys} new keys ({@code <host>|boot|<tag>-<i>|}) between them; {@code OK started}, later
 *       {@code DONE <tag> granted=<n> refused=<type:count,...>}
 *   <li>{@code loop <tag> <pool> <host> <pauseMs>}: one acquirer leasing a new key after each answer
 *       (and {@code pauseMs}) until {@code stop <tag>}; every refusal is logged too, as
 *       {@code REFUSED <epochMs> <tag> <type>}
 *   <li>{@code stop <tag>}: {@code OK <granted> <refused>} once the loop's last request has completed
 *   <li>{@code leases <pool>}: every live lease as {@code LEASE <address> <key> <fence>} lines, then
 *       {@code OK <count>}
 *   <li>{@code exit}: leaves the cluster and exits 0
 * </ul>
 * Grant log lines: {@code GRANT <epochMs> <tag> <pool> <address> <key> <fence>}.
 */
public final class ClusterMemberMain {
  /** How long one request may take: through a member loss Hazelcast retries until the partition moved. */
  static final long REQUEST_TIMEOUT_MS = 60_000;

  private final HazelcastInstance hazelcast;
  private final Vertx vertx;
  private final FileChannel grantLog;
  private final PrintStream out;
  private final Map<String, AtomicBoolean> loops = new ConcurrentHashMap<>();
  private final Map<String, Future<String>> loopResults = new ConcurrentHashMap<>();
  private final AtomicLong keySequence = new AtomicLong();

  private ClusterMemberMain(HazelcastInstance hazelcast, Vertx vertx, FileChannel grantLog, PrintStream out) {
    this.hazelcast = hazelcast;
    this.vertx = vertx;
    this.grantLog = grantLog;
    this.out = out;
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println("usage: ClusterMemberMain clusterName bindAddress port members expectedMembers grantLog");
      System.exit(2);
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    String bind = args[1];
    Config config = config(args[0], bind, Integer.parseInt(args[2]),
        Arrays.asList(args[3].split(",")), Integer.parseInt(args[4]));
    HazelcastInstance hazelcast = Hazelcast.newHazelcastInstance(config);
    Vertx vertx = Vertx.builder()
        .with(new VertxOptions().setEventBusOptions(
            new EventBusOptions().setHost(bind).setPort(0).setClusterPublicHost(bind)))
        .withClusterManager(new HazelcastClusterManager(hazelcast))
        .buildClustered()
        .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    vertx.deployVerticle(new AllocationVerticle(hazelcast)).toCompletionStage().toCompletableFuture()
        .get(60, TimeUnit.SECONDS);
    FileChannel log = FileChannel.open(Path.of(args[5]),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    ClusterMemberMain member = new ClusterMemberMain(hazelcast, vertx, log, out);
    out.println("READY " + hazelcast.getCluster().getLocalMember().getAddress() + " config=" + configured);
    member.serve(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)));
  }

  /** Which {@code AllocationMaps.configure} was applied: {@code expected-members} or {@code single}. */
  private static String configured = "none";

  /**
   * deploy's member configuration, plus failure detection tuned for tests: a heartbeat a second, a
   * member silent for 5 s is dropped, and split clusters look for each other to merge every 5 s (the
   * defaults are 60 s and 300 s, too slow for a test run; they change when, not whether).
   */
  static Config config(String clusterName, String bind, int port, List<String> members, int expectedMembers) {
    Config cfg = ConfigUtil.loadConfig();
    cfg.setClusterName(clusterName);
    cfg.setProperty("hazelcast.phone.home.enabled", "false");
    cfg.setProperty("hazelcast.logging.type", "slf4j");
    cfg.setProperty("hazelcast.shutdownhook.enabled", "false");
    cfg.setProperty("hazelcast.socket.bind.any", "false");
    cfg.setProperty("hazelcast.local.localAddress", bind);
    cfg.setProperty("hazelcast.wait.seconds.before.join", "0");
    cfg.setProperty("hazelcast.heartbeat.interval.seconds", "1");
    cfg.setProperty("hazelcast.max.no.heartbeat.seconds", "5");
    cfg.setProperty("hazelcast.merge.first.run.delay.seconds", "5");
    cfg.setProperty("hazelcast.merge.next.run.delay.seconds", "5");
    cfg.getMemberAttributeConfig().setAttribute("__vertx.nodeId", UUID.randomUUID().toString());
    applyAllocationMaps(cfg, expectedMembers);
    NetworkConfig net = cfg.getNetworkConfig();
    net.setPort(port).setPortAutoIncrement(false);
    net.getInterfaces().setEnabled(true).setInterfaces(List.of(bind));
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(true).setMembers(members);
    return cfg;
  }

  /**
   * {@code AllocationMaps.configure(Config, int expectedMembers)} (split-brain protection) when the
   * allocation service has it, else the one-argument form; looked up reflectively so that this test
   * support compiles against either, and reported in the READY line so a test can tell which ran.
   */
  private static void applyAllocationMaps(Config cfg, int expectedMembers) {
    try {
      Method withMembers = AllocationMaps.class.getMethod("configure", Config.class, int.class);
      withMembers.invoke(null, cfg, expectedMembers);
      configured = "expected-members";
    } catch (NoSuchMethodException e) {
      AllocationMaps.configure(cfg);
      configured = "single";
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("AllocationMaps.configure(Config, int) failed", e);
    }
  }

  private void serve(BufferedReader in) throws IOException {
    String line;
    while ((line = in.readLine()) != null) {
      String[] w = line.trim().split("\\s+");
      try {
        switch (w[0]) {
          case "members" -> out.println("OK " + hazelcast.getCluster().getMembers().size());
          case "pool" -> {
            PoolView view = call(Actions.PUT_POOL,
                new PoolSpec(w[1], w[2], null, null, Integer.parseInt(w[3])), PoolView.class);
            out.println("OK " + view.size());
          }
          case "usage" -> {
            PoolView view = call(Actions.GET_POOL, new JsonObject().put("name", w[1]), PoolView.class);
            out.println("OK " + view.used() + " " + view.free());
          }
          case "owned" -> out.println(owned(w[1], Integer.parseInt(w[2])));
          case "burst" -> {
            burst(w[1], w[2], w[3], Integer.parseInt(w[4]), Integer.parseInt(w[5]));
            out.println("OK started");
          }
          case "loop" -> {
            loop(w[1], w[2], w[3], Long.parseLong(w[4]));
            out.println("OK started");
          }
          case "stop" -> {
            loops.get(w[1]).set(false);
            out.println("OK " + loopResults.get(w[1]).toCompletionStage().toCompletableFuture()
                .get(REQUEST_TIMEOUT_MS * 2, TimeUnit.MILLISECONDS));
          }
          case "leases" -> {
            JsonArray found = (JsonArray) request(Actions.LEASES,
                Json.encode(new AllocationQuery(null, null, null, w[1], null)));
            for (Lease lease : Json.listFromJson(found, Lease.class)) {
              out.println("LEASE " + lease.address() + " " + lease.key().asString() + " " + lease.fence());
            }
            out.println("OK " + found.size());
          }
          case "exit" -> {
            vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            hazelcast.shutdown();
            out.println("OK bye");
            System.exit(0);
          }
          default -> out.println("ERR unknown command " + w[0]);
        }
      } catch (Exception e) {
        out.println("ERR " + describe(e).replace('\n', ' '));
      }
    }
    // stdin closed: the test is gone, so are we
    Runtime.getRuntime().halt(3);
  }

  /**
   * A name among {@code prefix-0 .. prefix-(n-1)} whose partition this member owns. Partitions move to a
   * member that joined a moment after it is counted in the cluster: this waits (25 s at most, within the
   * test's 30) until no migration is left, so that the answer is not "none" and does not change later.
   */
  private String owned(String prefix, int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
    while (!hazelcast.getPartitionService().isClusterSafe() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    for (int i = 0; i < n; i++) {
      String name = prefix + "-" + i;
      Partition partition = hazelcast.getPartitionService().getPartition(name);
      if (hazelcast.getCluster().getLocalMember().equals(partition.getOwner())) {
        return "OK " + name;
      }
    }
    return "ERR none";
  }

  private void burst(String tag, String pool, String host, int keys, int workers) {
    AtomicInteger next = new AtomicInteger();
    AtomicInteger granted = new AtomicInteger();
    Map<String, AtomicInteger> refused = new ConcurrentHashMap<>();
    Future<?>[] chains = new Future<?>[workers];
    for (int i = 0; i < workers; i++) {
      chains[i] = burstWorker(tag, pool, host, keys, next, granted, refused);
    }
    Future.join(Arrays.asList(chains)).onComplete(ar -> {
      Map<String, Integer> sorted = new TreeMap<>();
      refused.forEach((type, count) -> sorted.put(type, count.get()));
      out.println("DONE " + tag + " granted=" + granted.get() + " refused=" + sorted);
    });
  }

  private Future<Void> burstWorker(String tag, String pool, String host, int keys, AtomicInteger next,
      AtomicInteger granted, Map<String, AtomicInteger> refused) {
    int i = next.getAndIncrement();
    if (i >= keys) {
      return Future.succeededFuture();
    }
    return acquire(tag, pool, new LeaseKey(host, "boot", tag + "-" + i, null))
        .transform(ar -> {
          if (ar.succeeded()) {
            granted.incrementAndGet();
          } else {
            refused.computeIfAbsent(failureType(ar.cause()), t -> new AtomicInteger()).incrementAndGet();
          }
          return burstWorker(tag, pool, host, keys, next, granted, refused);
        });
  }

  private void loop(String tag, String pool, String host, long pauseMs) {
    AtomicBoolean running = new AtomicBoolean(true);
    loops.put(tag, running);
    io.vertx.core.Promise<String> result = io.vertx.core.Promise.promise();
    loopResults.put(tag, result.future());
    loopStep(tag, pool, host, pauseMs, running, new AtomicInteger(), new AtomicInteger(), result);
  }

  private void loopStep(String tag, String pool, String host, long pauseMs, AtomicBoolean running,
      AtomicInteger granted, AtomicInteger refused, io.vertx.core.Promise<String> result) {
    if (!running.get()) {
      result.complete(granted.get() + " " + refused.get());
      return;
    }
    LeaseKey key = new LeaseKey(host, "boot", tag + "-" + keySequence.getAndIncrement(), null);
    acquire(tag, pool, key).onComplete(ar -> {
      if (ar.succeeded()) {
        granted.incrementAndGet();
      } else {
        refused.incrementAndGet();
        appendLine("REFUSED " + System.currentTimeMillis() + " " + tag + " " + failureType(ar.cause()));
      }
      vertx.setTimer(Math.max(1, pauseMs), id -> loopStep(tag, pool, host, pauseMs, running, granted, refused, result));
    });
  }

  /** One acquire through the local AllocationVerticle; a grant is logged once its reply is here. */
  private Future<Lease> acquire(String tag, String pool, LeaseKey key) {
    return requestAsync(Actions.ACQUIRE, Json.encode(new AcquireRequest(pool, key, null)))
        .map(reply -> Json.fromJson((JsonObject) reply, Lease.class))
        .onSuccess(lease -> appendLine("GRANT " + System.currentTimeMillis() + " " + tag + " " + pool + " "
            + lease.address() + " " + lease.key().asString() + " " + lease.fence()));
  }

  private synchronized void appendLine(String line) {
    try {
      ByteBuffer bytes = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        grantLog.write(bytes);
      }
    } catch (IOException e) {
      out.println("ERR cannot write the grant log: " + e);
    }
  }

  private <T> T call(String action, Object body, Class<T> type) throws Exception {
    return Json.fromJson((JsonObject) request(action, Json.encode(body)), type);
  }

  private Object request(String action, Object body) throws Exception {
    return requestAsync(action, body).toCompletionStage().toCompletableFuture()
        .get(REQUEST_TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS);
  }

  private Future<Object> requestAsync(String action, Object body) {
    DeliveryOptions options = new DeliveryOptions()
        .addHeader(Addresses.ACTION_HEADER, action)
        .setLocalOnly(true)
        .setSendTimeout(REQUEST_TIMEOUT_MS);
    return vertx.eventBus().request(Addresses.ALLOCATION, body, options).map(msg -> msg.body());
  }

  /** The service's error type name, or TIMEOUT / NO_HANDLERS / the exception class. */
  private static String failureType(Throwable err) {
    if (err instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
        return ErrorType.ofCode(re.failureCode()).name();
      }
      return re.failureType().name();
    }
    return err.getClass().getSimpleName();
  }

  private static String describe(Throwable e) {
    Throwable cause = e.getCause() != null && !(e instanceof ReplyException) ? e.getCause() : e;
    return failureType(cause) + ": " + cause.getMessage();
  }
}
