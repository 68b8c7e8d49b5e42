package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two clustered Vert.x nodes on two Hazelcast members in one JVM: state and services are shared
 * through the cluster, so any gateway answers for any host.
 */
class TwoMemberClusterTest {
  @TempDir Path tmp;
  private VipfarmNode first;
  private VipfarmNode second;

  @AfterEach
  void stop() {
    if (second != null) {
      second.closeAndWait(30);
    }
    if (first != null) {
      first.closeAndWait(30);
    }
  }

  @Test
  @DisplayName("a session started through one member's gateway is visible through the other's")
  void sessionVisibleThroughEitherGateway() throws Exception {
    String cluster = "two-" + UUID.randomUUID();
    int port1 = FreePort.pick();
    int port2 = FreePort.pick();
    first = start(new NodeOptions(Role.ALL, "127.0.0.1", 0, "host-a", tmp.resolve("a/data"), tmp.resolve("a/run"),
        cluster, port1, List.of(), "127.0.0.1"));
    second = start(new NodeOptions(Role.CONTROL, "127.0.0.1", 0, "host-b", tmp.resolve("b/data"), tmp.resolve("b/run"),
        cluster, port2, List.of("127.0.0.1:" + port1), "127.0.0.1"));

    GatewayClient viaFirst = new GatewayClient(first.gatewayPort(), "token");
    GatewayClient viaSecond = new GatewayClient(second.gatewayPort(), "token");

    // Configure through the second member, start the session through the first.
    assertThat(viaSecond.put("/api/v1/pools/default", new JsonObject().put("cidr", "127.100.2.0/24")).status()).isEqualTo(200);
    assertThat(viaSecond.put("/api/v1/policies/vip", new JsonObject().put("priority", 5)
        .put("virtualLoopback", new JsonObject().put("enabled", true))
        .put("virtualIp", new JsonObject().put("enabled", true).put("pool", "default"))).status()).isEqualTo(200);
    GatewayClient.Reply started = viaFirst.post("/api/v1/hosts/host-a/sessions",
        new JsonObject().put("sessionId", "7").put("user", "alice"));
    assertThat(started.status()).as(started.body()).isEqualTo(201);
    String vip = started.json().getJsonArray("virtualIps").getJsonObject(0).getString("address");

    GatewayClient.Reply seen = viaSecond.get("/api/v1/hosts/host-a/sessions/7");
    assertThat(seen.status()).as(seen.body()).isEqualTo(200);
    assertThat(seen.json().getString("loopbackAddress")).isEqualTo("127.0.0.8");
    assertThat(seen.json().getString("user")).isEqualTo("alice");
    assertThat(viaSecond.get("/api/v1/allocations?session=7").array().getJsonObject(0).getString("address")).isEqualTo(vip);
    assertThat(viaSecond.get("/api/v1/hosts").array().stream().map(h -> ((JsonObject) h).getString("hostId")))
        .containsExactly("host-a");

    // The agent's acquire time reaches the acquire latency histogram of both gateways' /metrics.
    for (GatewayClient gateway : List.of(viaFirst, viaSecond)) {
      Poll.until("the acquire latency histogram", java.time.Duration.ofSeconds(10), () ->
          gateway.get("/metrics").body().lines().anyMatch(l -> l.startsWith("vipfarm_lease_acquire_seconds_count")
              && !l.endsWith(" 0.0")));
    }

    // Ending it through the second gateway releases the lease for everyone.
    assertThat(viaSecond.delete("/api/v1/hosts/host-a/sessions/7").status()).isEqualTo(204);
    assertThat(viaFirst.get("/api/v1/allocations?host=host-a").array()).isEmpty();
  }

  private static VipfarmNode start(NodeOptions options) throws Exception {
    return VipfarmNode.start(options, "token").toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }
}
