package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.json.JsonObject;
import io.vipfarm.agent.PrivateLogindBus;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code vipfarm start --sessions logind --interception kernel --cgroup-parent <tree>}: a
 * logind session (fake_logind.py on a private dbus-daemon, reporting a {@code Leader} in a test scope
 * {@code <tree>/user-0.slice/session-3.scope}, as systemd's {@code user.slice} would hold it) is enforced
 * through its scope, for programs started in it without vipfarm and for {@code vipfarm exec}. Root only.
 */
class LogindScopeKernelIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final String HOST = "scope-host";
  /** Binds 127.0.0.1:0, listens, prints the port, then waits for stdin to close. */
  private static final String SERVER = "import socket, sys\n"
      + "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(); print(s.getsockname()[1], flush=True)\n"
      + "sys.stdin.read()\n";

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final List<Process> programs = new ArrayList<>();
  private final String token = "scope-" + UUID.randomUUID();
  private KernelPathFixture kernel;
  private PrivateLogindBus logind;
  private GatewayClient gateway;
  private Path scope;

  @BeforeEach
  void setUp() throws Exception {
    kernel = KernelPathFixture.require();
    String missing = PrivateLogindBus.missing();
    assumeTrue(missing == null, () -> "skipped: " + missing);
    scope = Files.createDirectories(kernel.cgroupParent.resolve("user-0.slice/session-3.scope"));
    logind = PrivateLogindBus.start(Files.createDirectories(tmp.resolve("bus")));
  }

  @AfterEach
  void tearDown() throws Exception {
    for (Process p : programs) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    List<ManagedProcess> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed);
    reversed.forEach(p -> p.stop(20));
    if (logind != null) {
      logind.close();
    }
    if (kernel != null) {
      if (scope != null) {
        Files.deleteIfExists(scope);
        Files.deleteIfExists(scope.getParent());
      }
      kernel.cleanUp();
    }
  }

  private Process startIn(Path cgroup, String... command) throws IOException {
    List<String> argv = new ArrayList<>(List.of("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"",
        cgroup.toString()));
    argv.addAll(List.of(command));
    ProcessBuilder builder = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.INHERIT);
    builder.environment().remove("LD_PRELOAD");
    Process process = builder.start();
    programs.add(process);
    return process;
  }

  private static int port(Process server) throws IOException {
    String line = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.US_ASCII))
        .readLine();
    assertThat(line).as("the server's port").isNotNull();
    return Integer.parseInt(line.strip());
  }

  /** The IPv4 address listening on {@code port}, from /proc/net/tcp. */
  private static String listening(int port) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
      String[] f = line.trim().split("\\s+");
      if (f.length > 3 && f[3].equals("0A") && f[1].endsWith(String.format(":%04X", port))) {
        long a = Long.parseLong(f[1].substring(0, 8), 16);
        return (a & 0xff) + "." + ((a >> 8) & 0xff) + "." + ((a >> 16) & 0xff) + "." + ((a >> 24) & 0xff);
      }
    }
    return null;
  }

  private static String procs(Path cgroup) {
    try {
      return Files.readString(cgroup.resolve("cgroup.procs"));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private List<Long> mapEntries() {
    try {
      return kernel.mapEntries();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  @DisplayName("a logind session is enforced through its scope: a program started in it without vipfarm lands on"
      + " the session's loopback, vipfarm exec joins the scope, the entry is keyed by the scope's id, logout"
      + " clears it and leaves the scope")
  void enforcedThroughScope() throws Exception {
    Process leader = startIn(scope, "sleep", "600");
    Poll.until("the leader in the scope", Duration.ofSeconds(10),
        () -> procs(scope).contains(Long.toString(leader.pid())));
    int httpPort = FreePort.pick();
    gateway = new GatewayClient(httpPort, token);
    List<String> command = new ArrayList<>(List.of(VIPFARM.toString(), "start", "--sessions", "logind",
        "--logind-bus", logind.address(), "--http-port", String.valueOf(httpPort), "--host-id", HOST,
        "--data-dir", tmp.resolve("data").toString(), "--run-dir", tmp.resolve("run").toString(),
        "--cluster-name", "scope-" + UUID.randomUUID(), "--cluster-port", String.valueOf(FreePort.pick())));
    command.addAll(kernel.startOptions());
    Map<String, String> env = new HashMap<>(kernel.environment());
    env.put("VIPFARM_ADMIN_TOKEN", token);
    ManagedProcess vipfarm = ManagedProcess.start("vipfarm", command, env, tmp.resolve("logs"));
    processes.add(vipfarm);
    Poll.until("the gateway to be healthy", Duration.ofSeconds(90), () -> {
      assertThat(vipfarm.isAlive()).as("vipfarm exited early:\n%s", vipfarm.output()).isTrue();
      return gateway.healthy();
    });
    assertThat(gateway.put("/api/v1/policies/scope", new JsonObject()
        .put("priority", 10)
        .put("match", new JsonObject().put("hosts", List.of("*")).put("users", List.of("*")))
        .put("virtualLoopback", new JsonObject().put("enabled", true).put("programs", List.of("*"))))
        .status()).isEqualTo(200);

    logind.command("new 3 0 root user sshd " + leader.pid());
    Poll.until("session 3 started", Duration.ofSeconds(20),
        () -> gateway.get("/api/v1/hosts/" + HOST + "/sessions/3").status() == 200);
    String loopback = gateway.get("/api/v1/hosts/" + HOST + "/sessions/3").json().getString("loopbackAddress");
    long scopeId = KernelPathFixture.cgroupId(scope);
    Poll.until("the entry keyed by the scope's cgroup id", Duration.ofSeconds(10),
        () -> mapEntries().equals(List.of(scopeId)));
    assertThat(kernel.sessionCgroup("3")).as("no cgroup made for a session with a scope").doesNotExist();

    Process server = startIn(scope, "python3", "-u", "-c", SERVER);
    int port = port(server);
    assertThat(listening(port)).as("127.0.0.1 of a program run in the scope without LD_PRELOAD")
        .isEqualTo(loopback);

    KernelPathFixture.Result exec = KernelPathFixture.run(List.of(VIPFARM.toString(), "exec", "--session", "3",
        "--run-dir", tmp.resolve("run").toString(), "--", "cat", "/proc/self/cgroup"));
    assertThat(exec.exit()).as(exec.output()).isZero();
    assertThat(exec.output()).as("vipfarm exec joins the scope")
        .contains("0::/" + scope.getParent().getParent().getParent().relativize(scope) + "\n");

    logind.command("remove 3");
    Poll.until("session 3 ended", Duration.ofSeconds(20),
        () -> gateway.get("/api/v1/hosts/" + HOST + "/sessions/3").status() == 404);
    assertThat(kernel.mapEntries()).isEmpty();
    assertThat(scope).as("the scope is left to systemd").isDirectory();
    assertThat(Files.readString(scope.resolve("cgroup.procs"))).contains(Long.toString(server.pid()));
  }
}
