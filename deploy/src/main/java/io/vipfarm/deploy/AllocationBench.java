package io.vipfarm.deploy;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.vipfarm.allocation.AllocationMaps;
import io.vipfarm.allocation.AllocationVerticle;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.RequestTransport;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.ConsistencyReport;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code vipfarm bench allocate}: N Hazelcast members in this JVM (127.0.0.1, a random cluster name),
 * each with a clustered Vert.x running the allocation verticle; a pool; optionally pre-filled; then S
 * acquires for distinct new sessions through the real path (the service-api client over the clustered
 * event bus, requests spread over the members, a bounded number in flight, optionally paced). Prints
 * human lines, then one JSON line last. A baseline in the same run, an empty request/reply on the same
 * event bus with the same concurrency, shows what the bus itself costs on this machine right now.
 */
public final class AllocationBench {
  static final String USAGE = String.join("\n",
      "vipfarm bench allocate --members N --sessions S [--rate R] [--pool-prefix P] [--fill F] [--concurrency C] [--hosts H] [--warmup W]",
      "  --members N       Hazelcast members started in this JVM (default 1)",
      "  --sessions S      new sessions to acquire a lease for (default 10000)",
      "  --rate R          at most R requests per second (default: as fast as possible)",
      "  --pool-prefix P   pool size as a prefix length, 8..30 (default 16)",
      "  --fill F          percent of the pool leased before measuring, 0..99 (default 0)",
      "  --concurrency C   requests in flight (default 64)",
      "  --hosts H         session hosts the sessions come from, in turn (default 1000: a farm's hosts hold",
      "                    tens to hundreds of sessions each, and a host's lease keys share one partition)",
      "  --warmup W|auto   unmeasured acquires first, in a pool of their own (127.64.0.0/10); auto (default):",
      "                    chunks of 10000 until the JIT has settled (at most 250000); 0: none");

  private static final String ECHO = "vipfarm.bench.echo";

  /** {@code warmup} is a count of acquires, or {@link JitWarmUp#AUTO}. */
  record Options(int members, int sessions, int rate, int prefix, int fill, int concurrency, int hosts, int warmup) {}

  private static final int WARMUP_CHUNK = 10_000;
  private static final int WARMUP_MAX_CHUNKS = 25;

  /** The warm-up pool: outside every measured pool (127.128.0.0/9 and 127.200.0.0/13 or smaller), but not with a /8. */
  private static final String WARMUP_CIDR = "127.64.0.0/10";

  private AllocationBench() {}

  /** Parses {@code allocate ...}; throws {@link UsageException} on anything unknown or out of range. */
  static Options parse(List<String> args) {
    if (args.isEmpty() || !args.get(0).equals("allocate")) {
      throw new UsageException("bench: expected 'allocate'\n" + USAGE);
    }
    int members = 1;
    int sessions = 10_000;
    int rate = 0;
    int prefix = 16;
    int fill = 0;
    int concurrency = 64;
    int hosts = 1000;
    int warmup = JitWarmUp.AUTO;
    for (CommandOption option : CommandOption.parse(args.subList(1, args.size()))) {
      String name = option.name();
      String value = option.value();
      switch (name) {
        case "--members" -> members = number(name, value, 1, 9);
        case "--sessions" -> sessions = number(name, value, 1, 10_000_000);
        case "--rate" -> rate = number(name, value, 1, 10_000_000);
        case "--pool-prefix" -> prefix = number(name, value, 8, 30);
        case "--fill" -> fill = number(name, value, 0, 99);
        case "--concurrency" -> concurrency = number(name, value, 1, 4096);
        case "--hosts" -> hosts = number(name, value, 1, 1_000_000);
        case "--warmup" -> warmup = value.equals("auto") ? JitWarmUp.AUTO : number(name + " (or auto)", value, 0, 4_000_000);
        default -> throw new UsageException("bench: unknown option '" + name + "'\n" + USAGE);
      }
    }
    long usable = (1L << (32 - prefix)) - 2;
    long filled = usable * fill / 100;
    if (filled + sessions > usable) {
      throw new UsageException("bench: a /" + prefix + " has " + usable + " usable addresses, fewer than "
          + filled + " pre-filled + " + sessions + " sessions");
    }
    if (warmup > 0 && prefix == 8) {
      throw new UsageException("bench: --warmup needs a pool of its own, which a /8 pool leaves no room for");
    }
    if (warmup == JitWarmUp.AUTO && prefix == 8) {
      warmup = 0; // no room for a warm-up pool next to a /8: measured cold, as the human line says
    }
    return new Options(members, sessions, rate, prefix, fill, concurrency, hosts, warmup);
  }

