package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How {@code vipfarm start} picks its enforcement path where the kernel path cannot work (here: its loader
 * is missing, which fails the probe on any host): auto falls back to preload and says why, in the log and
 * in GET /api/v1/hosts; an explicit kernel refuses to start.
 */
class InterceptionModeIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final Map<String, String> NO_LOADER =
      Map.of("VIPFARM_JAVA_OPTS", "-Dvipfarm.bpf.loader=/nonexistent/vipfarm-bpf");

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final String token = "mode-" + UUID.randomUUID();

  @AfterEach
  void stop() {
    processes.forEach(p -> p.stop(20));
  }

  private ManagedProcess start(String name, String mode, int httpPort) {
    Map<String, String> env = new java.util.HashMap<>(NO_LOADER);
    env.put("VIPFARM_ADMIN_TOKEN", token);
    ManagedProcess p = ManagedProcess.start(name, List.of(VIPFARM.toString(), "start", "--interception", mode,
        "--http-port", String.valueOf(httpPort), "--host-id", "mode-host", "--data-dir", tmp.resolve("data").toString(),
        "--run-dir", tmp.resolve("run").toString(), "--cluster-name", "mode-" + UUID.randomUUID(),
        "--cluster-port", String.valueOf(FreePort.pick()), "--loopback6-prefix", "none"), env, tmp.resolve("logs"));
    processes.add(p);
    return p;
  }

  @Test
  @DisplayName("auto without a working kernel path enforces with preload and says why (log and GET /api/v1/hosts)")
  void autoFallsBack() {
    int port = FreePort.pick();
    ManagedProcess vipfarm = start("auto", "auto", port);
    GatewayClient gateway = new GatewayClient(port, token);
    Poll.until("the gateway to be healthy", Duration.ofSeconds(90), () -> {
      assertThat(vipfarm.isAlive()).as("vipfarm exited early:\n%s", vipfarm.output()).isTrue();
      return gateway.healthy();
    });

    JsonObject host = gateway.get("/api/v1/hosts").array().getJsonObject(0);
    assertThat(host.getString("interception")).isEqualTo("preload");
    assertThat(host.getString("interceptionReason")).startsWith("fell back to preload: ");
    assertThat(vipfarm.output()).contains("interception: preload (fell back to preload: ");
  }

  @Test
  @DisplayName("kernel without a working kernel path refuses to start, naming what is missing")
  void kernelRefuses() {
    ManagedProcess vipfarm = start("kernel", "kernel", FreePort.pick());
    assertThat(vipfarm.waitFor(120)).as(vipfarm.output()).isNotZero();
    assertThat(vipfarm.output()).contains("--interception kernel: the kernel path does not work on this host");
  }
}
