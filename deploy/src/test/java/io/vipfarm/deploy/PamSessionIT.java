package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PAM path for real: the packaged {@code vipfarm start --sessions pam}, a PAM service file of the
 * test's own in /etc/pam.d (unique name, removed afterwards) with {@code pam_exec.so} running
 * {@code bin/vipfarm session}, driven by {@code pamtester} (Debian package pamtester). Root only.
 */
class PamSessionIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final String HOST = "pam-host";
  private static final String USER = "nobody";

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();
  private final String token = "pam-" + UUID.randomUUID();
  private Path runDir;
  private Path pamService;
  private GatewayClient gateway;
  private ManagedProcess vipfarm;

  @BeforeEach
  void startVipfarm() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "skipped: PAM sessions need root");
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/pamtester")),
        "skipped: pamtester is not installed (Debian package pamtester)");
    runDir = tmp.resolve("run");
    int httpPort = FreePort.pick();
    vipfarm = spawn("vipfarm", List.of(VIPFARM.toString(), "start", "--sessions", "pam",
        "--http-port", String.valueOf(httpPort), "--host-id", HOST,
        "--data-dir", tmp.resolve("data").toString(), "--run-dir", runDir.toString(),
        "--cluster-name", "pam-" + UUID.randomUUID(), "--cluster-port", String.valueOf(FreePort.pick())));
    gateway = new GatewayClient(httpPort, token);
    Poll.until("the gateway to be healthy", Duration.ofSeconds(90), () -> {
      assertThat(vipfarm.isAlive()).as("vipfarm exited early:\n%s", vipfarm.output()).isTrue();
      return gateway.healthy();
    });
    assertThat(gateway.put("/api/v1/pools/default",
        new JsonObject().put("cidr", "127.101.0.0/24").put("leaseSeconds", 60)).status()).isEqualTo(200);
    assertThat(gateway.put("/api/v1/policies/pam", new JsonObject()
        .put("priority", 10)
        .put("match", new JsonObject().put("hosts", List.of("*")).put("users", List.of("*")))
        .put("virtualLoopback", new JsonObject().put("enabled", true).put("programs", List.of("*")))
        .put("virtualIp", new JsonObject().put("enabled", true).put("mode", "per-session").put("pool", "default")))
        .status()).isEqualTo(200);
  }

  @AfterEach
  void stopEverything() throws Exception {
    if (pamService != null) {
      Files.deleteIfExists(pamService);
    }
    List<ManagedProcess> reversed = new ArrayList<>(processes);
    Collections.reverse(reversed);
    reversed.forEach(p -> p.stop(20));
  }

  /** A PAM service of this test's own: permit auth, and the session lines an install adds. */
  private String pamService(String before, String after) throws Exception {
    String name = "vipfarm-test-" + UUID.randomUUID().toString().substring(0, 8);
    pamService = Path.of("/etc/pam.d", name);
    Files.writeString(pamService, String.join("\n",
        "# written by vipfarm's PamSessionIT; removed when the test ends",
        "auth     required pam_permit.so",
        "account  required pam_permit.so",
        before,
        "session  required pam_exec.so " + VIPFARM + " session --run-dir " + runDir,
        after,
        ""));
    return name;
  }

  @Test
  @DisplayName("pamtester open_session starts the session XDG_SESSION_ID names, with the user's groups, its"
      + " loopback and a lease; close_session of the same PAM handle ends it and releases the lease")
  void openAndCloseWithLogindSessionId() throws Exception {
    // pam_env stands in for pam_systemd, which puts XDG_SESSION_ID into the PAM environment at open
    Path env = Files.writeString(tmp.resolve("xdg.conf"), "XDG_SESSION_ID DEFAULT=c41\n");
    // like a login that lasts until the test says so: a later session module holds the open until a
    // file exists (bounded), then the same pamtester (the same PAM handle, as sshd does) closes
    Path loggedIn = tmp.resolve("logout-now");
    Path hold = Files.writeString(tmp.resolve("hold.sh"),
        "for i in $(seq 600); do [ -e " + loggedIn + " ] && exit 0; sleep 0.1; done\n");
    String service = pamService("session  required pam_env.so readenv=0 user_readenv=0 conffile=" + env,
        "session  required pam_exec.so type=open_session /bin/sh " + hold);

    ManagedProcess login = spawn("login", List.of("pamtester", "-v", service, USER, "open_session", "close_session"));
    Poll.until("session c41 to start", Duration.ofSeconds(30), () -> {
      assertThat(login.isAlive()).as("pamtester ended early:\n%s\n%s", login.output(), vipfarm.output()).isTrue();
      return gateway.get("/api/v1/hosts/" + HOST + "/sessions/c41").status() == 200;
    });
    JsonObject view = gateway.get("/api/v1/hosts/" + HOST + "/sessions/c41").json();
    assertThat(view.getString("user")).isEqualTo(USER);
    assertThat(view.getJsonArray("groups").getList()).isEqualTo(groupsOf(USER));
    assertThat(view.getString("loopbackAddress")).isEqualTo("127.255.255.215"); // c41 -> 2^24 - 41
    String vip = view.getJsonArray("virtualIps").getJsonObject(0).getString("address");
    assertThat(vip).startsWith("127.101.0.");
    assertThat(runDir.resolve("sessions/c41.rules")).exists();
    assertThat(gateway.get("/api/v1/allocations?host=" + HOST + "&session=c41").array()).hasSize(1);

    Files.createFile(loggedIn);
    assertThat(login.waitFor(60)).as("pamtester:\n%s", login.output()).isZero();
    assertThat(gateway.get("/api/v1/hosts/" + HOST + "/sessions/c41").status()).isEqualTo(404);
    assertThat(runDir.resolve("sessions/c41.rules")).doesNotExist();
    assertThat(gateway.get("/api/v1/allocations?host=" + HOST + "&session=c41").array()).isEmpty();
  }

  @Test
  @DisplayName("Without XDG_SESSION_ID the session is named by the PAM application's PID, opened and closed")
  void withoutLogindThePamProcessNamesTheSession() throws Exception {
    String service = pamService("", "");
    ManagedProcess both = spawn("both", List.of("pamtester", "-v", service, USER, "open_session", "close_session"));
    assertThat(both.waitFor(60)).as("pamtester:\n%s", both.output()).isZero();
    String id = String.valueOf(both.pid());
    Poll.until("the agent to log the session", Duration.ofSeconds(10), () ->
        vipfarm.output().contains("session '" + id + "' of " + USER + " opened through the control socket")
            && vipfarm.output().contains("session '" + id + "' of " + USER + " closed through the control socket"));
    assertThat(gateway.get("/api/v1/hosts/" + HOST + "/sessions/" + id).status()).isEqualTo(404);
  }

  @Test
  @DisplayName("vipfarm session refuses clearly without an agent socket, a verb or a valid user")
  void refusals() throws Exception {
    ManagedProcess noVerb = spawn("noverb", List.of(VIPFARM.toString(), "session", "--run-dir", runDir.toString()));
    assertThat(noVerb.waitFor(30)).isEqualTo(2);
    assertThat(noVerb.output()).contains("say open or close");
    ManagedProcess noSocket = spawn("nosocket", List.of(VIPFARM.toString(), "session", "open", "--user", USER,
        "--session", "5", "--run-dir", tmp.resolve("elsewhere").toString()));
    assertThat(noSocket.waitFor(30)).isEqualTo(2);
    assertThat(noSocket.output()).contains("no agent control socket");
    ManagedProcess badUser = spawn("baduser", List.of(VIPFARM.toString(), "session", "open", "--user", "a\"b",
        "--session", "5", "--run-dir", runDir.toString()));
    assertThat(badUser.waitFor(30)).isEqualTo(2);
    assertThat(badUser.output()).contains("invalid or missing user");
    ManagedProcess badId = spawn("badid", List.of(VIPFARM.toString(), "session", "open", "--user", USER,
        "--session", "99999999", "--run-dir", runDir.toString()));
    assertThat(badId.waitFor(30)).isEqualTo(1);
    assertThat(badId.output()).contains("(400)").contains("sessionId");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(runDir.resolve("control"))))
        .isEqualTo("rwx------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(runDir.resolve("control/agent.sock"))))
        .isEqualTo("rw-------");
  }

  private static List<String> groupsOf(String user) throws Exception {
    Process id = new ProcessBuilder("id", "-Gn", user).start();
    String out = new String(id.getInputStream().readAllBytes()).strip();
    id.waitFor();
    return List.of(out.split("\\s+"));
  }

  private ManagedProcess spawn(String name, List<String> argv) {
    ManagedProcess p = ManagedProcess.start(name, argv, Map.of("VIPFARM_ADMIN_TOKEN", token), tmp.resolve("logs"));
    processes.add(p);
    return p;
  }
}
