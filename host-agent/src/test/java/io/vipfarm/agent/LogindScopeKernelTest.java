package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vipfarm.agent.session.SessionSourceVerticle;
import io.vipfarm.agent.session.SessionSources;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VipMode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sessions from logind on the kernel path are enforced through their own scope. A test cgroup tree stands
 * in for systemd's ({@code <cg2>/vf-scope-<rand>/user-0.slice/session-3.scope}, the attach parent being
 * {@code vf-scope-<rand>} as {@code user.slice} would be), a sleep in the scope is the session's leader, and
 * fake_logind.py on a private dbus-daemon reports the session with that {@code Leader} and {@code Scope}.
 * The agent, its loader, the BPF programs and the programs under test are real; no LD_PRELOAD anywhere.
 * Root only.
 */
@ExtendWith(VertxExtension.class)
class LogindScopeKernelTest {
  private static final String HOST = "host-scope";
  private static final AgentTimings TIMINGS =
      new AgentTimings(Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(5));
  /** Binds and listens on 127.0.0.1:0 ("bind"), or connects to 127.0.0.1 or ADDRESS:PORT ("connect PORT [ADDRESS]"). */
  private static final String PROBE = String.join("\n",
      "import socket, sys",
      "keep = []",
      "for line in sys.stdin:",
      "    w = line.split()",
      "    if w[0] == 'bind':",
      "        s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); keep.append(s)",
      "        print(s.getsockname()[1], flush=True)",
      "    else:",
      "        c = socket.socket(); c.settimeout(5)",
      "        try:",
      "            c.connect((w[2] if len(w) > 2 else '127.0.0.1', int(w[1]))); print('connected', flush=True)",
      "        except OSError as e:",
      "            print('refused' if e.errno == 111 else 'error %s' % e, flush=True)",
      "        c.close()");

  private Vertx vertx;
  private Path runDir;
  private Path testTree;
  private Path scope;
  private String scopePath;
  private Path pinDir;
  private BpfLoader loader;
  private AgentConfig config;
  private PrivateLogindBus logind;
  private HostAgentService agent;
  private HostAgentVerticle current;
  private String currentDeployment;
  private final List<String> deployments = new ArrayList<>();
  private final List<Process> processes = new ArrayList<>();

  @BeforeEach
  void setUp(Vertx vertx, @TempDir Path temp) throws Exception {
    assumeTrue(AgentConfig.isRoot(), "the kernel path needs root: skipped");
    Optional<Path> mount = AgentConfig.cgroup2Mount();
    assumeTrue(mount.isPresent(), "no cgroup2 hierarchy mounted: skipped");
    loader = new BpfLoader(AgentConfig.defaultLoader());
    String problem = loader.probe();
    assumeTrue(problem == null, "the kernel path does not work here (" + problem + "): skipped");
    String missing = PrivateLogindBus.missing();
    assumeTrue(missing == null, () -> "skipped: " + missing);

    this.vertx = vertx;
    runDir = temp.resolve("run");
    String unique = UUID.randomUUID().toString().substring(0, 8);
    testTree = mount.get().resolve("vf-scope-" + unique);
    scope = Files.createDirectories(testTree.resolve("user-0.slice/session-3.scope"));
    scopePath = "/" + mount.get().relativize(scope);
    pinDir = Path.of("/sys/fs/bpf/vf-scope-" + unique);
    config = new AgentConfig(HOST, "boot-s", runDir, List.of("127.1.2.3"), Interception.KERNEL, "test",
        new AgentConfig.KernelPath(loader.program(), pinDir, new CgroupTree(testTree)), null);

    FakePolicyService policy = new FakePolicyService();
    policy.answer(new EffectivePolicy(true, List.of("*"), List.of(), false, VipMode.PER_SESSION, "default",
        List.of(), OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of("test"), true, List.of()));
    deployments.add(await(vertx.deployVerticle(policy)));
    deployments.add(await(vertx.deployVerticle(new FakeAllocationService(
        IntStream.rangeClosed(1, 4).mapToObj(i -> "127.100.0." + i).toList(), 60_000))));
    agent = HostAgentService.client(EventBusClient.fixed(vertx, Addresses.agent(HOST)));
    logind = PrivateLogindBus.start(Files.createDirectories(temp.resolve("bus")));
  }

  @AfterEach
  void tearDown() throws Exception {
    for (Process p : processes) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    for (int i = deployments.size() - 1; i >= 0; i--) {
      try {
        await(vertx.undeploy(deployments.get(i)));
      } catch (Exception e) {
        // already undeployed
      }
    }
    if (logind != null) {
      logind.close();
    }
    if (config != null) {
      try {
        loader.detach(pinDir);
      } catch (IOException e) {
        // already detached
      }
      Files.deleteIfExists(pinDir);
      if (Files.isDirectory(testTree)) {
        try (Stream<Path> tree = Files.walk(testTree)) {
          for (Path dir : tree.filter(Files::isDirectory).sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(dir); // rmdir of a cgroup: its control files go with it
          }
        }
      }
    }
  }

