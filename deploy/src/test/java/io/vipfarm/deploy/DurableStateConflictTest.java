package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import io.vipfarm.deploy.store.StateDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restored entry goes through the same rules as an API write: a pool from a member's copy that
 * overlaps a pool the running cluster created meanwhile is refused and logged; the member still starts.
 * Two Hazelcast members in one JVM, each with its own data dir.
 */
class DurableStateConflictTest {
  @TempDir Path tmp;
  private VipfarmNode a;
  private VipfarmNode b;

  @AfterEach
  void stop() {
    for (VipfarmNode node : new VipfarmNode[] {b, a}) {
      if (node != null) {
        node.closeAndWait(30);
      }
    }
  }

  @Test
  @DisplayName("a restored pool that overlaps a newer one is refused, not forced in, and the member runs")
  void overlappingRestoreIsRefused() throws Exception {
    String cluster = "conflict-" + UUID.randomUUID();
    int portA = FreePort.pick();
    int portB = FreePort.pick();
    // a alone: pool 'old' and policy 'p', then a stops
    a = start(options("a", cluster, portA, List.of()));
    GatewayClient viaA = new GatewayClient(a.gatewayPort(), "token");
    assertThat(viaA.put("/api/v1/pools/old", new JsonObject().put("cidr", "127.130.0.0/24")).status()).isEqualTo(200);
    assertThat(viaA.put("/api/v1/policies/p", new JsonObject().put("priority", 4)).status()).isEqualTo(200);
    a.closeAndWait(30);
    a = null;

    // b, a new member with an empty data dir, creates an overlapping pool 'new'
    b = start(options("b", cluster, portB, List.of()));
    GatewayClient viaB = new GatewayClient(b.gatewayPort(), "token");
    assertThat(viaB.put("/api/v1/pools/new", new JsonObject().put("cidr", "127.130.0.0/25")).status()).isEqualTo(200);

    // a comes back and offers its copy: 'old' overlaps 'new' and is refused; 'p' is restored
    a = start(options("a", cluster, portA, List.of("127.0.0.1:" + portB)));
    viaA = new GatewayClient(a.gatewayPort(), "token");
    GatewayClient finalViaA = viaA;
    Poll.until("policy p restored", Duration.ofSeconds(60), () -> finalViaA.get("/api/v1/policies/p").status() == 200);
    assertThat(viaA.get("/api/v1/pools/new").json().getString("cidr")).isEqualTo("127.130.0.0/25");
    assertThat(viaA.get("/api/v1/pools/old").status()).isEqualTo(404);
    assertThat(viaA.healthy()).isTrue();

    // b's copy now holds a's rows too (the merge handed them to every member): a full copy on each
    try (StateDatabase copyOfB = StateDatabase.openIn(tmp.resolve("b/data"))) {
      assertThat(copyOfB.rows()).extracting(r -> r.kind() + "/" + r.key())
          .contains("pool/old", "pool/new", "policy/p");
    }
  }

  @Test
  @DisplayName("a member that was down while entries changed brings none of its stale rows back, in either order")
  void aMemberThatMissedChangesDoesNotUndoThem() throws Exception {
    String cluster = "missed-" + UUID.randomUUID();
    int portA = FreePort.pick();
    int portB = FreePort.pick();
    a = start(joining("a", cluster, portA, portB));
    b = start(joining("b", cluster, portB, portA));
    GatewayClient viaA = new GatewayClient(a.gatewayPort(), "token");
    assertThat(viaA.put("/api/v1/pools/doomed", new JsonObject().put("cidr", "127.131.0.0/24")).status()).isEqualTo(200);
    assertThat(viaA.put("/api/v1/policies/changed", new JsonObject().put("priority", 1)).status()).isEqualTo(200);
    b.closeAndWait(30);
    b = null;

    // while b is down: a pool deleted, a policy changed, a pool created. A member just left: a request may
    // meet a service being re-published (503, outcome unknown); DELETE is idempotent (404 once it is gone)
    GatewayClient deleting = viaA;
    Poll.until("pool 'doomed' deleted", Duration.ofSeconds(30), () -> {
      int status = deleting.delete("/api/v1/pools/doomed").status();
      return status == 204 || status == 404;
    });
    assertThat(viaA.get("/api/v1/pools/doomed").status()).isEqualTo(404);
    assertThat(viaA.put("/api/v1/policies/changed", new JsonObject().put("priority", 2)).status()).isEqualTo(200);
    // a member just left: a request may meet a service being re-published (503); a PUT is idempotent
    GatewayClient finalViaA = viaA;
    Poll.until("pool 'born' created", Duration.ofSeconds(30), () -> {
      GatewayClient.Reply put = finalViaA.put("/api/v1/pools/born", new JsonObject().put("cidr", "127.132.0.0/24"));
      assertThat(put.status()).as(put.body()).isIn(200, 503);
      return put.status() == 200;
    });

    // b comes back while a runs: its older rows lose to a's (the deletion included)
    b = start(joining("b", cluster, portB, portA));
    GatewayClient viaB = new GatewayClient(b.gatewayPort(), "token");
    assertThat(viaB.get("/api/v1/pools/doomed").status()).isEqualTo(404);
    assertThat(viaB.get("/api/v1/policies/changed").json().getInteger("priority")).isEqualTo(2);
    assertThat(viaB.get("/api/v1/pools/born").status()).isEqualTo(200);

    // both stop; b (which had missed the changes, now repaired) comes back alone first
    b.closeAndWait(30);
    b = null;
    a.closeAndWait(30);
    a = null;
    b = start(joining("b", cluster, portB, portA));
    GatewayClient alone = new GatewayClient(b.gatewayPort(), "token");
    assertThat(alone.get("/api/v1/pools/doomed").status()).isEqualTo(404);
    assertThat(alone.get("/api/v1/policies/changed").json().getInteger("priority")).isEqualTo(2);
    assertThat(alone.get("/api/v1/pools/born").json().getString("cidr")).isEqualTo("127.132.0.0/24");
  }

  private NodeOptions joining(String name, String cluster, int clusterPort, int other) {
    return options(name, cluster, clusterPort, List.of("127.0.0.1:" + other));
  }

  private NodeOptions options(String name, String cluster, int clusterPort, List<String> members) {
    return new NodeOptions(Role.CONTROL, "127.0.0.1", 0, "host-" + name, tmp.resolve(name + "/data"),
        tmp.resolve(name + "/run"), cluster, clusterPort, members, "127.0.0.1");
  }

  private static VipfarmNode start(NodeOptions options) throws Exception {
    return VipfarmNode.start(options, "token").toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }
}