  private static int number(String name, String value, int min, int max) {
    try {
      int n = Integer.parseInt(value);
      if (n < min || n > max) {
        throw new UsageException("bench: " + name + " must be " + min + " to " + max + ", got " + value);
      }
      return n;
    } catch (NumberFormatException e) {
      throw new UsageException("bench: " + name + " must be a number, got '" + value + "'");
    }
  }

  /** Runs the benchmark and prints to {@code out}; returns the JSON line. */
  static JsonObject run(Options o, PrintStream out) throws Exception {
    String cluster = "vipfarm-bench-" + UUID.randomUUID();
    int basePort = 16_000 + ThreadLocalRandom.current().nextInt(0, 300) * 20;
    List<HazelcastInstance> members = new ArrayList<>();
    List<Vertx> nodes = new ArrayList<>();
    try {
      for (int i = 0; i < o.members(); i++) {
        HazelcastInstance hz = Hazelcast.newHazelcastInstance(memberConfig(cluster, basePort, o.members()));
        members.add(hz);
        Vertx vertx = await(Vertx.builder()
            .with(new VertxOptions().setEventBusOptions(new EventBusOptions().setHost("127.0.0.1").setPort(0)
                .setClusterPublicHost("127.0.0.1")))
            .withClusterManager(new HazelcastClusterManager(hz))
            .buildClustered());
        nodes.add(vertx);
        await(vertx.deployVerticle(new AllocationVerticle(hz)));
        vertx.eventBus().consumer(ECHO, msg -> msg.reply(msg.body()));
        // stands for the event log every control member runs (lease events need a consumer, or every
        // send looks for one in vain); it discards them, so the ring buffer write is not in these figures
        await(vertx.eventBus().consumer(Addresses.EVENTS_SUBMIT, msg -> { }).completion());
        EventSink.eventLogRunsHere(vertx, true);
      }
      out.printf("members: %d in this JVM, cluster %s%n", members.get(0).getCluster().getMembers().size(), cluster);
      if (o.members() > 1) {
        // partitions still migrating to the members that just joined miss backup acknowledgements, and a
        // write whose backup is not acknowledged fails (AllocationMaps: fail on indeterminate state):
        // measure the cluster as it runs, not as it forms
        long safeStart = System.nanoTime();
        waitUntilSafe(members, TimeUnit.SECONDS.toNanos(120));
        out.printf("cluster safe (partitions and backups in place) after %.1f s%n", (System.nanoTime() - safeStart) / 1e9);
      }
      // each member's own service, as the agent bridge asks it (AgentBridgeVerticle: localOnly): an agent's
      // request goes to the member it is connected to, never on to another one over the event bus
      List<AllocationService> clients = nodes.stream()
          .map(v -> AllocationService.client(new EventBusClient(RequestTransport.localEventBus(v),
              () -> Future.succeededFuture(Addresses.ALLOCATION), EventBusClient.DEFAULT_TIMEOUT_MS))).toList();

      String pool = "bench";
      String cidr = o.prefix() == 8 ? "127.0.0.0/8" : "127.200.0.0/" + o.prefix();
      if (o.prefix() > 8 && o.prefix() < 16) {
        cidr = "127.128.0.0/" + o.prefix();
      }
      PoolView created = await(clients.get(0).putPool(new PoolSpec(pool, cidr, null, null, 3600)));
      int warmedUp = 0;
      Boolean settled = null;
      if (o.warmup() != 0) {
        // the JIT and the members' caches warm up on another pool, so the measured pool's fill is as asked,
        // and at the measured pace: paced acquires go through timers and a load that closed-loop ones
        // never see, and C2 otherwise compiled and recompiled their path during the measured phase (1.2 s
        // of compile time in 8.3 s measured, at 12,000/s on 2 cores, the slow acquires bunched where it ran)
        await(clients.get(0).putPool(new PoolSpec("warmup", WARMUP_CIDR, null, null, 3600)));
        long t = System.nanoTime();
        if (o.warmup() == JitWarmUp.AUTO) {
          AtomicInteger chunk = new AtomicInteger();
          JitWarmUp.Result r = JitWarmUp.untilSteady(2, WARMUP_MAX_CHUNKS, () -> drive(nodes, clients, "warmup",
              "warm" + chunk.incrementAndGet(), WARMUP_CHUNK, o.concurrency(), o.hosts(), o.rate(), null));
          warmedUp = r.chunks() * WARMUP_CHUNK;
          settled = r.settled();
          out.printf("warm-up: %d acquires in another pool in %.1f s; the JIT %s (compiling %.0f%% of the last chunk's time)%n",
              warmedUp, (System.nanoTime() - t) / 1e9, r.settled() ? "settled" : "had not settled",
              100 * r.lastShare());
        } else {
          drive(nodes, clients, "warmup", "warm", o.warmup(), o.concurrency(), o.hosts(), o.rate(), null);
          warmedUp = o.warmup();
          out.printf("warm-up: %d acquires in another pool in %.1f s%n", o.warmup(), (System.nanoTime() - t) / 1e9);
        }
      } else {
        out.println("warm-up: none (the figures include the JIT compiling the path)");
      }
      long fillCount = created.size() * o.fill() / 100;
      if (fillCount > 0) {
        long t = System.nanoTime();
        drive(nodes, clients, pool, "fill", (int) fillCount, o.concurrency(), o.hosts(), 0, null);
        out.printf("pre-filled %d of %d addresses (%d%%) in %.1f s%n", fillCount, created.size(), o.fill(),
            (System.nanoTime() - t) / 1e9);
      }

      double baseline = echoBaseline(nodes, Math.max(1_000, Math.min(o.sessions(), 20_000)), o.concurrency());
      out.printf("baseline: empty event-bus request/reply at concurrency %d: %.0f/s%n", o.concurrency(), baseline);

      long heapBefore = heapAfterGc();
      long[] latencies = new long[o.sessions()];
      long start = System.nanoTime();
      long cpuStart = processCpuNanos();
      CpuSteal.Reading stealStart = CpuSteal.read();
      long compileStart = JitWarmUp.totalCompileMillis();
      drive(nodes, clients, pool, "s", o.sessions(), o.concurrency(), o.hosts(), o.rate(), latencies);
      double seconds = (System.nanoTime() - start) / 1e9;
      // what the JIT compiled meanwhile: on 2 cores a busy C2 thread takes a core from the measured work
      long compileMs = compileStart < 0 ? -1 : JitWarmUp.totalCompileMillis() - compileStart;
      // CPU time of the whole process (all members and the client) per acquire: unlike leases/s it hardly
      // moves with what else the shared machine runs, so runs at different times compare
      double cpuUsPerLease = (processCpuNanos() - cpuStart) / 1e3 / o.sessions();
      double stealPercent = CpuSteal.read().percentSince(stealStart);
      long heapAfter = heapAfterGc();

      List<Lease> leases = await(clients.get(0).leases(new AllocationQuery(null, null, null, pool, null)));
      Set<String> distinct = new HashSet<>();
      leases.forEach(l -> distinct.add(l.address()));
      long checkStart = System.nanoTime();
      ConsistencyReport report = await(clients.get(0).check());
      double checkSeconds = (System.nanoTime() - checkStart) / 1e9;
      long duplicateAnomalies = report.anomalies().stream()
          .filter(a -> a.type().equals(ConsistencyReport.DUPLICATE_ADDRESS)).count();
      long duplicates = (leases.size() - distinct.size()) + duplicateAnomalies;

      Arrays.sort(latencies);
      double rate = o.sessions() / seconds;
      double p50 = latencies[(int) Math.min(latencies.length - 1, latencies.length * 0.50)] / 1e6;
      double p99 = latencies[(int) Math.min(latencies.length - 1, latencies.length * 0.99)] / 1e6;
      double heapPer100k = (heapAfter - heapBefore) / (1024.0 * 1024.0) * 100_000.0 / o.sessions();
      out.printf("acquired %d leases in %.2f s: %.0f leases/s, p50 %.2f ms, p99 %.2f ms (%.0f%% of the bus baseline)%n",
          o.sessions(), seconds, rate, p50, p99, 100 * rate / baseline);
      out.printf("CPU: %.0f µs per lease (all members and the client); %.1f%% of the machine's CPU time stolen by the hypervisor meanwhile; the JIT compiled for %d ms%n",
          cpuUsPerLease, stealPercent, compileMs);
      out.printf("uniqueness: %d live leases, %d distinct addresses, %d anomalies in the consistency check (%d live leases checked in %.2f s)%n",
          leases.size(), distinct.size(), report.anomalies().size(), report.leases(), checkSeconds);
      out.printf("heap used after GC: %.1f MB before, %.1f MB after: %.1f MB per 100k leases (all %d members, backups included)%n",
          heapBefore / 1048576.0, heapAfter / 1048576.0, heapPer100k, o.members());
      JsonObject json = new JsonObject()
          .put("members", o.members())
          .put("sessions", o.sessions())
          .put("hosts", o.hosts())
          .put("poolPrefix", o.prefix())
          .put("fillPercent", o.fill())
          .put("warmup", warmedUp)
          .put("warmupSettled", settled)
          .put("leasesPerSecond", round(rate))
          .put("p50Ms", round(p50))
          .put("p99Ms", round(p99))
          .put("duplicates", duplicates)
          .put("anomalies", report.anomalies().size())
          .put("heapMbPer100kLeases", round(heapPer100k))
          .put("baselineRequestsPerSecond", round(baseline))
          .put("cpuUsPerLease", round(cpuUsPerLease));
      if (!Double.isNaN(stealPercent)) {
        json.put("stealPercent", round(stealPercent));
      }
      if (compileMs >= 0) {
        json.put("jitCompileMsMeasured", compileMs);
      }
      out.println(json.encode());
      return json;
    } finally {
      for (Vertx v : nodes) {
        try {
          v.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // shutting down anyway
        }
      }
      members.forEach(HazelcastInstance::shutdown);
    }
  }

