package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.agent.PrivateLogindBus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged {@code vipfarm start --sessions logind} following a logind stand-in on a real
 * dbus-daemon (a private bus in a temp dir), through a kill -9 of vipfarm.
 */
class LogindSessionsIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final String HOST = "logind-host";

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final String token = "logind-" + UUID.randomUUID();
  private PrivateLogindBus logind;
  private GatewayClient gateway;
  private ManagedProcess vipfarm;
  private int httpPort;
  private int clusterPort;

  @BeforeEach
  void startBus() throws Exception {
    String missing = PrivateLogindBus.missing();
    assumeTrue(missing == null, () -> "skipped: " + missing);
    logind = PrivateLogindBus.start(Files.createDirectories(tmp.resolve("bus")));
    httpPort = FreePort.pick();
    clusterPort = FreePort.pick();
    gateway = new GatewayClient(httpPort, token);
  }

  @AfterEach
  void stopEverything() throws Exception {
    List<ManagedProcess> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed);
    reversed.forEach(p -> p.stop(20));
    if (logind != null) {
      logind.close();
    }
  }

  private void startVipfarm(String name) {
    vipfarm = ManagedProcess.start(name, List.of(VIPFARM.toString(), "start", "--sessions", "logind",
        "--logind-bus", logind.address(), "--http-port", String.valueOf(httpPort), "--host-id", HOST,
        "--data-dir", tmp.resolve("data").toString(), "--run-dir", tmp.resolve("run").toString(),
        "--cluster-name", "logind-" + UUID.randomUUID(), "--cluster-port", String.valueOf(clusterPort)),
        Map.of("VIPFARM_ADMIN_TOKEN", token), tmp.resolve("logs"));
    processes.add(vipfarm);
    Poll.until("the gateway to be healthy", Duration.ofSeconds(90), () -> {
      assertThat(vipfarm.isAlive()).as("vipfarm exited early:\n%s", vipfarm.output()).isTrue();
      return gateway.healthy();
    });
  }

  private void poolAndPolicy() {
    assertThat(gateway.put("/api/v1/pools/default",
        new JsonObject().put("cidr", "127.103.0.0/24").put("leaseSeconds", 60)).status()).isEqualTo(200);
    assertThat(gateway.put("/api/v1/policies/logind", new JsonObject()
        .put("priority", 10)
        .put("match", new JsonObject().put("hosts", List.of("*")).put("users", List.of("*")))
        .put("virtualLoopback", new JsonObject().put("enabled", true).put("programs", List.of("*")))
        .put("virtualIp", new JsonObject().put("enabled", true).put("mode", "per-session").put("pool", "default")))
        .status()).isEqualTo(200);
  }

  private List<String> sessions() {
    GatewayClient.Reply reply = gateway.get("/api/v1/hosts/" + HOST + "/sessions");
    if (reply.status() != 200) {
      return List.of("<HTTP " + reply.status() + ">");
    }
    JsonArray array = reply.array();
    return IntStream.range(0, array.size()).mapToObj(i -> array.getJsonObject(i).getString("sessionId")).sorted()
        .toList();
  }

  @Test
  @DisplayName("logind's sessions become vipfarm sessions with leases; after a kill -9 the restarted agent ends"
      + " what logind removed meanwhile and starts what it added")
  void followsLogindThroughACrash() throws Exception {
    startVipfarm("vipfarm");
    poolAndPolicy();
    logind.command("new 3 65534 nobody user sshd");
    logind.command("new c2 0 root user login");
    Poll.until("sessions 3 and c2", Duration.ofSeconds(20), () -> sessions().equals(List.of("3", "c2")));
    JsonObject three = gateway.get("/api/v1/hosts/" + HOST + "/sessions/3").json();
    assertThat(three.getString("user")).isEqualTo("nobody");
    assertThat(three.getString("loopbackAddress")).isEqualTo("127.0.0.4");
    assertThat(three.getJsonArray("virtualIps").getJsonObject(0).getString("address")).startsWith("127.103.0.");
    assertThat(gateway.get("/api/v1/allocations?host=" + HOST).array()).hasSize(2);

    logind.command("remove c2");
    Poll.until("c2 ended", Duration.ofSeconds(20), () -> sessions().equals(List.of("3")));
    assertThat(tmp.resolve("run/sessions/c2.rules")).doesNotExist();

    // vipfarm dies; meanwhile session 3 logs out and session 5 logs in
    new ProcessBuilder("kill", "-9", String.valueOf(vipfarm.pid())).start().waitFor();
    assertThat(vipfarm.waitFor(30)).isNotZero();
    assertThat(tmp.resolve("run/sessions/3.rules")).as("a crash leaves the rules").exists();
    logind.command("quiet-remove 3");
    logind.command("quiet-new 5 0 root user sshd");

    startVipfarm("vipfarm-restarted");
    Poll.until("3 ended and 5 started after the restart", Duration.ofSeconds(30),
        () -> sessions().equals(List.of("5")));
    assertThat(tmp.resolve("run/sessions/3.rules")).doesNotExist();
    assertThat(gateway.get("/api/v1/hosts/" + HOST + "/sessions/5").json().getString("loopbackAddress"))
        .isEqualTo("127.0.0.6");
  }
}
