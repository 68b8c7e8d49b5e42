package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the vipfarm process (a real JVM started through bin/vipfarm) on the kernel path: the pinned
 * programs and maps keep enforcing the sessions while nothing runs, and the restarted agent takes them back
 * (same cgroups, one map entry per session, nothing duplicated). Root only; skipped with a message elsewhere.
 */
class KernelAgentKillIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final String HOST = "kill-host";

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final String token = "kill-" + UUID.randomUUID();
  private KernelPathFixture kernel;
  private Path runDir;

  @AfterEach
  void stopEverything() throws Exception {
    List<ManagedProcess> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed);
    reversed.forEach(p -> p.stop(20));
    if (kernel != null) {
      kernel.cleanUp();
    }
  }

  private GatewayClient gateway;

  private ManagedProcess startVipfarm(String name) {
    int httpPort = FreePort.pick();
    List<String> argv = new ArrayList<>(List.of(VIPFARM.toString(), "start",
        "--http-port", String.valueOf(httpPort),
        "--host-id", HOST,
        "--data-dir", tmp.resolve("data").toString(),
        "--run-dir", runDir.toString(),
        "--cluster-name", "kill-" + UUID.randomUUID(),
        "--cluster-port", String.valueOf(FreePort.pick())));
    argv.addAll(kernel.startOptions());
    ManagedProcess vipfarm = spawn(name, argv, kernel.environment());
    GatewayClient gateway = new GatewayClient(httpPort, token);
    Poll.until(name + " to be healthy", Duration.ofSeconds(90), () -> {
      assertThat(vipfarm.isAlive()).as("%s exited early:\n%s", name, vipfarm.output()).isTrue();
      return gateway.healthy();
    });
    this.gateway = gateway;
    return vipfarm;
  }

  @Test
  @DisplayName("kill -9 leaves sessions enforced; the restarted agent takes the pinned state back without duplicates")
  void killAndRestart() throws Exception {
    kernel = KernelPathFixture.require();
    runDir = tmp.resolve("run");
    ManagedProcess first = startVipfarm("vipfarm-1");
    assertThat(gateway.put("/api/v1/policies/loopback", new JsonObject().put("priority", 1)
        .put("virtualLoopback", new JsonObject().put("enabled", true).put("programs", List.of("*")))).status())
        .isEqualTo(200);
    for (String id : List.of("41", "42")) {
      GatewayClient.Reply reply = gateway.post("/api/v1/hosts/" + HOST + "/sessions",
          new JsonObject().put("sessionId", id).put("user", "u" + id));
      assertThat(reply.status()).as(reply.body()).isEqualTo(201);
    }
    long id41 = KernelPathFixture.cgroupId(kernel.sessionCgroup("41"));
    long id42 = KernelPathFixture.cgroupId(kernel.sessionCgroup("42"));
    assertThat(kernel.mapEntries()).containsExactlyInAnyOrder(id41, id42);
    int port = FreePort.pick();
    ManagedProcess before = inSession("41", "before", "env", "-i", "/usr/bin/python3", "-m", "http.server",
        String.valueOf(port), "--bind", "127.0.0.1");
    awaitListening(before, "127.0.0.42", port);

    first.kill();

    // nothing runs now: a program started in session 42 (cleared environment: the kernel alone) is enforced
    ManagedProcess during = inSession("42", "during", "env", "-i", "/usr/bin/python3", "-m", "http.server",
        String.valueOf(port), "--bind", "127.0.0.1");
    awaitListening(during, "127.0.0.43", port);
    assertThat(kernel.mapEntries()).containsExactlyInAnyOrder(id41, id42);

    ManagedProcess second = startVipfarm("vipfarm-2");
    assertThat(second.output()).contains("interception kernel");
    assertThat(gateway.get("/api/v1/hosts/" + HOST + "/sessions").array()).hasSize(2);
    assertThat(kernel.mapEntries()).as("one entry per live session, the same cgroups")
        .containsExactlyInAnyOrder(id41, id42);
    assertThat(KernelPathFixture.cgroupId(kernel.sessionCgroup("41"))).isEqualTo(id41);
    assertThat(before.isAlive()).isTrue();
    assertThat(ListeningSockets.ipv4(port)).containsExactlyInAnyOrder("127.0.0.42", "127.0.0.43");

    // the restarted agent enforces as before: ending a session clears it
    assertThat(gateway.delete("/api/v1/hosts/" + HOST + "/sessions/41").status()).isEqualTo(204);
    assertThat(kernel.mapEntries()).containsExactly(id42);
    assertThat(kernel.sessionCgroup("41")).doesNotExist();

    assertThat(second.stop(30)).as(second.output()).isIn(0, 143);
    assertThat(kernel.pinDir).doesNotExist();
    assertThat(kernel.cgroupParent).doesNotExist();
  }

  private ManagedProcess inSession(String session, String name, String... command) {
    List<String> argv = new ArrayList<>(List.of(VIPFARM.toString(), "exec", "--session", session, "--run-dir",
        runDir.toString(), "--"));
    argv.addAll(List.of(command));
    return spawn(name, argv, Map.of());
  }

  private ManagedProcess spawn(String name, List<String> argv, Map<String, String> env) {
    Map<String, String> all = new HashMap<>(env);
    all.put("VIPFARM_ADMIN_TOKEN", token);
    ManagedProcess p = ManagedProcess.start(name, argv, all, tmp.resolve("logs"));
    processes.add(p);
    return p;
  }

  private static void awaitListening(ManagedProcess server, String address, int port) {
    Poll.until(server + " to listen on " + address + ":" + port, Duration.ofSeconds(30), () -> {
      assertThat(server.isAlive()).as("%s exited:\n%s", server, server.output()).isTrue();
      return ListeningSockets.ipv4(port).contains(address);
    });
  }
}