  private static double round(double v) {
    return Math.round(v * 100) / 100.0;
  }

  /**
   * Acquires {@code count} leases for keys {@code tag-i} (of host {@code i mod hosts}) with at most
   * {@code concurrency} in flight,
   * request i through member i mod N, paced to {@code rate}/s when positive; records latencies when asked.
   */
  private static void drive(List<Vertx> nodes, List<AllocationService> clients, String pool, String tag, int count,
      int concurrency, int hosts, int rate, long[] latencies) throws Exception {
    AtomicInteger next = new AtomicInteger();
    AtomicLong failures = new AtomicLong();
    List<String> failureText = new ArrayList<>();
    long start = System.nanoTime();
    List<Future<Void>> chains = new ArrayList<>();
    for (int w = 0; w < Math.min(concurrency, count); w++) {
      // chains spread over the members like agents over the members' bridges
      Vertx vertx = nodes.get(w % nodes.size());
      AllocationService client = clients.get(w % nodes.size());
      Promise<Void> done = Promise.promise();
      vertx.runOnContext(v -> step(vertx, client, pool, tag, count, hosts, rate, start, latencies, next, failures, failureText, done));
      chains.add(done.future());
    }
    for (Future<Void> chain : chains) {
      chain.toCompletionStage().toCompletableFuture().get(30, TimeUnit.MINUTES);
    }
    if (failures.get() > 0) {
      throw new IllegalStateException(failures.get() + " acquires failed, e.g. " + failureText);
    }
  }

