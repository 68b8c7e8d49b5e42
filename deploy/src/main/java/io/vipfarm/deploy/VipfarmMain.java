package io.vipfarm.deploy;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Entry point of {@code bin/vipfarm} for the commands that need the JVM. */
public final class VipfarmMain {
  private static final Logger LOG = LoggerFactory.getLogger(VipfarmMain.class);
  private static final long SHUTDOWN_SECONDS = 20;

  private static final String USAGE = String.join("\n",
      "vipfarm: per-session virtual IP and virtual loopback for Linux session hosts",
      "  vipfarm start [options]                                 run vipfarm (all roles by default)",
      "  vipfarm exec --session ID [--run-dir DIR] -- CMD ARGS   run CMD inside session ID of this host",
      "  vipfarm session open|close [--session ID] [--user U]    start/end a session via the local agent (pam_exec)",
      "  vipfarm host install|uninstall [--root DIR] [--dry-run] put the shim into every PAM session of this host",
      "  vipfarm ca init|issue --dir D ...                      the farm CA and agent bridge certificates (openssl)",
      "  " + ConsistencyCheckCommand.USAGE,
      "  " + StateCommand.USAGE,
      "  vipfarm bench allocate --members N --sessions S ...     allocation benchmark (vipfarm bench --help)",
      "  vipfarm bench gateway [--leases N] [--subscribers K]     gateway benchmark (vipfarm bench --help)");

  private VipfarmMain() {}

  public static void main(String[] args) {
    List<String> argv = Arrays.asList(args);
    String command = argv.isEmpty() ? "help" : argv.get(0);
    List<String> rest = argv.isEmpty() ? List.of() : argv.subList(1, argv.size());
    try {
      switch (command) {
        case "start" -> start(rest);
        case "check" -> System.exit(ConsistencyCheckCommand.run(rest, System.getenv(), System.out, System.err));
        case "bench" -> bench(rest);
        case "state" -> System.exit(StateCommand.run(rest, System.getenv(), System.out));
        case "help", "--help", "-h" -> System.out.println(USAGE + "\n\n" + StartCommandLine.USAGE);
        default -> throw new UsageException("unknown command '" + command + "' (try: vipfarm help)");
      }
    } catch (UsageException e) {
      System.err.println("vipfarm: " + e.getMessage());
      System.exit(2);
    }
  }

  private static void start(List<String> args) {
    if (args.contains("--help") || args.contains("-h")) {
      System.out.println(StartCommandLine.USAGE);
      return;
    }
    NodeOptions options = StartCommandLine.parse(args, System.getenv());
    AdminToken.Resolved token;
    try {
      // an agent serves no HTTP: it needs no admin token
      token = options.role().runsControlPlane() ? AdminToken.resolve(System.getenv(), options.dataDir())
          : new AdminToken.Resolved(null, null);
    } catch (Exception e) {
      System.err.println("vipfarm: cannot set up the admin token in " + options.dataDir() + ": " + e.getMessage());
      System.exit(1);
      return;
    }

    VipfarmNode started = null;
    for (int attempt = 1; started == null; attempt++) {
      try {
        started = VipfarmNode.start(options, token.token()).toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
      } catch (Exception e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        if (attempt < START_ATTEMPTS && transientClusterFailure(cause)) {
          // a member joining while partitions move can have a first write fail; the cluster settles
          LOG.warn("start failed on a transient cluster error ({}); trying again in 2 s", cause.toString());
          sleepQuietly(2_000);
          continue;
        }
        LOG.error("vipfarm could not start: {}", cause.toString(), cause);
        System.exit(1);
        return;
      }
    }
    VipfarmNode node = started;

    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      LOG.info("stopping: ending sessions and releasing their leases");
      node.closeAndWait(SHUTDOWN_SECONDS);
      LOG.info("vipfarm stopped");
    }, "vipfarm-shutdown"));

    String tokenSource = token.token() == null ? "none (agent)"
        : token.file() == null ? "from " + AdminToken.ENV : "in " + token.file();
    if (node.gatewayPort() > 0) {
      LOG.info("vipfarm gateway listening on {}://{}:{}", options.tlsCert() == null ? "http" : "https",
          hostForUrl(options.httpHost()), node.gatewayPort());
    }
    LOG.info("vipfarm started: role {}, host id {}, run dir {}, data dir {}, admin token {}",
        options.role().name().toLowerCase(), options.hostId(), options.runDir(), options.dataDir(), tokenSource);
  }

  private static final int START_ATTEMPTS = 3;

  /** A Hazelcast failure that says "not now" rather than "never": worth a second start. */
  static boolean transientClusterFailure(Throwable error) {
    for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof com.hazelcast.core.IndeterminateOperationStateException
          || t instanceof com.hazelcast.spi.exception.RetryableException
          || t instanceof com.hazelcast.core.OperationTimeoutException) {
        return true;
      }
    }
    return false;
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void bench(List<String> args) {
    String kind = args.isEmpty() ? "" : args.get(0);
    if (kind.equals("gateway")) {
      GatewayBench.main(args.subList(1, args.size()).toArray(String[]::new));
      return;
    }
    if (args.contains("--help") || args.contains("-h") || !kind.equals("allocate")) {
      System.out.println(AllocationBench.USAGE + "\n" + GatewayBench.USAGE);
      if (!kind.equals("allocate") && !args.contains("--help") && !args.contains("-h")) {
        throw new UsageException("bench: expected 'allocate' or 'gateway'");
      }
      return;
    }
    int code;
    try {
      code = AllocationBench.main(args, System.out);
    } catch (UsageException e) {
      throw e;
    } catch (Exception e) {
      LOG.error("the benchmark failed: {}", e.toString(), e);
      code = 1;
    }
    System.exit(code);
  }

  private static String hostForUrl(String host) {
    return host.contains(":") ? "[" + host + "]" : host;
  }
}
