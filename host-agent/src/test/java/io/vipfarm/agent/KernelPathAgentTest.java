package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.model.VipfarmEvent;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent on the kernel path, with the real loader ({@code vipfarm-bpf}), real BPF programs attached to a
 * cgroup this test creates, and real processes in the sessions' cgroups. Policy and allocation are fakes
 * on the real event bus. What a program really bound is read from {@code /proc/net/tcp}, since the program
 * itself is shown 127.0.0.1. Root only; the loader is {@code target/native/vipfarm-bpf} or the system
 * property {@value AgentConfig#LOADER_PROPERTY}.
 */
@ExtendWith(VertxExtension.class)
class KernelPathAgentTest {
  private static final String HOST = "host-k";
  private static final AgentTimings TIMINGS =
      new AgentTimings(Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(5));
  private static final String PROBE = String.join("\n",
      "import socket, sys",
      "keep = []",
      "for line in sys.stdin:",
      "    s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); keep.append(s)",
      "    print(s.getsockname()[1], s.getsockname()[0], flush=True)");

  private Vertx vertx;
  private Path runDir;
  private ServiceDiscovery discovery;
  private HostAgentService agent;
  private FakePolicyService policy;
  private BpfLoader loader;
  private AgentConfig config;
  private final List<Process> processes = new ArrayList<>();
  private final List<String> deployments = new ArrayList<>();
  private HostAgentVerticle current;

  @BeforeEach
  void setUp(Vertx vertx, @TempDir Path temp) throws Exception {
    assumeTrue(AgentConfig.isRoot(), "the kernel path needs root: skipped");
    Optional<Path> mount = AgentConfig.cgroup2Mount();
    assumeTrue(mount.isPresent(), "no cgroup2 hierarchy mounted: skipped");
    loader = new BpfLoader(AgentConfig.defaultLoader());
    String problem = loader.probe();
    assumeTrue(problem == null, "the kernel path does not work here (" + problem + "): skipped");

    this.vertx = vertx;
    runDir = temp.resolve("run");
    String unique = UUID.randomUUID().toString().substring(0, 8);
    ThreadLocalRandom random = ThreadLocalRandom.current();
    Loopback6 loopback6 = Loopback6.parse(String.format("fd%02x:%04x:%04x:%04x::/64", random.nextInt(256),
        random.nextInt(65536), random.nextInt(65536), random.nextInt(65536)));
    config = new AgentConfig(HOST, "boot-k", runDir, List.of("127.1.2.3"), Interception.KERNEL, "test",
        new AgentConfig.KernelPath(loader.program(), Path.of("/sys/fs/bpf/vipfarm-test-" + unique),
            new CgroupTree(mount.get().resolve("vipfarm-test-" + unique))), loopback6);

    discovery = ServiceDiscovery.create(vertx);
    ServiceLocator locator = new ServiceLocator(discovery);
    agent = HostAgentService.client(new EventBusClient(vertx, () -> locator.agentAddress(HOST), 10_000));
    policy = new FakePolicyService();
    await(vertx.deployVerticle(policy));
    await(vertx.deployVerticle(new FakeAllocationService(
        IntStream.rangeClosed(1, 6).mapToObj(i -> "127.100.0." + i).toList(), 60_000)));
  }

  @AfterEach
  void tearDown() throws Exception {
    for (Process p : processes) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    for (String id : deployments) {
      try {
        await(vertx.undeploy(id));
      } catch (Exception e) {
        // already undeployed
      }
    }
    if (discovery != null) {
      discovery.close();
    }
    if (config != null) {
      // whatever a failed test left: programs, cgroups, addresses on lo (ours only)
      KernelEnforcement kernel = kernel();
      try {
        kernel.detach();
      } catch (IOException e) {
        // already detached
      }
      Path parent = config.kernel().cgroups().parent();
      if (Files.isDirectory(parent)) {
        try (var children = Files.list(parent)) {
          for (Path child : children.filter(Files::isDirectory).toList()) {
            Files.deleteIfExists(child);
          }
        }
        Files.deleteIfExists(parent);
      }
      for (String session : List.of("31", "32", "99")) {
        new Loopback6Addresses().remove(config.loopback6().addressOf(LoopbackAddress.of(session)));
      }
    }
  }

  private KernelEnforcement kernel() {
    return new KernelEnforcement(loader, config.kernel().pinDir(), config.kernel().cgroups(), runDir);
  }

  private HostAgentVerticle deployAgent() throws Exception {
    current = new HostAgentVerticle(config, TIMINGS);
    deployments.add(await(vertx.deployVerticle(current)));
    return current;
  }

  /** The agent goes away as a killed process would: nothing is ended, cleared or detached. */
  private void crashAgent() throws Exception {
    current.abandonOnStop();
    await(vertx.undeploy(deployments.remove(deployments.size() - 1)));
  }

  private static EffectivePolicy loopbackFor(List<String> programs) {
    return new EffectivePolicy(true, programs, List.of(), false, VipMode.PER_SESSION, "default", List.of(),
        OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of("test"));
  }

  private void publishPolicyChanged() {
    vertx.eventBus().publish(Addresses.EVENTS, Json.toJson(new VipfarmEvent(
        1, VipfarmEvent.POLICY_CHANGED, System.currentTimeMillis(), null, null, Map.of("name", "k"))));
  }

  /** A python3 process in the session's cgroup (found where vipfarm exec finds it) that binds on request. */
  private final class Probe {
    private final Process process;
    private final Writer in;
    private final BufferedReader out;

    Probe(String sessionId) throws IOException {
      Path cgroup = Path.of(Files.readString(runDir.resolve("sessions/" + sessionId + ".cgroup")).strip());
      process = new ProcessBuilder("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec python3 -u -c \"$1\"",
          cgroup.toString(), PROBE).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      processes.add(process);
      in = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII);
      out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
    }

    /** Binds 127.0.0.1:0 and listens; the address really bound (from /proc/net/tcp) and what it was shown. */
    String[] bind() throws IOException {
      in.write("bind\n");
      in.flush();
      String line = out.readLine();
      assertThat(line).as("the probe answered (alive: %s)", process.isAlive()).isNotNull();
      String[] fields = line.split(" ");
      int port = Integer.parseInt(fields[0]);
      return new String[] {listening(port), fields[1]};
    }
  }

  /** The IPv4 address listening on {@code port}, from /proc/net/tcp. */
  static String listening(int port) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
      String[] f = line.trim().split("\\s+");
      if (f.length > 3 && f[3].equals("0A") && f[1].endsWith(String.format(":%04X", port))) {
        long a = Long.parseLong(f[1].substring(0, 8), 16); // little-endian on x86
        return (a & 0xff) + "." + ((a >> 8) & 0xff) + "." + ((a >> 16) & 0xff) + "." + ((a >> 24) & 0xff);
      }
    }
    return null;
  }

  private long cgroupId(String sessionId) throws IOException {
    return KernelEnforcement.cgroupId(config.kernel().cgroups().sessionDir(sessionId));
  }

  private static boolean onLo(String address) throws Exception {
    Process ip = new ProcessBuilder("ip", "-6", "addr", "show", "dev", "lo").start();
    String text = new String(ip.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
    ip.waitFor();
    return text.contains(" " + address + "/128 ");
  }

  @Test
  @DisplayName("a policy change reaches a running program's next socket within a second (map update, no restart)")
  void policyChangeReachesRunningProgram() throws Exception {
    policy.answer(loopbackFor(List.of("*")));
    deployAgent();
    await(agent.startSession(new SessionRequest("31", "alice", List.of())));
    Probe probe = new Probe("31");
    assertThat(probe.bind()).containsExactly("127.0.0.32", "127.0.0.1");

    // switched off and on three times: every switch must reach the running program; the fastest must
    // take under a second (on a shared, loaded machine one switch can be slowed by what else runs)
    List<Long> switches = new java.util.ArrayList<>();
    for (int round = 0; round < 3; round++) {
      switches.add(switchPolicy(probe, List.of("no-such-program"), "127.0.0.1"));
      switches.add(switchPolicy(probe, List.of("python3*"), "127.0.0.32"));
    }
    System.out.println("kernel path: policy changes reached a running program in " + switches + " ms");
    assertThat(java.util.Collections.min(switches)).as("policy.changed -> new socket follows, ms (fastest of "
        + switches + ")").isLessThan(1_000);
    assertThat(probe.process.isAlive()).isTrue();
  }

  /** Publishes a policy whose loopback programs are {@code programs}; ms until the probe's next bind shows {@code real}. */
  private long switchPolicy(Probe probe, List<String> programs, String real) throws Exception {
    policy.answer(loopbackFor(programs));
    long start = System.nanoTime();
    publishPolicyChanged();
    String seen = null;
    while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5)) {
      seen = probe.bind()[0];
      if (real.equals(seen)) {
        break;
      }
      Thread.sleep(20);
    }
    assertThat(seen).as("the running program's new socket after the policy " + programs).isEqualTo(real);
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  @Test
  @DisplayName("ending a session removes its map entries, its cgroup, its IPv6 loopback; the other session keeps its own")
  void endingSessionRemovesEntries() throws Exception {
    policy.answer(loopbackFor(List.of("*")));
    deployAgent();
    await(agent.startSession(new SessionRequest("31", "alice", List.of())));
    await(agent.startSession(new SessionRequest("32", "bob", List.of())));
    long id31 = cgroupId("31");
    long id32 = cgroupId("32");
    assertThat(loader.list(config.kernel().pinDir())).containsExactlyInAnyOrder(id31, id32);
    String v6of31 = config.loopback6().addressOf(LoopbackAddress.of("31"));
    assertThat(Files.readString(runDir.resolve("sessions/31.rules"))).contains("loopback6 " + v6of31 + "\n",
        "isolation on\n");
    assertThat(onLo(v6of31)).as("%s on lo", v6of31).isTrue();

    await(agent.endSession("31"));

    assertThat(loader.list(config.kernel().pinDir())).containsExactly(id32);
    assertThat(config.kernel().cgroups().sessionDir("31")).doesNotExist();
    assertThat(runDir.resolve("sessions/31.cgroup")).doesNotExist();
    assertThat(onLo(v6of31)).as("%s on lo", v6of31).isFalse();
    assertThat(onLo(config.loopback6().addressOf(LoopbackAddress.of("32")))).isTrue();
  }

  @Test
  @DisplayName("a crashed agent leaves sessions enforced; the next one takes the pinned state back, clears stale"
      + " entries, duplicates nothing; a clean stop detaches everything")
  void restartTakesPinnedStateBack() throws Exception {
    policy.answer(loopbackFor(List.of("*")));
    deployAgent();
    await(agent.startSession(new SessionRequest("31", "alice", List.of())));
    long id31 = cgroupId("31");
    Probe probe = new Probe("31");
    // a session that ended while no agent ran: its cgroup and entries are still there
    KernelEnforcement direct = kernel();
    direct.prepare("99");
    Path stale = runDir.resolve("stale.rules");
    Files.writeString(stale, "vipfarm-rules 1\nsession 99\nloopback4 127.0.0.100\nloopback-programs *\n");
    direct.apply("99", stale);
    long id99 = cgroupId("99");
    assertThat(loader.list(config.kernel().pinDir())).containsExactlyInAnyOrder(id31, id99);

    crashAgent();
    assertThat(probe.bind()[0]).as("enforced while no agent runs").isEqualTo("127.0.0.32");

    deployAgent();
    assertThat(loader.list(config.kernel().pinDir())).containsExactly(id31);
    assertThat(cgroupId("31")).as("the same cgroup, not a new one").isEqualTo(id31);
    assertThat(config.kernel().cgroups().sessionDir("99")).doesNotExist();
    assertThat(probe.bind()[0]).isEqualTo("127.0.0.32");
    assertThat(await(agent.listSessions())).hasSize(1);

    await(vertx.undeploy(deployments.remove(deployments.size() - 1)));
    assertThat(config.kernel().pinDir()).doesNotExist();
    assertThat(config.kernel().cgroups().parent()).doesNotExist();
    assertThat(probe.process.isAlive()).as("a program still running when its session ended keeps running").isTrue();
    assertThat(probe.bind()[0]).as("passes through after the stop").isEqualTo("127.0.0.1");
  }

  @Test
  @DisplayName("pinned state the agent cannot take back (attached elsewhere, or an older layout) is replaced at start")
  void unusablePinnedStateIsReplaced() throws Exception {
    Path elsewhere = Files.createDirectories(Path.of(config.kernel().cgroups().parent() + "-elsewhere"));
    try {
      loader.attach(config.kernel().pinDir(), elsewhere);
      policy.answer(loopbackFor(List.of("*")));
      deployAgent();
      await(agent.startSession(new SessionRequest("31", "alice", List.of())));

      assertThat(new Probe("31").bind()).containsExactly("127.0.0.32", "127.0.0.1");
      assertThat(loader.list(config.kernel().pinDir())).containsExactly(cgroupId("31"));
    } finally {
      Files.deleteIfExists(elsewhere);
    }
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** Polls until true, every 20 ms. */
  private static final class Poll {
    interface Check {
      boolean ok() throws Exception;
    }

    static void until(Check check, Duration limit, String what) throws Exception {
      long deadline = System.nanoTime() + limit.toNanos();
      while (!check.ok()) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(what + " not within " + limit);
        }
        Thread.sleep(20);
      }
    }
  }
}
