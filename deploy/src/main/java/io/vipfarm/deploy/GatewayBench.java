package io.vipfarm.deploy;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.parsetools.RecordParser;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The gateway benchmark of issue 5 ({@code vipfarm bench gateway}): one whole node in this process
 * (every role, a random cluster name, free ports, temporary directories), N live leases created
 * directly through the allocation service's event-bus client, then, over real HTTP with keep-alive:
 *
 * <ol>
 *   <li>{@code GET /health}: the baseline, measured in the same run;
 *   <li>{@code GET /api/v1/allocations?host=H} (H rotating over the lease hosts) and a few unfiltered
 *       first pages with the default limit;
 *   <li>K Server-Sent Events subscribers to {@code session.started}, M sessions started one at a time
 *       through {@code POST /api/v1/hosts/{host}/sessions}; the delay of each delivery is measured from
 *       the moment its POST was sent; every subscriber must get every event exactly once.
 * </ol>
 *
 * Prints human-readable lines, then one JSON line last (also the return value of {@link #run}).
 */
public final class GatewayBench {
  private GatewayBench() {}

  static final String USAGE = String.join("\n",
      "usage: vipfarm bench gateway [options]",
      "  --leases N               live leases to create first (default 100000)",
      "  --hosts N                hosts the leases are spread over (default 100)",
      "  --requests N             measured requests per HTTP lookup (default 2000, after --warmup)",
      "  --warmup N|auto          unmeasured requests before each lookup; auto (default): chunks of 1000",
      "                           until the JIT has settled (at most 30000)",
      "  --page-requests N        measured unfiltered first pages of /api/v1/allocations (default 20; 0 skips)",
      "  --user-requests N        measured /api/v1/allocations?user=U, U rotating (default 200; 0 skips)",
      "  --http-concurrency N     requests in flight for the lookups (default 4)",
      "  --acquire-concurrency N  acquires in flight while creating leases (default 64)",
      "  --lease-order O          interleaved (default): lease i belongs to host i mod hosts, as sessions start",
      "                           on a farm's hosts at once, so a host's addresses lie scattered over the blocks;",
      "                           by-host: each host's leases one after the other (its addresses side by side)",
      "  --subscribers K          SSE subscribers (default 200)",
      "  --events M               sessions started one at a time, one session.started each (default 200)",
      "  --cidr CIDR              the pool, inside 127.0.0.0/8 (default 127.112.0.0/12)");

  private static final String POOL = "bench";
  private static final String AGENT_HOST = "bench-agent";
  private static final int FIRST_SESSION = 1000;
  private static final int ACQUIRE_ATTEMPTS = 10;
  private static final int WARMUP_CHUNK = 1000;
  private static final int WARMUP_MAX_CHUNKS = 30;

  record Options(int leases, int hosts, int requests, int warmup, int pageRequests, int userRequests,
      int httpConcurrency, int acquireConcurrency, boolean byHost, int subscribers, int events, String cidr) {

    static Options parse(List<String> args) {
      int leases = 100_000;
      int hosts = 100;
      int requests = 2000;
      int warmup = JitWarmUp.AUTO;
      int pageRequests = 20;
      int userRequests = 200;
      int httpConcurrency = 4;
      int acquireConcurrency = 64;
      boolean byHost = false;
      int subscribers = 200;
      int events = 200;
      String cidr = "127.112.0.0/12";
      for (CommandOption option : CommandOption.parse(args)) {
        String name = option.name();
        String value = option.value();
        switch (name) {
          case "--leases" -> leases = count(name, value, 0);
          case "--hosts" -> hosts = count(name, value, 1);
          case "--requests" -> requests = count(name, value, 1);
          case "--warmup" -> warmup = value.equals("auto") ? JitWarmUp.AUTO : count(name + " (or auto)", value, 0);
          case "--page-requests" -> pageRequests = count(name, value, 0);
          case "--user-requests" -> userRequests = count(name, value, 0);
          case "--http-concurrency" -> httpConcurrency = count(name, value, 1);
          case "--acquire-concurrency" -> acquireConcurrency = count(name, value, 1);
          case "--lease-order" -> byHost = switch (value) {
            case "interleaved" -> false;
            case "by-host" -> true;
            default -> throw new UsageException("--lease-order must be interleaved or by-host, got " + value);
          };
          case "--subscribers" -> subscribers = count(name, value, 1);
          case "--events" -> events = count(name, value, 1);
          case "--cidr" -> cidr = value;
          default -> throw new UsageException("unknown option " + name);
        }
      }
      long poolSize = poolSize(cidr);
      if (leases > poolSize - 2) {
        throw new UsageException("--leases " + leases + " does not fit in " + cidr);
      }
      return new Options(leases, hosts, requests, warmup, pageRequests, userRequests, httpConcurrency, acquireConcurrency,
          byHost, subscribers, events, cidr);
    }

    private static int count(String name, String value, int min) {
      try {
        int n = Integer.parseInt(value.trim().replace("_", ""));
        if (n >= min) {
          return n;
        }
      } catch (NumberFormatException ignored) {
        // reported below
      }
      throw new UsageException(name + " must be an integer >= " + min + " (got '" + value + "')");
    }

    private static long poolSize(String cidr) {
      String[] parts = cidr.split("/");
      if (parts.length != 2 || !parts[0].startsWith("127.")) {
        throw new UsageException("--cidr must be an IPv4 CIDR inside 127.0.0.0/8 (got '" + cidr + "')");
      }
      try {
        int prefix = Integer.parseInt(parts[1]);
        if (prefix >= 8 && prefix <= 30) {
          return 1L << (32 - prefix);
        }
      } catch (NumberFormatException ignored) {
        // reported below
      }
      throw new UsageException("--cidr needs a prefix length from 8 to 30 (got '" + cidr + "')");
    }
  }

  public static void main(String[] args) {
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    }
    List<String> argv = Arrays.asList(args);
    if (argv.contains("--help") || argv.contains("-h")) {
      System.out.println(USAGE);
      return;
    }
    int status;
    try {
      JsonObject result = new JsonObject(run(argv, System.out));
      status = result.getInteger("missedDeliveries") == 0 && result.getInteger("duplicateDeliveries") == 0 ? 0 : 1;
    } catch (UsageException e) {
      System.err.println("vipfarm bench gateway: " + e.getMessage());
      status = 2;
    } catch (Exception e) {
      System.err.println("vipfarm bench gateway failed: " + e);
      e.printStackTrace();
      status = 1;
    }
    System.exit(status);
  }

  /**
   * Runs the benchmark with {@code args} (see {@link #USAGE}); prints progress and results to
   * {@code out}, the JSON line last, and returns that JSON line. Blocks: call from a plain thread.
   */
  public static String run(List<String> args, PrintStream out) throws Exception {
    Options o = Options.parse(args);
    Path tmp = Files.createTempDirectory("vipfarm-bench-");
    String adminToken = randomToken();
    NodeOptions nodeOptions = new NodeOptions(Role.ALL, "127.0.0.1", 0, AGENT_HOST, tmp.resolve("data"),
        tmp.resolve("run"), "bench-" + UUID.randomUUID(), 0, List.of(), "127.0.0.1");
    long startedAt = System.nanoTime();
    VipfarmNode node = VipfarmNode.start(nodeOptions, adminToken).toCompletionStage().toCompletableFuture()
        .get(120, TimeUnit.SECONDS);
    Vertx clientVertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(2));
    try {
      out.printf(Locale.ROOT, "node up in %.1f s: gateway http://127.0.0.1:%d, %d CPUs, heap max %d MB%n",
          seconds(startedAt), node.gatewayPort(), Runtime.getRuntime().availableProcessors(), heapMaxMb());
      return new Run(o, node, clientVertx, adminToken, out).execute();
    } finally {
      await(clientVertx.close(), 30);
      node.closeAndWait(60);
      deleteTree(tmp);
    }
  }

  /** One run against one node. */
  private static final class Run {
    private final Options o;
    private final VipfarmNode node;
    private final Vertx clientVertx;
    private final String adminToken;
    private final PrintStream out;
    private final int perHost;
    private final int hosts;
    /**
     * The one Vert.x context every HTTP call of the bench starts on. Calls made straight from this
     * thread (no Vert.x thread) each get a new context, so a kept-alive connection answers on another
     * event loop than the caller's, and Vert.x 5.0.7 could then lose a response body that arrived before
     * body() was asked for: the call hung (GatewayBenchTest on CI). A verticle never does that.
     */
    private final Context clientContext;
    private HttpClientAgent http;
    private long acquireRetries;

    Run(Options o, VipfarmNode node, Vertx clientVertx, String adminToken, PrintStream out) {
      this.o = o;
      this.node = node;
      this.clientVertx = clientVertx;
      this.clientContext = clientVertx.getOrCreateContext();
      this.adminToken = adminToken;
      this.out = out;
      this.hosts = Math.max(1, Math.min(o.hosts(), o.leases()));
      this.perHost = o.leases() == 0 ? 0 : (o.leases() + hosts - 1) / hosts;
    }

    String execute() throws Exception {
      http = clientVertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
              .setDefaultHost("127.0.0.1").setDefaultPort(node.gatewayPort()),
          new PoolOptions().setHttp1MaxSize(Math.max(2, o.httpConcurrency())));

      Reply pool = await(call(HttpMethod.PUT, "/api/v1/pools/" + POOL, adminToken,
          new JsonObject().put("cidr", o.cidr()).put("leaseSeconds", 86_400)), 30);
      expect(pool, 200, "creating the pool");
      Reply created = await(call(HttpMethod.POST, "/api/v1/tokens", adminToken,
          new JsonObject().put("name", "bench-reader").put("role", "reader")), 30);
      expect(created, 201, "creating a reader token");
      String readerToken = new JsonObject(created.body()).getString("token");

      createLeases();
      System.gc();
      long heapUsed = heapUsedMb();
      out.printf(Locale.ROOT, "heap used after the leases (after a GC): %d MB of max %d MB%n", heapUsed, heapMaxMb());

      // Sanity: one host's allocations are all there.
      String firstHost = hostId(0);
      Reply oneHost = await(call(HttpMethod.GET, "/api/v1/allocations?host=" + firstHost + "&limit=5000",
          readerToken, null), 60);
      expect(oneHost, 200, "listing the allocations of " + firstHost);
      int rows = new io.vertx.core.json.JsonArray(oneHost.body()).size();
      if (rows != Math.min(perHost, o.leases())) {
        throw new IllegalStateException(firstHost + " has " + rows + " allocations, expected " + perHost);
      }

      Stats health = measure("GET /health", i -> "/health", null, o.warmup(), o.requests());
      double healthCpu = lastCpuMsPerRequest;
      Stats byHost = measure("GET /api/v1/allocations?host=H (" + Math.min(perHost, 500) + " of " + perHost
          + " rows per page)", i -> "/api/v1/allocations?host=" + hostId(i % hosts), readerToken, o.warmup(),
          o.requests());
      double byHostCpu = lastCpuMsPerRequest;
      double byHostSteal = lastStealPercent;
      // users are found by a scan of the lease index, not a Hazelcast index (LeaseIndex.FindSpots)
      Stats byUser = o.userRequests() == 0 || o.leases() == 0 ? null
          : measure("GET /api/v1/allocations?user=U (U has " + hosts + " leases)",
              i -> "/api/v1/allocations?user=user-" + (i % perHost), readerToken, Math.min(20, o.userRequests()),
              o.userRequests());
      Stats firstPage = o.pageRequests() == 0 ? null
          : measure("GET /api/v1/allocations (first page of " + o.leases() + ")", i -> "/api/v1/allocations",
              readerToken, Math.min(3, o.pageRequests()), o.pageRequests());

      EventResult events = sessionEvents(readerToken);

      JsonObject json = new JsonObject()
          .put("leases", o.leases())
          .put("hosts", hosts)
          .put("leaseOrder", o.byHost() ? "by-host" : "interleaved")
          .put("acquireRetries", acquireRetries)
          .put("healthP50Ms", health.p50())
          .put("healthP99Ms", health.p99())
          .put("allocationsByHostP50Ms", byHost.p50())
          .put("allocationsByHostP99Ms", byHost.p99())
          .put("healthCpuMsPerRequest", healthCpu)
          .put("allocationsByHostCpuMsPerRequest", byHostCpu);
      if (!Double.isNaN(byHostSteal)) {
        json.put("allocationsByHostStealPercent", Math.round(byHostSteal * 100) / 100.0);
      }
      if (byUser != null) {
        json.put("allocationsByUserP50Ms", byUser.p50()).put("allocationsByUserP99Ms", byUser.p99());
      }
      if (firstPage != null) {
        json.put("allocationsFirstPageP50Ms", firstPage.p50()).put("allocationsFirstPageP99Ms", firstPage.p99());
      }
      json.put("httpConcurrency", o.httpConcurrency())
          .put("subscribers", o.subscribers())
          .put("events", o.events())
          .put("eventP50Ms", events.delays().p50())
          .put("eventP99Ms", events.delays().p99())
          .put("eventMaxMs", events.delays().max())
          .put("missedDeliveries", events.missed())
          .put("duplicateDeliveries", events.duplicates())
          .put("heapUsedMb", heapUsed)
          .put("heapMaxMb", heapMaxMb())
          .put("cpus", Runtime.getRuntime().availableProcessors());
      out.printf(Locale.ROOT, "targets (issue 5): allocations by host p99 %.2f ms (< 10 ms: %s), "
              + "event p99 %.2f ms (< 100 ms: %s), missed %d, duplicates %d%n",
          byHost.p99(), byHost.p99() < 10 ? "met" : "NOT met",
          events.delays().p99(), events.delays().p99() < 100 ? "met" : "NOT met", events.missed(), events.duplicates());
      String line = json.encode();
      out.println(line);
      return line;
    }

    // ---- leases

    private void createLeases() throws Exception {
      if (o.leases() == 0) {
        return;
      }
      Vertx bus = node.vertx();
      ServiceDiscovery discovery = ServiceDiscovery.create(bus);
      AtomicLong granted = new AtomicLong();
      AtomicLong lastEventAt = new AtomicLong(System.nanoTime());
      MessageConsumer<JsonObject> counter = bus.eventBus().consumer(Addresses.EVENTS, msg -> {
        lastEventAt.set(System.nanoTime());
        if (VipfarmEvent.LEASE_GRANTED.equals(msg.body().getString("type"))) {
          granted.incrementAndGet();
        }
      });
      try {
        await(counter.completion(), 30);
        String address = await(new ServiceLocator(discovery).address(Addresses.ALLOCATION_SERVICE), 30);
        AllocationService allocations = AllocationService.client(EventBusClient.fixed(bus, address));
        out.printf(Locale.ROOT, "creating %d leases in %s over %d hosts x %d sessions (%d acquires in flight)%n",
            o.leases(), o.cidr(), hosts, perHost, o.acquireConcurrency());
        long start = System.nanoTime();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger done = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicInteger retries = new AtomicInteger();
        AtomicReference<Throwable> firstFailure = new AtomicReference<>();
        CompletableFuture<Void> finished = new CompletableFuture<>();
        int workers = Math.min(o.acquireConcurrency(), o.leases());
        AtomicInteger activeWorkers = new AtomicInteger(workers);
        int step = Math.max(1, o.leases() / 10);
        Runnable[] worker = new Runnable[1];
        worker[0] = () -> {
          int i = next.getAndIncrement();
          if (i >= o.leases() || firstFailure.get() != null) {
            if (activeWorkers.decrementAndGet() == 0) {
              finished.complete(null);
            }
            return;
          }
          String host = hostId(o.byHost() ? i / perHost : i % hosts);
          String session = Integer.toString(o.byHost() ? i % perHost : i / hosts);
          acquire(allocations, new AcquireRequest(POOL, new LeaseKey(host, "bench-boot", session, null),
                  "user-" + session), retries, 1)
              .onComplete(result -> {
                if (result.failed()) {
                  failed.incrementAndGet();
                  firstFailure.compareAndSet(null, result.cause());
                }
                int n = done.incrementAndGet();
                if (n % step == 0) {
                  out.printf(Locale.ROOT, "  %d leases (%.0f/s)%n", n, n / seconds(start));
                }
                worker[0].run();
              });
        };
        for (int w = 0; w < workers; w++) {
          worker[0].run();
        }
        finished.get(3600, TimeUnit.SECONDS);
        if (firstFailure.get() != null) {
          throw new IllegalStateException(failed.get() + " acquires failed; the first: " + firstFailure.get(),
              firstFailure.get());
        }
        double took = seconds(start);
        acquireRetries = retries.get();
        out.printf(Locale.ROOT, "created %d leases in %.1f s (%.0f/s), %d acquires retried%n", o.leases(), took,
            o.leases() / took, acquireRetries);
        // The event log numbers and publishes the lease.granted events one by one; let it drain, so the
        // session events measured below do not queue behind them.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (granted.get() < o.leases() && System.nanoTime() < deadline
            && System.nanoTime() - lastEventAt.get() < TimeUnit.SECONDS.toNanos(5)) {
          Thread.sleep(100);
        }
        out.printf(Locale.ROOT, "event log drained: %d lease.granted events published after %.1f s%n",
            granted.get(), seconds(start));
      } finally {
        await(counter.unregister(), 10);
        discovery.close();
      }
    }

    /**
     * One acquire; one the service answers with a transient refusal (concurrent updates, a conflict, or
     * "exhausted" in a pool that has room by construction) is tried again, up to {@value #ACQUIRE_ATTEMPTS}
     * times, and counted: the bench needs its leases, and reports how often that happened.
     */
    private Future<io.vipfarm.api.model.Lease> acquire(AllocationService allocations, AcquireRequest request,
        AtomicInteger retries, int attempt) {
      return allocations.acquire(request).recover(err -> {
        boolean transientFailure = err instanceof VipfarmException e && (e.type() == ErrorType.POOL_EXHAUSTED
            || e.type() == ErrorType.TOO_MANY_RETRIES || e.type() == ErrorType.CONFLICT);
        if (!transientFailure || attempt >= ACQUIRE_ATTEMPTS) {
          return Future.failedFuture(err);
        }
        if (retries.incrementAndGet() <= 3) {
          out.printf(Locale.ROOT, "  acquire for %s refused (%s), trying again%n", request.key().asString(),
              ((VipfarmException) err).detail());
        }
        return acquire(allocations, request, retries, attempt + 1);
      });
    }

    // ---- request latency

    interface Uri {
      String of(int i);
    }

    private double lastCpuMsPerRequest;
    /** Percent of the machine's CPU time stolen by the hypervisor during the last measurement ({@link CpuSteal}). */
    private double lastStealPercent;

    private static long processCpuNanos() {
      return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
          .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private Stats measure(String what, Uri uri, String token, int warmup, int count) throws Exception {
      if (warmup == JitWarmUp.AUTO) {
        long t = System.nanoTime();
        JitWarmUp.Result r = JitWarmUp.untilSteady(2, WARMUP_MAX_CHUNKS, () -> latencies(uri, token, WARMUP_CHUNK));
        out.printf(Locale.ROOT, "%-60s warm-up %d requests in %.1f s; the JIT %s (compiling %.0f%% of the last chunk's time)%n",
            what, r.chunks() * WARMUP_CHUNK, (System.nanoTime() - t) / 1e9, r.settled() ? "settled" : "had not settled",
            100 * r.lastShare());
      } else if (warmup > 0) {
        latencies(uri, token, warmup);
      }
      long cpuBefore = processCpuNanos();
      CpuSteal.Reading stealBefore = CpuSteal.read();
      Stats stats = Stats.of(latencies(uri, token, count));
      // CPU time of this whole process (node and client) per request: unlike the latencies, it hardly
      // moves with what else the shared machine runs, so runs at different times compare
      lastCpuMsPerRequest = Math.round((processCpuNanos() - cpuBefore) / 1e4 / count) / 100.0;
      lastStealPercent = CpuSteal.read().percentSince(stealBefore);
      out.printf(Locale.ROOT, "%-60s n=%d p50 %.2f ms  p99 %.2f ms  max %.2f ms  cpu %.2f ms/request  steal %.1f%%%n", what,
          count, stats.p50(), stats.p99(), stats.max(), lastCpuMsPerRequest, lastStealPercent);
      return stats;
    }

    /** {@code count} GETs with {@code httpConcurrency} in flight; each one's time to its whole body, in ns. */
    private long[] latencies(Uri uri, String token, int count) throws Exception {
      long[] samples = new long[count];
      AtomicInteger next = new AtomicInteger();
      int workers = Math.min(o.httpConcurrency(), count);
      AtomicInteger active = new AtomicInteger(workers);
      CompletableFuture<Void> finished = new CompletableFuture<>();
      Runnable[] worker = new Runnable[1];
      worker[0] = () -> {
        int i = next.getAndIncrement();
        if (i >= count || finished.isDone()) {
          if (active.decrementAndGet() == 0) {
            finished.complete(null);
          }
          return;
        }
        String path = uri.of(i);
        long sent = System.nanoTime();
        read(path, token).onComplete(result -> {
          long took = System.nanoTime() - sent;
          if (result.failed()) {
            finished.completeExceptionally(result.cause());
          } else {
            samples[i] = took;
          }
          worker[0].run();
        });
      };
      clientContext.runOnContext(v -> {
        for (int w = 0; w < workers; w++) {
          worker[0].run();
        }
      });
      finished.get(600, TimeUnit.SECONDS);
      return samples;
    }

    // ---- session events

    private EventResult sessionEvents(String readerToken) throws Exception {
      int k = o.subscribers();
      int m = o.events();
      AtomicLongArray sentAt = new AtomicLongArray(m);
      AtomicInteger delivered = new AtomicInteger();
      AtomicInteger unexpected = new AtomicInteger();
      CompletableFuture<Void> all = new CompletableFuture<>();
      List<Subscriber> subscribers = new ArrayList<>();
      HttpClientAgent sse = clientVertx.createHttpClient(new HttpClientOptions().setKeepAlive(true)
              .setDefaultHost("127.0.0.1").setDefaultPort(node.gatewayPort()),
          new PoolOptions().setHttp1MaxSize(k).setMaxWaitQueueSize(-1));
      try {
        // One unmeasured session first, before anyone subscribes: the first session start of a fresh
        // process loads and compiles its whole path (policy, agent, enforcement) and takes ~0.5-1 s, which
        // with 50 events would be the p99 by itself. Later ones pay the steady-state cost measured here.
        Reply warmup = await(call(HttpMethod.POST, "/api/v1/hosts/" + AGENT_HOST + "/sessions", adminToken,
            new JsonObject().put("sessionId", Integer.toString(FIRST_SESSION - 1)).put("user", "bench-warmup")), 30);
        expect(warmup, 201, "starting the warm-up session");
        long start = System.nanoTime();
        List<Future<Void>> ready = new ArrayList<>();
        for (int s = 0; s < k; s++) {
          Subscriber subscriber = new Subscriber(m, sentAt, () -> {
            if (delivered.incrementAndGet() == k * m) {
              all.complete(null);
            }
          }, unexpected);
          subscribers.add(subscriber);
          ready.add(onClient(() -> subscriber.open(sse, readerToken)));
        }
        await(Future.all(ready), 120);
        out.printf(Locale.ROOT, "%d SSE subscribers to session.started connected in %.1f s%n", k, seconds(start));

        long postsStart = System.nanoTime();
        long[] postTimes = new long[m];
        for (int e = 0; e < m; e++) {
          String sessionId = Integer.toString(FIRST_SESSION + e);
          JsonObject body = new JsonObject().put("sessionId", sessionId).put("user", "bench-user-" + e);
          long sent = System.nanoTime();
          sentAt.set(e, sent);
          Reply reply = await(call(HttpMethod.POST, "/api/v1/hosts/" + AGENT_HOST + "/sessions", adminToken, body), 30);
          postTimes[e] = System.nanoTime() - sent;
          expect(reply, 201, "starting session " + sessionId);
        }
        Stats posts = Stats.of(postTimes);
        out.printf(Locale.ROOT, "started %d sessions one at a time in %.1f s (POST p50 %.2f ms, p99 %.2f ms)%n",
            m, seconds(postsStart), posts.p50(), posts.p99());
        try {
          all.get(30, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          out.printf(Locale.ROOT, "gave up waiting: %d of %d deliveries arrived%n", delivered.get(), k * m);
        }
        // A moment for duplicates to show.
        Thread.sleep(200);
      } finally {
        subscribers.forEach(Subscriber::stop);
        await(sse.close(), 30);
      }
      long missed = 0;
      long duplicates = 0;
      List<long[]> delays = new ArrayList<>();
      for (Subscriber s : subscribers) {
        synchronized (s) {
          for (int e = 0; e < m; e++) {
            if (s.counts[e] == 0) {
              missed++;
            } else if (s.counts[e] > 1) {
              duplicates += s.counts[e] - 1;
            }
          }
          delays.add(Arrays.copyOf(s.delays, s.received));
        }
      }
      Stats stats = Stats.of(delays.stream().flatMapToLong(Arrays::stream).toArray());
      out.printf(Locale.ROOT, "%-60s n=%d p50 %.2f ms  p99 %.2f ms  max %.2f ms%n",
          "session.started to " + k + " SSE subscribers (from POST sent)", stats.count(), stats.p50(), stats.p99(),
          stats.max());
      out.printf(Locale.ROOT, "deliveries: %d expected, %d missed, %d duplicates, %d unexpected events%n",
          (long) k * m, missed, duplicates, unexpected.get());
      return new EventResult(stats, missed + unexpected.get(), duplicates);
    }

    // ---- HTTP

    private Future<Reply> call(HttpMethod method, String path, String token, JsonObject body) {
      // a request that never completes fails the run with its path instead of stalling a phase for good
      RequestOptions request = new RequestOptions().setMethod(method).setURI(path).setIdleTimeout(30_000);
      if (token != null) {
        request.putHeader("Authorization", "Bearer " + token);
      }
      if (body != null) {
        request.putHeader("Content-Type", "application/json");
      }
      return onClient(() -> http.request(request)
          .compose(req -> body == null ? req.send() : req.send(body.toBuffer()))
          .compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(), b.toString()))));
    }

    /**
     * A measured GET: the whole body is received, as a client that streams it on (a proxy, a file, a
     * parser) does, without being gathered into one buffer and decoded into a string (which here would
     * be the benchmark's own garbage, collected in the node's process); fails unless the status is 200
     * and the body as long as the response said.
     */
    private Future<Void> read(String path, String token) {
      RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET).setURI(path).setIdleTimeout(30_000);
      if (token != null) {
        request.putHeader("Authorization", "Bearer " + token);
      }
      return onClient(() -> http.request(request).compose(HttpClientRequest::send).compose(resp -> {
        if (resp.statusCode() != 200) {
          return resp.body().compose(b -> Future.failedFuture("GET " + path + ": HTTP " + resp.statusCode() + " " + b));
        }
        long[] received = new long[1];
        resp.handler(chunk -> received[0] += chunk.length());
        return resp.end().compose(v -> {
          String length = resp.getHeader("Content-Length");
          return length == null || Long.parseLong(length) == received[0] ? Future.<Void>succeededFuture()
              : Future.failedFuture("GET " + path + ": " + received[0] + " of " + length + " bytes");
        });
      }));
    }

    /** Runs {@code call} on {@link #clientContext}: right away when already there. */
    private <T> Future<T> onClient(Supplier<Future<T>> call) {
      if (Vertx.currentContext() == clientContext) {
        return call.get();
      }
      Promise<T> result = Promise.promise();
      clientContext.runOnContext(v -> call.get().onComplete(result));
      return result.future();
    }
  }

  /** One SSE connection: counts each session.started event per event index, and its delay. */
  private static final class Subscriber {
    final int[] counts;
    final long[] delays;
    int received;
    private final AtomicLongArray sentAt;
    private final Runnable onDelivery;
    private final AtomicInteger unexpected;
    private HttpClientResponse response;
    private String type;
    private String data;

    Subscriber(int events, AtomicLongArray sentAt, Runnable onDelivery, AtomicInteger unexpected) {
      this.counts = new int[events];
      this.delays = new long[events * 2];
      this.sentAt = sentAt;
      this.onDelivery = onDelivery;
      this.unexpected = unexpected;
    }

    /** Completes once the gateway's ":ok" line arrived: the subscription is live. */
    Future<Void> open(HttpClientAgent client, String token) {
      io.vertx.core.Promise<Void> ready = io.vertx.core.Promise.promise();
      RequestOptions request = new RequestOptions().setMethod(HttpMethod.GET)
          .setURI("/api/v1/events?types=" + VipfarmEvent.SESSION_STARTED)
          .putHeader("Authorization", "Bearer " + token)
          .putHeader("Accept", "text/event-stream");
      client.request(request).compose(req -> req.send()).onSuccess(resp -> {
        if (resp.statusCode() != 200) {
          resp.body().onComplete(b -> ready.tryFail("events: HTTP " + resp.statusCode()
              + (b.succeeded() ? " " + b.result() : "")));
          return;
        }
        response = resp;
        RecordParser lines = RecordParser.newDelimited("\n", line -> onLine(line, ready));
        resp.handler(lines);
        resp.exceptionHandler(err -> ready.tryFail(err));
      }).onFailure(ready::tryFail);
      return ready.future();
    }

    private void onLine(Buffer buffer, io.vertx.core.Promise<Void> ready) {
      long now = System.nanoTime();
      String line = buffer.toString();
      if (line.endsWith("\r")) {
        line = line.substring(0, line.length() - 1);
      }
      if (line.startsWith(":")) {
        ready.tryComplete();
      } else if (line.startsWith("event:")) {
        type = line.substring(6).trim();
      } else if (line.startsWith("data:")) {
        data = line.substring(5).trim();
      } else if (line.isEmpty()) {
        if (data != null) {
          dispatch(type, data, now);
        }
        type = null;
        data = null;
      }
    }

    private void dispatch(String eventType, String json, long now) {
      if (!VipfarmEvent.SESSION_STARTED.equals(eventType)) {
        unexpected.incrementAndGet();
        return;
      }
      String sessionId = new JsonObject(json).getString("sessionId");
      int index;
      try {
        index = Integer.parseInt(sessionId) - FIRST_SESSION;
      } catch (NumberFormatException e) {
        index = -2;
      }
      if (index == -1) {
        return; // the warm-up session, published after this subscriber connected
      }
      if (index < 0 || index >= counts.length || sentAt.get(index) == 0) {
        unexpected.incrementAndGet();
        return;
      }
      boolean first;
      synchronized (this) {
        first = ++counts[index] == 1;
        if (received < delays.length) {
          delays[received++] = now - sentAt.get(index);
        }
      }
      if (first) {
        onDelivery.run();
      }
    }

    void stop() {
      if (response != null) {
        response.handler(null);
      }
    }
  }

  record Reply(int status, String body) {}

  record EventResult(Stats delays, long missed, long duplicates) {}

  /** Latency figures in milliseconds, rounded to 0.01 ms. */
  record Stats(int count, double p50, double p99, double max) {
    static Stats of(long[] nanos) {
      long[] sorted = nanos.clone();
      Arrays.sort(sorted);
      return new Stats(sorted.length, ms(percentile(sorted, 0.50)), ms(percentile(sorted, 0.99)),
          ms(sorted.length == 0 ? 0 : sorted[sorted.length - 1]));
    }

    private static long percentile(long[] sorted, double p) {
      if (sorted.length == 0) {
        return 0;
      }
      int rank = (int) Math.ceil(p * sorted.length);
      return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double ms(long nanos) {
      return Math.round(nanos / 10_000.0) / 100.0;
    }
  }

  // ---- helpers

  static String hostId(int index) {
    return String.format(Locale.ROOT, "bench-h%03d", index);
  }

  private static void expect(Reply reply, int status, String what) {
    if (reply.status() != status) {
      throw new IllegalStateException(what + ": HTTP " + reply.status() + " " + reply.body());
    }
  }

  private static <T> T await(Future<T> future, long seconds) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(seconds, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception ex) {
        throw ex;
      }
      throw e;
    }
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }

  private static long heapMaxMb() {
    return Runtime.getRuntime().maxMemory() / (1024 * 1024);
  }

  private static long heapUsedMb() {
    Runtime rt = Runtime.getRuntime();
    return (rt.totalMemory() - rt.freeMemory()) / (1024 * 1024);
  }

  private static String randomToken() {
    byte[] bytes = new byte[24];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // best effort: a temporary directory
        }
      });
    } catch (IOException ignored) {
      // best effort
    }
  }
}