  private static void step(Vertx vertx, AllocationService client, String pool, String tag, int count, int hosts, int rate,
      long start, long[] latencies, AtomicInteger next, AtomicLong failures, List<String> failureText, Promise<Void> done) {
    int i = next.getAndIncrement();
    if (i >= count) {
      done.complete();
      return;
    }
    long due = rate > 0 ? start + (long) (i * 1e9 / rate) : 0;
    long wait = rate > 0 ? TimeUnit.NANOSECONDS.toMillis(due - System.nanoTime()) : 0;
    Runnable send = () -> {
      long t0 = System.nanoTime();
      AcquireRequest request = new AcquireRequest(pool, new LeaseKey("bench-host-" + (i % hosts), "boot-1", tag + "-" + i, null), "user-" + tag + "-" + i);
      client.acquire(request).onComplete(ar -> {
        if (latencies != null) {
          latencies[i] = System.nanoTime() - t0;
        }
        if (ar.failed()) {
          failures.incrementAndGet();
          synchronized (failureText) {
            if (failureText.size() < 3) {
              failureText.add(ar.cause().toString());
            }
          }
        }
        step(vertx, client, pool, tag, count, hosts, rate, start, latencies, next, failures, failureText, done);
      });
    };
    if (wait > 0) {
      vertx.setTimer(wait, id -> send.run());
    } else {
      send.run();
    }
  }