  private void deployAgent() throws Exception {
    current = new HostAgentVerticle(config, TIMINGS);
    currentDeployment = await(vertx.deployVerticle(current));
    deployments.add(currentDeployment);
  }

  private void deploySource() throws Exception {
    SessionSources sources = new SessionSources(true, false, logind.address(), Set.of("user"));
    deployments.add(await(vertx.deployVerticle(new SessionSourceVerticle(HOST, runDir, sources, Duration.ofMillis(200)))));
  }

  /** A process started straight into {@code cgroup}, with no LD_PRELOAD in its environment. */
  private Process startIn(Path cgroup, String... command) throws IOException {
    List<String> argv = new ArrayList<>(List.of("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"",
        cgroup.toString()));
    argv.addAll(List.of(command));
    ProcessBuilder builder = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT);
    builder.environment().remove("LD_PRELOAD");
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  /** The python3 probe, one command a line. */
  private final class Probe {
    private final Process process;
    private final Writer in;
    private final BufferedReader out;

    Probe(Path cgroup) throws IOException {
      process = startIn(cgroup, "python3", "-u", "-c", PROBE);
      in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.US_ASCII);
      out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.US_ASCII));
    }

    String ask(String command) throws IOException {
      in.write(command + "\n");
      in.flush();
      String line = out.readLine();
      assertThat(line).as("the probe answered '%s' (alive: %s)", command, process.isAlive()).isNotNull();
      return line;
    }
  }

  private List<String> sessionIds() throws Exception {
    return await(agent.listSessions()).stream().map(SessionView::sessionId).sorted().toList();
  }

  private String procs(Path cgroup) throws IOException {
    return Files.readString(cgroup.resolve("cgroup.procs"));
  }

  @Test
  @DisplayName("a logind session is enforced through its scope: a program started in it without LD_PRELOAD binds"
      + " on the session's loopback, entries are keyed by the scope's id, survive an agent crash, and ending"
      + " the session clears them and leaves the scope alone")
  void enforcedThroughScope() throws Exception {
    Process leader = startIn(scope, "sleep", "600");
    Poll.until(() -> procs(scope).contains(Long.toString(leader.pid())), "the leader in the scope");
    deployAgent();
    deploySource();
    logind.command("new 3 0 root user sshd " + leader.pid());
    Poll.until(() -> sessionIds().equals(List.of("3")), "session 3 started from logind");

    long scopeId = KernelEnforcement.cgroupId(scope);
    String loopback = await(agent.getSession("3")).loopbackAddress();
    assertThat(loader.list(pinDir)).as("map entries keyed by the scope's cgroup id").containsExactly(scopeId);
    assertThat(config.kernel().cgroups().sessionDir("3")).as("no cgroup made for a session with a scope")
        .doesNotExist();
    assertThat(Files.readString(runDir.resolve("sessions/3.cgroup")).strip())
        .as("where vipfarm exec puts its program").isEqualTo(scope.toString());
    assertThat(Files.readString(runDir.resolve("sessions/3.session.json"))).contains("\"cgroup\":\"" + scopePath + "\"");

    // a program of the session, not started by vipfarm: it just runs in the scope, with no LD_PRELOAD
    Probe server = new Probe(scope);
    int port = Integer.parseInt(server.ask("bind"));
    assertThat(KernelPathAgentTest.listening(port)).as("what the kernel bound for 127.0.0.1").isEqualTo(loopback);
    assertThat(server.ask("connect " + port)).as("the session reaches its own server on 127.0.0.1")
        .isEqualTo("connected");
    Probe outsider = new Probe(testTree); // under the attach parent, in no session
    assertThat(outsider.ask("connect " + port + " " + loopback)).as("loopback isolation from outside the session")
        .isEqualTo("refused");

    // an agent killed and started again takes the scope's session back, with the same single entry
    current.abandonOnStop();
    deployments.remove(currentDeployment);
    await(vertx.undeploy(currentDeployment));
    assertThat(loader.list(pinDir)).as("enforced while no agent runs").containsExactly(scopeId);
    deployAgent();
    Poll.until(() -> sessionIds().equals(List.of("3")), "session 3 re-adopted");
    assertThat(loader.list(pinDir)).containsExactly(scopeId);
    assertThat(config.kernel().cgroups().sessionDir("3")).doesNotExist();
    int second = Integer.parseInt(server.ask("bind"));
    assertThat(KernelPathAgentTest.listening(second)).isEqualTo(loopback);

    logind.command("remove 3");
    Poll.until(() -> sessionIds().isEmpty(), "session 3 ended on SessionRemoved");
    Poll.until(() -> loader.list(pinDir).isEmpty(), "the scope's entries cleared");
    assertThat(scope).as("the scope is systemd's: left alone").isDirectory();
    assertThat(procs(scope)).as("its processes stay in it").contains(Long.toString(leader.pid()))
        .contains(Long.toString(server.process.pid()));
    assertThat(runDir.resolve("sessions/3.cgroup")).doesNotExist();
    int after = Integer.parseInt(server.ask("bind"));
    assertThat(KernelPathAgentTest.listening(after)).as("pass-through once the session ended").isEqualTo("127.0.0.1");
  }

  @Test
  @DisplayName("a scope outside the attach parent is refused by the agent; the logind session still runs, in a"
      + " cgroup vipfarm makes for it")
  void scopeOutsideParentFallsBack() throws Exception {
    Path outside = Files.createDirectories(testTree.resolveSibling(testTree.getFileName() + "-out/session-4.scope"));
    try {
      Process leader = startIn(outside, "sleep", "600");
      Poll.until(() -> procs(outside).contains(Long.toString(leader.pid())), "the leader in the outside scope");
      deployAgent();
      deploySource();
      logind.command("new 4 0 root user sshd " + leader.pid());
      Poll.until(() -> sessionIds().equals(List.of("4")), "session 4 started from logind");
      Path made = config.kernel().cgroups().sessionDir("4");
      assertThat(made).isDirectory();
      assertThat(loader.list(pinDir)).containsExactly(KernelEnforcement.cgroupId(made));
      assertThat(Files.readString(runDir.resolve("sessions/4.cgroup")).strip()).isEqualTo(made.toString());
      leader.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    } finally {
      for (Process p : processes) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(outside);
      Files.deleteIfExists(outside.getParent());
    }
  }

  @Test
  @DisplayName("a session's own cgroup must exist inside the attach parent, at most 4 levels down, and not be"
      + " the root, the parent, a cgroup vipfarm makes or another session's: 400 naming 'cgroup', nothing started")
  void cgroupIsChecked() throws Exception {
    deployAgent();
    Files.createDirectories(testTree.resolve("session-9"));
    Path deep = Files.createDirectories(testTree.resolve("a/b/c/d/e"));
    String tree = scopePath.substring(0, scopePath.indexOf("/user-0.slice"));
    for (String bad : List.of("/", "relative/path", tree, tree + "/../x", tree + "/missing.scope",
        "/init.scope", tree + "/session-9",
        "/" + AgentConfig.cgroup2Mount().get().relativize(deep))) {
      VipfarmException e = failure(agent.startSession(new SessionRequest("5", "root", List.of(), bad)));
      assertThat(e.type()).as(bad).isEqualTo(ErrorType.INVALID_FIELD);
      assertThat(e.field()).as(bad).isEqualTo("cgroup");
    }
    assertThat(sessionIds()).isEmpty();
    assertThat(loader.list(pinDir)).isEmpty();

    await(agent.startSession(new SessionRequest("5", "root", List.of(), scopePath)));
    VipfarmException taken = failure(agent.startSession(new SessionRequest("6", "root", List.of(), scopePath)));
    assertThat(taken.field()).isEqualTo("cgroup");
    assertThat(loader.list(pinDir)).containsExactly(KernelEnforcement.cgroupId(scope));
    await(agent.endSession("5"));
    assertThat(loader.list(pinDir)).isEmpty();
    assertThat(scope).isDirectory();

    // a clean stop unpins everything but leaves a parent vipfarm did not create (user.slice) in place
    deployments.remove(currentDeployment);
    await(vertx.undeploy(currentDeployment));
    assertThat(pinDir).doesNotExist();
    assertThat(scope).isDirectory();
  }

  @Test
  @DisplayName("a session whose scope went away while the agent was down is ended on restart, not re-adopted;"
      + " its entry is cleared")
  void scopeGoneWhileAgentAway() throws Exception {
    deployAgent();
    Process leader = startIn(scope, "sleep", "600");
    await(agent.startSession(new SessionRequest("5", "root", List.of(), scopePath)));
    assertThat(loader.list(pinDir)).containsExactly(KernelEnforcement.cgroupId(scope));

    current.abandonOnStop();
    deployments.remove(currentDeployment);
    await(vertx.undeploy(currentDeployment));
    leader.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    Poll.until(() -> procs(scope).isBlank(), "the scope empty");
    Files.delete(scope); // as systemd does with an empty scope

    deployAgent();
    assertThat(sessionIds()).isEmpty();
    assertThat(loader.list(pinDir)).isEmpty();
    assertThat(runDir.resolve("sessions/5.session.json")).doesNotExist();
    assertThat(runDir.resolve("sessions/5.rules")).doesNotExist();
    assertThat(runDir.resolve("sessions/5.cgroup")).doesNotExist();
  }

  private static VipfarmException failure(Future<?> future) throws Exception {
    try {
      await(future);
    } catch (VipfarmException e) {
      return e;
    }
    throw new AssertionError("expected a failure");
  }

  private interface Check {
    boolean ok() throws Exception;
  }

  private static final class Poll {
    static void until(Check check, String what) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!check.ok()) {
        assertThat(System.nanoTime()).as("timed out waiting for: %s", what).isLessThan(deadline);
        Thread.sleep(50);
      }
    }
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }
}
