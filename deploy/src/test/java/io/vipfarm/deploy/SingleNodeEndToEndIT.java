package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The product's core job, end to end, as a user runs it: the packaged {@code bin/vipfarm start},
 * the gateway over real HTTP, and real programs (python3 http.server, curl) under
 * {@code vipfarm exec} with real sockets. Only 127.0.0.0/8 addresses are used. Each scenario runs on
 * both enforcement paths: preload (the shim) and kernel (cgroup BPF hooks; root, skipped elsewhere),
 * the kernel run with a cgroup parent, pin dir and IPv6 prefix of its own, checked clean afterwards.
 */
class SingleNodeEndToEndIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final String HOST = "e2e-host";

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final String token = "e2e-" + UUID.randomUUID();
  private Path runDir;
  private GatewayClient gateway;
  private ManagedProcess vipfarm;
  private int httpPort;

  private String mode;
  private KernelPathFixture kernel;

  private void startVipfarm(String mode) throws Exception {
    this.mode = mode;
    List<String> argv = new ArrayList<>(List.of(VIPFARM.toString(), "start",
        "--http-port", String.valueOf(httpPort = FreePort.pick()),
        "--host-id", HOST,
        "--data-dir", tmp.resolve("data").toString(),
        "--run-dir", (runDir = tmp.resolve("run")).toString(),
        "--cluster-name", "e2e-" + UUID.randomUUID(),
        "--cluster-port", String.valueOf(FreePort.pick())));
    Map<String, String> env = Map.of();
    if (mode.equals("kernel")) {
      kernel = KernelPathFixture.require();
      argv.addAll(kernel.startOptions());
      env = kernel.environment();
    } else {
      argv.addAll(List.of("--interception", "preload", "--loopback6-prefix", KernelPathFixture.randomLoopback6Prefix()));
    }
    vipfarm = spawn("vipfarm", argv, env);
    gateway = new GatewayClient(httpPort, token);
    Poll.until("the gateway to be healthy", Duration.ofSeconds(90), () -> {
      assertThat(vipfarm.isAlive()).as("vipfarm exited early:\n%s", vipfarm.output()).isTrue();
      return gateway.healthy();
    });
    JsonObject host = gateway.get("/api/v1/hosts").array().getJsonObject(0);
    assertThat(host.getString("interception")).as("host %s", host).isEqualTo(mode);
    assertThat(host.getString("interceptionReason")).as("host %s", host).contains(mode);
  }

  @AfterEach
  void stopEverything() throws Exception {
    List<ManagedProcess> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed);
    reversed.forEach(p -> p.stop(20));
    if (kernel != null) {
      kernel.cleanUp();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"preload", "kernel"})
  @DisplayName("two sessions on one host get their own loopback and VIP, enforced on real sockets")
  void twoSessionsOnOneHost(String mode) throws Exception {
    startVipfarm(mode);
    // 1. a pool and a policy: virtual loopback for all programs, a per-session VIP from 'default'.
    //    Per design.md §3, 127.0.0.1 goes to the VIP when a program has both, unless the program
    //    prefers loopback: the servers and clients of step 4 do.
    assertThat(gateway.put("/api/v1/pools/default",
        new JsonObject().put("cidr", "127.100.0.0/24").put("leaseSeconds", 60)).status()).isEqualTo(200);
    JsonObject policy = new JsonObject()
        .put("priority", 10)
        .put("match", new JsonObject().put("hosts", List.of("*")).put("users", List.of("*")))
        .put("virtualLoopback", new JsonObject().put("enabled", true).put("programs", List.of("*")))
        .put("virtualIp", new JsonObject().put("enabled", true).put("mode", "per-session")
            .put("pool", "default").put("onExhausted", "refuse"))
        .put("preferLoopback", new JsonObject().put("processes", List.of("python3*", "curl")));
    assertThat(gateway.put("/api/v1/policies/e2e", policy).status()).isEqualTo(200);

    // 2. sessions 7 (alice) and 8 (bob): loopbacks 127.0.0.8 and 127.0.0.9, two distinct VIPs.
    JsonObject s7 = startSession("7", "alice");
    JsonObject s8 = startSession("8", "bob");
    assertThat(s7.getString("loopbackAddress")).isEqualTo("127.0.0.8");
    assertThat(s8.getString("loopbackAddress")).isEqualTo("127.0.0.9");
    String vip7 = onlyVip(s7);
    String vip8 = onlyVip(s8);
    assertThat(vip7).startsWith("127.100.0.").isNotEqualTo(vip8);
    assertThat(vip8).startsWith("127.100.0.");
    if (kernel != null) {
      assertThat(kernel.mapEntries()).as("one map entry per session").containsExactlyInAnyOrder(
          KernelPathFixture.cgroupId(kernel.sessionCgroup("7")), KernelPathFixture.cgroupId(kernel.sessionCgroup("8")));
    }

    JsonArray allocations = gateway.get("/api/v1/allocations?host=" + HOST).array();
    assertThat(addressesBySession(allocations)).containsExactlyInAnyOrderEntriesOf(Map.of("7", vip7, "8", vip8));
    assertThat(allocations.getJsonObject(0).getString("pool")).isEqualTo("default");
    assertThat(allocations.getJsonObject(0).getString("expiresAt")).isNotBlank();

    // The consistency check (vipfarm check -> GET /api/v1/allocations/check) finds nothing wrong.
    ManagedProcess check = spawn("check", List.of(VIPFARM.toString(), "check", "--gateway", "http://127.0.0.1:" + httpPort));
    assertThat(check.waitFor(120)).as("vipfarm check:\n%s", check.output()).isZero();

    // 3. the same server on the same port and 0.0.0.0 in both sessions: each runs, on its own VIP.
    int port = FreePort.pick();
    Path www7 = site("7");
    Path www8 = site("8");
    ManagedProcess web7 = inSession("7", "web7", "python3", "-m", "http.server", String.valueOf(port), "--bind", "0.0.0.0", "--directory", www7.toString());
    ManagedProcess web8 = inSession("8", "web8", "python3", "-m", "http.server", String.valueOf(port), "--bind", "0.0.0.0", "--directory", www8.toString());
    awaitListening(web7, vip7, port);
    awaitListening(web8, vip8, port);
    assertThat(web7.isAlive()).as("session 7 server:\n%s", web7.output()).isTrue();
    assertThat(web8.isAlive()).as("session 8 server:\n%s", web8.output()).isTrue();
    assertThat(httpGet(vip7, port)).isEqualTo("session 7");
    assertThat(httpGet(vip8, port)).isEqualTo("session 8");

    // 4. a server on 127.0.0.1:PORT2 in each session lands on the session's loopback, and a client
    //    in each session reaches its own session's server through 127.0.0.1.
    int port2 = FreePort.pick();
    ManagedProcess lo7 = inSession("7", "lo7", "python3", "-m", "http.server", String.valueOf(port2), "--bind", "127.0.0.1", "--directory", www7.toString());
    ManagedProcess lo8 = inSession("8", "lo8", "python3", "-m", "http.server", String.valueOf(port2), "--bind", "127.0.0.1", "--directory", www8.toString());
    awaitLoopbackListening(lo7, "127.0.0.8", port2);
    awaitLoopbackListening(lo8, "127.0.0.9", port2);
    assertThat(canConnect("127.0.0.1", port2)).as("nothing listens on the real 127.0.0.1").isFalse();
    assertThat(curlInSession("7", port2)).isEqualTo("session 7");
    assertThat(curlInSession("8", port2)).isEqualTo("session 8");
    if (kernel != null) {
      assertThat(KernelPathFixture.cgroupOf(lo7.pid())).endsWith("/session-7");
    }

    // 4b. programs the shim cannot see: one started with a cleared environment (no LD_PRELOAD, no
    //     VIPFARM_SESSION) binds 127.0.0.1. The kernel path still puts it on the session's loopback;
    //     the preload path alone cannot (it really binds the shared 127.0.0.1).
    int port3 = FreePort.pick();
    ManagedProcess bare = inSession("8", "bare8", "env", "-i", "/usr/bin/python3", "-m", "http.server",
        String.valueOf(port3), "--bind", "127.0.0.1", "--directory", www8.toString());
    awaitLoopbackListening(bare, kernel != null ? "127.0.0.9" : "127.0.0.1", port3);

    // 4b'. ::1 is loopback too (kernel path): a server on [::1]:PORT2 next to the one on 127.0.0.1:PORT2 lands on
    //      session 7's IPv6 loopback, and curl in session 7 reaches it through [::1]
    if (kernel != null) {
      java.net.InetAddress v6of7 = java.net.InetAddress.getByName(kernel.loopback6Prefix.replace("::/64", "::8"));
      ManagedProcess six7 = inSession("7", "six7", "python3", "-m", "http.server", String.valueOf(port2), "--bind",
          "::1", "--directory", www7.toString());
      Poll.until(six7 + " to listen on [" + v6of7.getHostAddress() + "]:" + port2, Duration.ofSeconds(30), () -> {
        assertThat(six7.isAlive()).as("%s exited:\n%s", six7, six7.output()).isTrue();
        return ListeningSockets.ipv6(port2).contains(v6of7);
      });
      ManagedProcess curl6 = inSession("7", "curl6", "curl", "-s", "--max-time", "10",
          "http://[::1]:" + port2 + "/who.txt");
      assertThat(curl6.waitFor(30)).as("curl [::1] in session 7:\n%s", curl6.output()).isZero();
      assertThat(curl6.output().trim()).isEqualTo("session 7");
    }

    // 4c. loopback isolation (kernel path, on by default): a program of session 8 that names session
    //     7's loopback explicitly is refused; without the kernel path it gets through.
    ManagedProcess cross = inSession("8", "cross8", "curl", "-s", "--max-time", "10",
        "http://127.0.0.8:" + port2 + "/who.txt");
    int crossExit = cross.waitFor(30);
    if (kernel != null) {
      assertThat(crossExit).as("curl exit (7: connection refused):\n%s", cross.output()).isEqualTo(7);
    } else {
      assertThat(crossExit).as(cross.output()).isZero();
      assertThat(cross.output().trim()).isEqualTo("session 7");
    }
    // a malformed isolation setting is refused naming the field; turning isolation off by policy lets
    // session 8 through (a map update: the running servers are not restarted)
    GatewayClient.Reply bad = gateway.put("/api/v1/policies/open", new JsonObject().put("priority", 20)
        .put("loopbackIsolation", new JsonObject().put("allowUsers", List.of("root", "bad user"))));
    assertThat(bad.status()).as(bad.body()).isEqualTo(400);
    assertThat(bad.json().getString("field")).isEqualTo("loopbackIsolation.allowUsers[1]");
    assertThat(gateway.put("/api/v1/policies/open", new JsonObject().put("priority", 20)
        .put("loopbackIsolation", new JsonObject().put("enabled", false))).status()).isEqualTo(200);
    Poll.until("session 8 to reach session 7's loopback with isolation off", Duration.ofSeconds(20), () -> {
      ManagedProcess again = inSession("8", "cross8-" + System.nanoTime(), "curl", "-s", "--max-time", "5",
          "http://127.0.0.8:" + port2 + "/who.txt");
      return again.waitFor(30) == 0 && again.output().trim().equals("session 7");
    });

    // 5. ending session 7 removes its allocation (and its rules); session 8 keeps its own.
    assertThat(gateway.delete("/api/v1/hosts/" + HOST + "/sessions/7").status()).isEqualTo(204);
    assertThat(addressesBySession(gateway.get("/api/v1/allocations?host=" + HOST).array()))
        .containsExactlyEntriesOf(Map.of("8", vip8));
    assertThat(gateway.get("/api/v1/hosts/" + HOST + "/sessions/7").status()).isEqualTo(404);
    assertThat(runDir.resolve("sessions/7.rules")).doesNotExist();
    assertThat(runDir.resolve("sessions/8.rules")).exists();
    if (kernel != null) {
      assertThat(kernel.mapEntries()).containsExactly(KernelPathFixture.cgroupId(kernel.sessionCgroup("8")));
      assertThat(kernel.sessionCgroup("7")).doesNotExist();
      assertThat(runDir.resolve("sessions/7.cgroup")).doesNotExist();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"preload", "kernel"})
  @DisplayName("SIGTERM ends the host's sessions, releases their leases and exits cleanly")
  void sigtermReleasesLeases(String mode) throws Exception {
    startVipfarm(mode);
    gateway.put("/api/v1/pools/default", new JsonObject().put("cidr", "127.100.1.0/24"));
    gateway.put("/api/v1/policies/all", new JsonObject().put("priority", 1)
        .put("virtualLoopback", new JsonObject().put("enabled", true))
        .put("virtualIp", new JsonObject().put("enabled", true).put("pool", "default")));
    startSession("21", "carol");
    assertThat(runDir.resolve("sessions/21.rules")).exists();

    int exit = vipfarm.stop(30);

    assertThat(exit).as("exit code; output:\n%s", vipfarm.output()).isIn(0, 143);
    assertThat(runDir.resolve("sessions/21.rules")).doesNotExist();
    assertThat(vipfarm.output()).contains("vipfarm stopped");
    if (kernel != null) {
      assertThat(kernel.pinDir).as("programs unpinned").doesNotExist();
      assertThat(kernel.cgroupParent).as("sessions' parent cgroup removed").doesNotExist();
    }
  }

  private JsonObject startSession(String id, String user) {
    GatewayClient.Reply reply = gateway.post("/api/v1/hosts/" + HOST + "/sessions",
        new JsonObject().put("sessionId", id).put("user", user).put("groups", List.of("staff")));
    assertThat(reply.status()).as("start session %s: %s", id, reply.body()).isEqualTo(201);
    return reply.json();
  }

  private static String onlyVip(JsonObject session) {
    JsonArray vips = session.getJsonArray("virtualIps");
    assertThat(vips).as("virtualIps of %s", session).hasSize(1);
    assertThat(vips.getJsonObject(0).getString("program")).isNull();
    return vips.getJsonObject(0).getString("address");
  }

  private static Map<String, String> addressesBySession(JsonArray allocations) {
    return allocations.stream()
        .map(JsonObject.class::cast)
        .collect(Collectors.toMap(a -> a.getString("sessionId"), a -> a.getString("address")));
  }

  private Path site(String session) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve("www" + session));
    Files.writeString(dir.resolve("who.txt"), "session " + session);
    return dir;
  }

  private ManagedProcess inSession(String session, String name, String... command) {
    List<String> argv = new ArrayList<>(List.of(VIPFARM.toString(), "exec", "--session", session, "--run-dir", runDir.toString(), "--"));
    argv.addAll(List.of(command));
    return spawn(name, argv);
  }

  private String curlInSession(String session, int port) {
    ManagedProcess curl = inSession(session, "curl" + session + "-" + System.nanoTime(),
        "curl", "-s", "--max-time", "10", "http://127.0.0.1:" + port + "/who.txt");
    assertThat(curl.waitFor(30)).as("curl in session %s:\n%s", session, curl.output()).isZero();
    return curl.output().trim();
  }

  private ManagedProcess spawn(String name, List<String> argv) {
    return spawn(name, argv, Map.of());
  }

  private ManagedProcess spawn(String name, List<String> argv, Map<String, String> env) {
    Map<String, String> all = new java.util.HashMap<>(env);
    all.put("VIPFARM_ADMIN_TOKEN", token);
    ManagedProcess p = ManagedProcess.start(name, argv, all, tmp.resolve("logs"));
    processes.add(p);
    return p;
  }

  /**
   * Waits until {@code server} listens on exactly {@code address}:{@code port} (/proc/net/tcp): on the kernel
   * path a process outside the session may be refused a loopback connection, so this does not connect.
   */
  private static void awaitLoopbackListening(ManagedProcess server, String address, int port) {
    Poll.until(server + " to listen on " + address + ":" + port, Duration.ofSeconds(30), () -> {
      assertThat(server.isAlive()).as("%s exited:\n%s", server, server.output()).isTrue();
      return ListeningSockets.ipv4(port).contains(address);
    });
  }

  private static void awaitListening(ManagedProcess server, String address, int port) {
    Poll.until(server + " to listen on " + address + ":" + port, Duration.ofSeconds(30), () -> {
      assertThat(server.isAlive()).as("%s exited:\n%s", server, server.output()).isTrue();
      return canConnect(address, port);
    });
  }

  private static boolean canConnect(String address, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address, port), 500);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static String httpGet(String address, int port) throws Exception {
    HttpResponse<String> r = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://" + address + ":" + port + "/who.txt")).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return r.body().trim();
  }
}