  /** Requests per second of an empty request/reply to the member's own consumer, at the same concurrency. */
  private static double echoBaseline(List<Vertx> nodes, int count, int concurrency) throws Exception {
    AtomicInteger next = new AtomicInteger();
    long start = System.nanoTime();
    List<Future<Void>> chains = new ArrayList<>();
    JsonObject body = new JsonObject().put("pool", "bench").put("key", new JsonObject().put("hostId", "bench-host"));
    for (int w = 0; w < Math.min(concurrency, count); w++) {
      Vertx vertx = nodes.get(w % nodes.size());
      Promise<Void> done = Promise.promise();
      vertx.runOnContext(v -> echo(vertx, body, count, next, done));
      chains.add(done.future());
    }
    for (Future<Void> chain : chains) {
      chain.toCompletionStage().toCompletableFuture().get(10, TimeUnit.MINUTES);
    }
    return count / ((System.nanoTime() - start) / 1e9);
  }

  private static void echo(Vertx vertx, JsonObject body, int count, AtomicInteger next, Promise<Void> done) {
    if (next.getAndIncrement() >= count) {
      done.complete();
      return;
    }
    vertx.eventBus().request(ECHO, body, new DeliveryOptions().setLocalOnly(true)).onComplete(ar -> {
      if (ar.failed()) {
        done.fail(ar.cause());
      } else {
        echo(vertx, body, count, next, done);
      }
    });
  }

  private static void waitUntilSafe(List<HazelcastInstance> members, long timeoutNanos) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutNanos;
    while (!members.stream().allMatch(m -> m.getPartitionService().isLocalMemberSafe())
        || !members.get(0).getPartitionService().isClusterSafe()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the cluster was not safe (partitions migrating) after "
            + TimeUnit.NANOSECONDS.toSeconds(timeoutNanos) + " s");
      }
      Thread.sleep(100);
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static long heapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static Config memberConfig(String cluster, int basePort, int members) {
    Config cfg = ConfigUtil.loadConfig();
    cfg.setClusterName(cluster);
    cfg.setProperty("hazelcast.phone.home.enabled", "false");
    cfg.setProperty("hazelcast.logging.type", "slf4j");
    cfg.setProperty("hazelcast.shutdownhook.enabled", "false");
    cfg.setProperty("hazelcast.socket.bind.any", "false");
    cfg.setProperty("hazelcast.wait.seconds.before.join", "0");
    cfg.getMemberAttributeConfig().setAttribute("__vertx.nodeId", UUID.randomUUID().toString());
    AllocationMaps.configure(cfg, members);
    NetworkConfig net = cfg.getNetworkConfig();
    net.setPort(basePort).setPortAutoIncrement(true).setPortCount(20);
    net.getInterfaces().setEnabled(true).setInterfaces(List.of("127.0.0.1"));
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    List<String> peers = new ArrayList<>();
    for (int p = basePort; p < basePort + members + 2; p++) {
      peers.add("127.0.0.1:" + p);
    }
    join.getTcpIpConfig().setEnabled(true).setMembers(peers);
    return cfg;
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }

  /** {@code vipfarm bench ...}: exit 0 when no duplicate was found, 1 otherwise. */
  static int main(List<String> args, PrintStream out) throws Exception {
    Locale.setDefault(Locale.ROOT);
    JsonObject result = run(parse(args), out);
    return result.getLong("duplicates") == 0 && result.getInteger("anomalies") == 0 ? 0 : 1;
  }
}
