package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole control plane restarted, as real {@code bin/vipfarm start} processes with their own data
 * dirs: pools, policies, API tokens and webhooks come back, deleted ones stay deleted, whatever order
 * the members come back in, after a clean stop and after kill -9.
 */
class DurableRestartIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();

  @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) Path tmp;
  private final String adminToken = "durable-" + UUID.randomUUID();
  private final String cluster = "durable-" + UUID.randomUUID();
  private final List<ManagedProcess> processes = new ArrayList<>();

  /** One control member: its data dir and ports stay the same across restarts. */
  private record Member(String name, Path dataDir, int httpPort, int clusterPort, int bridgePort) {}

  private FarmCa ca;

  private io.vipfarm.deploy.bridge.BridgeTls controlCertificate(Member m) {
    try {
      if (ca == null) {
        ca = FarmCa.init(tmp.resolve("ca"));
      }
      return ca.control("durable-" + m.name(), "127.0.0.1");
    } catch (Exception e) {
      throw new IllegalStateException("cannot make the bridge certificates", e);
    }
  }

  @AfterEach
  void stopAll() {
    List<ManagedProcess> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed);
    reversed.forEach(p -> p.stop(20));
  }

  @Test
  @DisplayName("two control members stopped (SIGTERM) and started in the other order keep the configuration")
  void cleanStopOfBothMembers() {
    Member a = member("a");
    Member b = member("b");
    ManagedProcess procA = start(a, b, "control");
    ManagedProcess procB = start(b, a, "control");
    awaitOneCluster(a, b);
    Expected expected = configure(gateway(a), gateway(b));
    // while both run, each member's own state.db holds every row, tombstones included (live copies)
    java.util.function.Supplier<java.util.Set<String>> rowsOfA = () -> rowsIn(a);
    Poll.until("a full copy in each member's state.db", Duration.ofSeconds(20),
        () -> rowsOfA.get().size() == 13 && rowsOfA.get().equals(rowsIn(b)));

    assertThat(procA.stop(60)).as("member a's exit code (143: SIGTERM, after a clean shutdown)").isIn(0, 143);
    assertThat(procB.stop(60)).as("member b's exit code").isIn(0, 143);

    // b alone first: its own copy holds everything, also what a's partitions stored
    start(b, a, "control");
    expected.assertPresent(b.httpPort(), adminToken);
    start(a, b, "control");
    awaitOneCluster(a, b);
    expected.assertPresent(a.httpPort(), adminToken);
    expected.assertPresent(b.httpPort(), adminToken);
  }

  @Test
  @DisplayName("kill -9 of both members (--expected-members 2) right after the last 2xx loses no write")
  void killOfBothMembers() {
    Member a = member("a");
    Member b = member("b");
    ManagedProcess procA = start(a, b, "control", "--expected-members", "2");
    ManagedProcess procB = start(b, a, "control", "--expected-members", "2");
    awaitOneCluster(a, b);
    Expected expected = configure(gateway(a), gateway(b));
    // the last writes, each answered 2xx, then both members die at once, no time for anything else
    GatewayClient viaB = gateway(b);
    assertThat(viaB.put("/api/v1/pools/late", pool("127.121.9.0/24")).status()).isEqualTo(200);
    assertThat(viaB.delete("/api/v1/pools/kept").status()).isEqualTo(204);
    GatewayClient.Reply lateToken = viaB.post("/api/v1/tokens", new JsonObject().put("name", "late").put("role", "operator"));
    assertThat(lateToken.status()).isEqualTo(201);
    kill(procA);
    kill(procB);
    expected.pools.put("late", "127.121.9.0/24");
    expected.pools.remove("kept");
    expected.deletedPools.add("kept");
    expected.tokenSecrets.add(lateToken.json().getString("token"));

    // the other order this time: a first, alone without the quorum the pools need (they wait), then b
    start(a, b, "control", "--expected-members", "2");
    start(b, a, "control", "--expected-members", "2");
    awaitOneCluster(a, b);
    expected.assertPresent(a.httpPort(), adminToken);
    expected.assertPresent(b.httpPort(), adminToken);
  }

  @Test
  @DisplayName("a single vipfarm start (role all) restarted with the same data dir keeps pools and policies; an online backup restores")
  void singleNodeRestart() throws Exception {
    Member solo = member("solo");
    ManagedProcess first = start(solo, null, "all");
    GatewayClient gateway = gateway(solo);
    Poll.until("the gateway", Duration.ofSeconds(90), gateway::healthy);
    assertThat(gateway.put("/api/v1/pools/default", pool("127.122.0.0/24")).status()).isEqualTo(200);
    assertThat(gateway.put("/api/v1/policies/all", policy("default", 3)).status()).isEqualTo(200);
    // an online backup while it runs, put in place of the state after the stop
    Path backup = tmp.resolve("state-backup.db");
    ManagedProcess backupCommand = ManagedProcess.start("backup", List.of(VIPFARM.toString(), "state", "backup",
        "--data-dir", solo.dataDir().toString(), "--to", backup.toString()), Map.of(), tmp.resolve("logs"));
    assertThat(backupCommand.waitFor(60)).as(backupCommand.output()).isZero();
    assertThat(first.stop(60)).as("exit code").isIn(0, 143);
    for (String file : List.of("state.db", "state.db-wal", "state.db-shm")) {
      java.nio.file.Files.deleteIfExists(solo.dataDir().resolve(file));
    }
    java.nio.file.Files.move(backup, solo.dataDir().resolve("state.db"));

    start(solo, null, "all");
    Poll.until("the restarted gateway", Duration.ofSeconds(90), gateway::healthy);
    Poll.until("the pool back", Duration.ofSeconds(60), () -> gateway.get("/api/v1/pools/default").status() == 200);
    assertThat(gateway.get("/api/v1/pools/default").json().getString("cidr")).isEqualTo("127.122.0.0/24");
    JsonObject policy = gateway.get("/api/v1/policies/all").json();
    assertThat(policy.getInteger("priority")).isEqualTo(3);
    assertThat(policy.getJsonObject("virtualIp").getString("pool")).isEqualTo("default");
    assertThat(solo.dataDir().resolve("state.db")).exists();
  }

  // ------------------------------------------------------------------ what is written, and checked

  /** What the restarted control plane must show. */
  private static final class Expected {
    final Map<String, String> pools = new java.util.TreeMap<>();
    final List<String> deletedPools = new ArrayList<>();
    final Map<String, Integer> policies = new java.util.TreeMap<>();
    final List<String> deletedPolicies = new ArrayList<>();
    final List<String> tokenSecrets = new ArrayList<>();
    String webhookUrl;

    void assertPresent(int port, String adminToken) {
      GatewayClient gateway = new GatewayClient(port, adminToken);
      Poll.until("the restored pools and policies", Duration.ofSeconds(90), () -> {
        if (!gateway.healthy()) {
          return false;
        }
        for (String pool : pools.keySet()) {
          if (gateway.get("/api/v1/pools/" + pool).status() != 200) {
            return false;
          }
        }
        return policies.keySet().stream().allMatch(p -> gateway.get("/api/v1/policies/" + p).status() == 200);
      });
      pools.forEach((name, cidr) -> {
        JsonObject view = gateway.get("/api/v1/pools/" + name).json();
        assertThat(view.getString("cidr")).as("pool " + name).isEqualTo(cidr);
      });
      assertThat(gateway.get("/api/v1/pools/reserved").json().getJsonObject("reservations").getMap())
          .containsEntry("alice", "127.121.2.10").containsEntry("bob", "127.121.2.11");
      for (String gone : deletedPools) {
        assertThat(gateway.get("/api/v1/pools/" + gone).status()).as("deleted pool " + gone).isEqualTo(404);
      }
      policies.forEach((name, priority) ->
          assertThat(gateway.get("/api/v1/policies/" + name).json().getInteger("priority")).as("policy " + name).isEqualTo(priority));
      for (String gone : deletedPolicies) {
        assertThat(gateway.get("/api/v1/policies/" + gone).status()).as("deleted policy " + gone).isEqualTo(404);
      }
      for (String secret : tokenSecrets) {
        GatewayClient withToken = new GatewayClient(port, secret);
        assertThat(withToken.get("/api/v1/pools").status()).as("a restored token authenticates").isEqualTo(200);
      }
      JsonArray hooks = gateway.get("/api/v1/webhooks").array();
      assertThat(hooks.stream().map(h -> ((JsonObject) h).getString("url"))).containsExactly(webhookUrl);
    }
  }

  /** Pools, policies, a token and a webhook through both gateways, with a pool and a policy deleted again. */
  private static Expected configure(GatewayClient viaA, GatewayClient viaB) {
    Expected expected = new Expected();
    for (int i = 0; i < 6; i++) {
      String name = i == 0 ? "kept" : "p" + i;
      String cidr = "127.121." + (10 + i) + ".0/24";
      GatewayClient via = i % 2 == 0 ? viaA : viaB;
      assertThat(via.put("/api/v1/pools/" + name, pool(cidr)).status()).isEqualTo(200);
      expected.pools.put(name, cidr);
    }
    JsonObject reserved = pool("127.121.2.0/24").put("reservations", new JsonObject().put("bob", "127.121.2.11").put("alice", "127.121.2.10"));
    assertThat(viaA.put("/api/v1/pools/reserved", reserved).status()).isEqualTo(200);
    expected.pools.put("reserved", "127.121.2.0/24");
    assertThat(viaB.delete("/api/v1/pools/p3").status()).isEqualTo(204);
    expected.pools.remove("p3");
    expected.deletedPools.add("p3");
    // redefined: the newer definition must win
    assertThat(viaA.put("/api/v1/pools/p5", pool("127.121.25.0/24")).status()).isEqualTo(200);
    expected.pools.put("p5", "127.121.25.0/24");

    for (int i = 0; i < 4; i++) {
      GatewayClient via = i % 2 == 0 ? viaB : viaA;
      assertThat(via.put("/api/v1/policies/pol" + i, policy("p1", 10 + i)).status()).isEqualTo(200);
      expected.policies.put("pol" + i, 10 + i);
    }
    assertThat(viaA.delete("/api/v1/policies/pol2").status()).isEqualTo(204);
    expected.policies.remove("pol2");
    expected.deletedPolicies.add("pol2");

    GatewayClient.Reply token = viaA.post("/api/v1/tokens", new JsonObject().put("name", "ops").put("role", "reader"));
    assertThat(token.status()).as(token.body()).isEqualTo(201);
    expected.tokenSecrets.add(token.json().getString("token"));
    expected.webhookUrl = "http://127.0.0.1:9/vipfarm-hook";
    GatewayClient.Reply hook = viaB.post("/api/v1/webhooks", new JsonObject().put("url", expected.webhookUrl)
        .put("types", new JsonArray().add("policy.changed")));
    assertThat(hook.status()).as(hook.body()).isEqualTo(201);
    return expected;
  }

  private static JsonObject pool(String cidr) {
    return new JsonObject().put("cidr", cidr).put("leaseSeconds", 120);
  }

  private static JsonObject policy(String pool, int priority) {
    return new JsonObject().put("priority", priority)
        .put("virtualLoopback", new JsonObject().put("enabled", true))
        .put("virtualIp", new JsonObject().put("enabled", true).put("pool", pool));
  }

  /** The rows of a member's copy as "kind/key/deleted", read through a second SQLite connection. */
  private static java.util.Set<String> rowsIn(Member m) {
    try (var db = io.vipfarm.deploy.store.StateDatabase.openIn(m.dataDir())) {
      return db.rows().stream().map(r -> r.kind() + "/" + r.key() + "/" + r.isTombstone())
          .collect(java.util.stream.Collectors.toSet());
    }
  }

  // ------------------------------------------------------------------ processes

  private Member member(String name) {
    return new Member(name, tmp.resolve(name + "/data"), FreePort.pick(), FreePort.pick(), FreePort.pick());
  }

  private GatewayClient gateway(Member m) {
    return new GatewayClient(m.httpPort(), adminToken);
  }

  private ManagedProcess start(Member m, Member other, String role, String... extra) {
    List<String> argv = new ArrayList<>(List.of(VIPFARM.toString(), "start",
        "--role", role,
        "--http-port", String.valueOf(m.httpPort()),
        "--data-dir", m.dataDir().toString(),
        "--cluster-name", cluster,
        "--cluster-port", String.valueOf(m.clusterPort())));
    if (role.equals("control")) {
      // a control member serves the agent bridge, which needs the farm's certificates
      argv.addAll(FarmCa.options(controlCertificate(m)));
      argv.addAll(List.of("--bridge-port", String.valueOf(m.bridgePort())));
    } else {
      argv.addAll(List.of("--host-id", "durable-" + m.name(), "--run-dir", tmp.resolve(m.name() + "/run").toString()));
    }
    argv.addAll(List.of(extra));
    if (other != null) {
      argv.addAll(List.of("--cluster-members", "127.0.0.1:" + other.clusterPort()));
    }
    ManagedProcess p = ManagedProcess.start(m.name() + "-" + processes.size(), argv,
        Map.of("VIPFARM_ADMIN_TOKEN", adminToken), tmp.resolve("logs"));
    processes.add(p);
    GatewayClient gateway = gateway(m);
    Poll.until(m.name() + "'s gateway to be healthy", Duration.ofSeconds(120), () -> {
      assertThat(p.isAlive()).as("%s exited early:\n%s", p, p.output()).isTrue();
      return gateway.healthy();
    });
    return p;
  }

  /** Both members report a cluster of two (the gateway's /ready names the member count). */
  private void awaitOneCluster(Member a, Member b) {
    for (Member m : List.of(a, b)) {
      GatewayClient gateway = gateway(m);
      Poll.until(m.name() + " in a cluster of 2", Duration.ofSeconds(90), () -> {
        GatewayClient.Reply ready = gateway.anonymousGet("/ready");
        return ready.status() == 200
            && ready.json().getJsonObject("checks").getJsonObject("cluster").getString("detail").startsWith("2 members");
      });
    }
  }

  private static void kill(ManagedProcess p) {
    ProcessHandle.of(p.pid()).ifPresent(h -> {
      h.destroyForcibly();
      h.onExit().orTimeout(20, TimeUnit.SECONDS).join();
    });
  }
}
