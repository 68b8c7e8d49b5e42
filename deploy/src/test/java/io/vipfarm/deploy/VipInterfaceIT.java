package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * VIPs from a real subnet ({@code --vip-interface}), with the packaged {@code bin/vipfarm} as real
 * processes inside a network namespace the test creates ({@link VipNamespace}): the subnet 10.77.0.0/24
 * exists only there. The gateway listens on the namespace's loopback; the test reaches it through a
 * socat forwarder on 127.0.0.1 that enters the namespace per connection. Needs root; skipped otherwise.
 */
class VipInterfaceIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final String HOST = "vip-host";
  private static final String IF = VipNamespace.INTERFACE;
  private static final String OURS = IF + ":vf";
  /** An address someone else put on the interface; reserved for dave, so his session gets it. */
  private static final String FOREIGN = "10.77.0.200";
  /** A vipfarm-labelled address that no lease holds (left by a crash): must be removed. */
  private static final String STALE = "10.77.0.250";

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final String token = "vip-" + UUID.randomUUID();
  private final String clusterName = "vip-" + UUID.randomUUID();
  private VipNamespace ns;
  private GatewayClient gateway;
  private int gatewayPort;

  @BeforeEach
  void createNamespace() {
    String unavailable = VipNamespace.unavailableReason();
    Assumptions.assumeTrue(unavailable == null, () -> "skipping the VIP interface test: " + unavailable);
    ns = VipNamespace.create();
    ns.ip("addr", "add", FOREIGN + "/32", "dev", IF);
    gatewayPort = FreePort.pick();
    int forwarded = FreePort.pick();
    spawn("forwarder", List.of("socat", "TCP-LISTEN:" + forwarded + ",bind=127.0.0.1,fork,reuseaddr",
        "EXEC:ip netns exec " + ns.name() + " socat STDIO TCP\\:127.0.0.1\\:" + gatewayPort));
    gateway = new GatewayClient(forwarded, token);
  }

  @AfterEach
  void cleanUp() {
    List<ManagedProcess> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed);
    reversed.forEach(p -> p.stop(20));
    if (ns != null) {
      ns.close();
    }
  }

  @Test
  @DisplayName("a leased VIP is on the interface while its session runs, serves a 0.0.0.0 server, and goes with it")
  void vipFollowsTheLease() throws Exception {
    ManagedProcess vipfarm = startNode("all", "node", "--vip-interface", IF);
    awaitHealthy(vipfarm);
    definePoolAndPolicy(true);

    // granted: on the interface, labelled as vipfarm's
    String vip7 = onlyVip(startSession("7", "alice"));
    assertThat(vip7).startsWith("10.77.0.");
    assertThat(ns.addresses(IF)).contains(vip7 + "/32 " + OURS);

    // a server binding 0.0.0.0 in session 7 lands on the VIP, reachable inside the namespace
    int port = FreePort.pick();
    Path www = Files.createDirectories(tmp.resolve("www7"));
    Files.writeString(www.resolve("who.txt"), "session 7");
    ManagedProcess web = spawn("web7", ns.exec(VIPFARM.toString(), "exec", "--session", "7",
        "--run-dir", tmp.resolve("run-node").toString(), "--",
        "python3", "-m", "http.server", String.valueOf(port), "--bind", "0.0.0.0", "--directory", www.toString()));
    Poll.until("session 7's server on " + vip7 + ":" + port, Duration.ofSeconds(30), () -> {
      assertThat(web.isAlive()).as("web7:\n%s", web.output()).isTrue();
      return curl(vip7, port).equals("session 7");
    });
    assertThat(curl(VipNamespace.HOST_ADDRESS, port)).as("the server is on the VIP only, not on 0.0.0.0").isEmpty();
    // a neighbour on the subnet reaches it across the link: the host answers ARP for the VIP
    VipNamespace.Result fromNeighbour = ns.runOnNeighbour(20, "curl", "-s", "--max-time", "5",
        "http://" + vip7 + ":" + port + "/who.txt");
    assertThat(fromNeighbour.output().trim()).as("curl from the neighbour (exit %d); its neighbours: %s",
        fromNeighbour.exit(), ns.runOnNeighbour(10, "ip", "neigh").output())
        .isEqualTo("session 7");
    web.stop(10);

    // ended: off the interface before the gateway answers
    assertThat(gateway.delete("/api/v1/hosts/" + HOST + "/sessions/7").status()).isEqualTo(204);
    assertThat(addressesOnly()).doesNotContain(vip7);
    // and the host no longer answers ARP for it: the neighbour (its cache flushed) finds no host at all,
    // where a present address without a server would answer "Connection refused"
    ns.runOnNeighbour(20, "ip", "neigh", "flush", "dev", "vfvip1");
    VipNamespace.Result gone = ns.runOnNeighbour(30, "curl", "-sS", "--max-time", "10",
        "http://" + vip7 + ":" + port + "/who.txt");
    assertThat(gone.exit()).as("curl after the end: %s", gone.output()).isNotZero();
    assertThat(gone.output()).doesNotContain("Connection refused");

    // an address vipfarm did not add is used as is and never removed
    assertThat(onlyVip(startSession("9", "dave"))).isEqualTo(FOREIGN);
    assertThat(ns.addresses(IF)).contains(FOREIGN + "/32 " + IF).doesNotContain(FOREIGN + "/32 " + OURS);
    assertThat(gateway.delete("/api/v1/hosts/" + HOST + "/sessions/9").status()).isEqualTo(204);
    assertThat(ns.addresses(IF)).contains(FOREIGN + "/32 " + IF);

    // a policy change that drops the lease takes the address off (after the rules' grace period)
    String vip10 = onlyVip(startSession("10", "erin"));
    assertThat(addressesOnly()).contains(vip10);
    definePoolAndPolicy(false);
    Poll.until(vip10 + " to leave " + IF + " after the policy dropped its lease", Duration.ofSeconds(60),
        () -> !addressesOnly().contains(vip10));
    assertThat(gateway.get("/api/v1/allocations?host=" + HOST).array()).isEmpty();

    // stopping the agent takes every VIP off
    definePoolAndPolicy(true);
    String vip11 = onlyVip(startSession("11", "frank"));
    assertThat(addressesOnly()).contains(vip11);
    assertThat(vipfarm.stop(60)).as("exit code; output:\n%s", vipfarm.output()).isIn(0, 143);
    assertThat(ns.addresses(IF)).containsExactlyInAnyOrder(VipNamespace.HOST_ADDRESS + "/24 " + IF,
        FOREIGN + "/32 " + IF);
  }

  @Test
  @DisplayName("after kill -9 and a restart of the agent, held VIPs are re-ensured and stale ones of vipfarm removed")
  void agentCrashAndRestart() {
    ManagedProcess control = startNode("control", "control");
    awaitHealthy(control);
    ManagedProcess agent = startNode("agent", "agent", "--vip-interface", IF);
    awaitAgent(agent);
    definePoolAndPolicy(true);
    String vip7 = onlyVip(startSession("7", "alice"));
    String vip8 = onlyVip(startSession("8", "bob"));
    assertThat(addressesOnly()).contains(vip7, vip8);

    int killed = kill9(agent);
    assertThat(killed).isNotZero();
    assertThat(addressesOnly()).as("a crash takes nothing off").contains(vip7, vip8);
    // while it is down: someone deletes vip7, and a labelled address no lease holds is left over
    ns.ip("addr", "del", vip7 + "/32", "dev", IF);
    ns.ip("addr", "add", STALE + "/32", "dev", IF, "label", OURS);

    ManagedProcess restarted = startNode("agent", "agent-again", "--vip-interface", IF);
    awaitAgent(restarted);
    Poll.until("the interface to carry exactly the held VIPs", Duration.ofSeconds(60), () -> {
      assertThat(restarted.isAlive()).as("agent:\n%s", restarted.output()).isTrue();
      return ns.addresses(IF).stream().sorted().toList().equals(List.of(
          VipNamespace.HOST_ADDRESS + "/24 " + IF, vip7 + "/32 " + OURS, vip8 + "/32 " + OURS, FOREIGN + "/32 " + IF)
          .stream().sorted().toList());
    });
    assertThat(onlyVip(gateway.get("/api/v1/hosts/" + HOST + "/sessions/7").json())).isEqualTo(vip7);

    assertThat(restarted.stop(60)).as("agent output:\n%s", restarted.output()).isIn(0, 143);
    assertThat(addressesOnly()).doesNotContain(vip7, vip8, STALE).contains(FOREIGN);
  }

  @Test
  @DisplayName("an agent whose VIP interface does not exist refuses to start, naming it")
  void missingInterface() {
    ManagedProcess vipfarm = startNode("all", "node", "--vip-interface", "nosuch0");
    int exit = vipfarm.waitFor(120);
    assertThat(exit).as("output:\n%s", vipfarm.output()).isNotZero();
    assertThat(vipfarm.output()).contains("vipfarm could not start").contains("--vip-interface nosuch0");
  }

  // ---- helpers

  private int controlClusterPort;
  private int bridgePort;

  /**
   * {@code bin/vipfarm start --role ROLE} inside the namespace, with run and data dirs of its own (both
   * runs of the agent share one). How an agent reaches the control plane depends on the build: where
   * {@code vipfarm start} has the TLS agent bridge ({@code --bridge-cert}), through it with certificates
   * of a CA made here by {@code vipfarm ca}; otherwise as a lite member of the cluster.
   */
  private ManagedProcess startNode(String role, String name, String... extra) {
    String dirs = role.equals("agent") ? "agent" : name;
    List<String> argv = new ArrayList<>(List.of(VIPFARM.toString(), "start", "--role", role,
        "--data-dir", tmp.resolve("data-" + dirs).toString()));
    if (!role.equals("control")) {
      argv.addAll(List.of("--host-id", HOST, "--run-dir", tmp.resolve("run-" + dirs).toString()));
    }
    if (!role.equals("agent")) {
      controlClusterPort = FreePort.pick();
      argv.addAll(List.of("--http-port", String.valueOf(gatewayPort), "--cluster-name", clusterName,
          "--cluster-port", String.valueOf(controlClusterPort)));
    }
    if (!role.equals("all") && hasAgentBridge()) {
      Path ca = certificates();
      if (role.equals("control")) {
        bridgePort = FreePort.pick();
        argv.addAll(List.of("--bridge-port", String.valueOf(bridgePort),
            "--bridge-cert", ca.resolve("control/ctl.pem").toString(),
            "--bridge-key", ca.resolve("control/ctl.key").toString(), "--bridge-ca", ca.resolve("ca.pem").toString()));
      } else {
        argv.addAll(List.of("--control-members", "127.0.0.1:" + bridgePort,
            "--bridge-cert", ca.resolve("agents/" + HOST + ".pem").toString(),
            "--bridge-key", ca.resolve("agents/" + HOST + ".key").toString(),
            "--bridge-ca", ca.resolve("ca.pem").toString()));
      }
    } else if (role.equals("agent")) {
      argv.addAll(List.of("--cluster-name", clusterName, "--cluster-port", String.valueOf(FreePort.pick()),
          "--cluster-members", "127.0.0.1:" + controlClusterPort));
    }
    argv.addAll(List.of(extra));
    return spawn(name, ns.exec(argv.toArray(String[]::new)));
  }

  private Boolean agentBridge;

  private boolean hasAgentBridge() {
    if (agentBridge == null) {
      ManagedProcess help = spawn("help", List.of(VIPFARM.toString(), "help"));
      assertThat(help.waitFor(120)).as("vipfarm help:\n%s", help.output()).isZero();
      agentBridge = help.output().contains("--bridge-cert");
    }
    return agentBridge;
  }

  /** A farm CA with a server certificate for the control member at 127.0.0.1 and one for the agent. */
  private Path certificates() {
    Path ca = tmp.resolve("ca");
    if (!Files.exists(ca.resolve("ca.pem"))) {
      for (List<String> args : List.of(List.of("init", "--dir", ca.toString()),
          List.of("issue", "--dir", ca.toString(), "--control", "ctl", "--address", "127.0.0.1"),
          List.of("issue", "--dir", ca.toString(), "--host-id", HOST))) {
        List<String> argv = new ArrayList<>(List.of(VIPFARM.toString(), "ca"));
        argv.addAll(args);
        ManagedProcess step = spawn("ca-" + args.get(0) + "-" + System.nanoTime(), argv);
        assertThat(step.waitFor(60)).as("vipfarm ca %s:\n%s", args, step.output()).isZero();
      }
    }
    return ca;
  }

  private void awaitHealthy(ManagedProcess node) {
    Poll.until("the gateway to be healthy", Duration.ofSeconds(120), () -> {
      assertThat(node.isAlive()).as("%s exited:\n%s", node, node.output()).isTrue();
      return gateway.healthy();
    });
  }

  private void awaitAgent(ManagedProcess agent) {
    Poll.until("the agent of " + HOST + " to serve", Duration.ofSeconds(120), () -> {
      assertThat(agent.isAlive()).as("%s exited:\n%s", agent, agent.output()).isTrue();
      if (!agent.output().contains("host agent of '" + HOST + "' serves")) {
        return false;
      }
      try {
        return gateway.get("/api/v1/hosts/" + HOST + "/sessions").status() == 200;
      } catch (RuntimeException e) {
        return false;
      }
    });
  }

  private void definePoolAndPolicy(boolean vip) {
    assertThat(gateway.put("/api/v1/pools/farm", new JsonObject().put("cidr", VipNamespace.SUBNET)
        // the subnet's machines are never handed out: vipfarm would put a second copy on the host
        .put("exclude", List.of(VipNamespace.HOST_ADDRESS, VipNamespace.NEIGHBOUR_ADDRESS, STALE))
        .put("reservations", new JsonObject().put("dave", FOREIGN))
        .put("leaseSeconds", 60)).status()).isEqualTo(200);
    JsonObject policy = new JsonObject()
        .put("priority", 10)
        .put("match", new JsonObject().put("hosts", List.of("*")).put("users", List.of("*")))
        .put("virtualLoopback", new JsonObject().put("enabled", true).put("programs", List.of("*")))
        .put("virtualIp", new JsonObject().put("enabled", vip).put("mode", "per-session")
            .put("pool", "farm").put("onExhausted", "refuse"));
    GatewayClient.Reply reply = gateway.put("/api/v1/policies/farm", policy);
    assertThat(reply.status()).as("policy: %s", reply.body()).isEqualTo(200);
  }

  private JsonObject startSession(String id, String user) {
    GatewayClient.Reply reply = gateway.post("/api/v1/hosts/" + HOST + "/sessions",
        new JsonObject().put("sessionId", id).put("user", user));
    assertThat(reply.status()).as("start session %s: %s", id, reply.body()).isEqualTo(201);
    return reply.json();
  }

  private static String onlyVip(JsonObject session) {
    JsonArray vips = session.getJsonArray("virtualIps");
    assertThat(vips).as("virtualIps of %s", session).hasSize(1);
    return vips.getJsonObject(0).getString("address");
  }

  private List<String> addressesOnly() {
    return ns.addresses(IF).stream().map(a -> a.substring(0, a.indexOf('/'))).toList();
  }

  /** GET http://ADDRESS:PORT/who.txt from inside the namespace; empty when nothing answers. */
  private String curl(String address, int port) {
    VipNamespace.Result r = ns.run(20, "curl", "-s", "--max-time", "5", "http://" + address + ":" + port + "/who.txt");
    return r.exit() == 0 ? r.output().trim() : "";
  }

  /** SIGKILL to the process (by its PID) and wait for it; returns its exit code. */
  private static int kill9(ManagedProcess process) {
    try {
      new ProcessBuilder("kill", "-9", String.valueOf(process.pid())).inheritIO().start().waitFor();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return process.waitFor(30);
  }

  private ManagedProcess spawn(String name, List<String> argv) {
    ManagedProcess p = ManagedProcess.start(name, argv, Map.of("VIPFARM_ADMIN_TOKEN", token), tmp.resolve("logs"));
    processes.add(p);
    return p;
  }
}
