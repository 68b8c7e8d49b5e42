package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vipfarm.agent.session.SessionSourceVerticle;
import io.vipfarm.agent.session.SessionSources;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.Addresses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The logind session source against a real dbus-daemon on a private bus, with a test service speaking
 * logind's D-Bus interface (fake_logind.py), and the real agent (with fake policy and allocation
 * services) writing rules files into a temporary run dir.
 */
@ExtendWith(VertxExtension.class)
class LogindSessionSourceTest {
  private static final String HOST = "host-logind";
  private static final AgentTimings TIMINGS =
      new AgentTimings(Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(5));

  private Vertx vertx;
  private Path runDir;
  private Path busDir;
  private PrivateLogindBus logind;
  private FakeAllocationService allocation;
  private HostAgentService agent;
  private String agentDeployment;
  private String sourceDeployment;

  @BeforeEach
  void setUp(Vertx vertx, @TempDir Path temp) throws Exception {
    String missing = PrivateLogindBus.missing();
    assumeTrue(missing == null, () -> "skipped: " + missing);
    this.vertx = vertx;
    runDir = temp.resolve("run");
    busDir = Files.createDirectories(temp.resolve("bus"));
    logind = PrivateLogindBus.start(busDir);
    FakePolicyService policy = new FakePolicyService();
    policy.answer(new EffectivePolicy(true, List.of("*"), List.of(), true, VipMode.PER_SESSION, "default",
        List.of(), OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of("test")));
    await(vertx.deployVerticle(policy));
    allocation = new FakeAllocationService(
        IntStream.rangeClosed(1, 8).mapToObj(i -> "127.100.0." + i).toList(), 60_000);
    await(vertx.deployVerticle(allocation));
    AgentConfig config = new AgentConfig(HOST, "boot-1", runDir, List.of("127.1.2.3"), AgentConfig.PRELOAD);
    agentDeployment = await(vertx.deployVerticle(new HostAgentVerticle(config, TIMINGS)));
    agent = HostAgentService.client(EventBusClient.fixed(vertx, Addresses.agent(HOST)));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (vertx != null) {
      if (sourceDeployment != null && vertx.deploymentIDs().contains(sourceDeployment)) {
        await(vertx.undeploy(sourceDeployment));
      }
      if (agentDeployment != null && vertx.deploymentIDs().contains(agentDeployment)) {
        await(vertx.undeploy(agentDeployment));
      }
    }
    if (logind != null) {
      logind.close();
    }
  }

  private void deploySource() throws Exception {
    SessionSources sources = new SessionSources(true, false, logind.address(), Set.of("user"));
    sourceDeployment = await(vertx.deployVerticle(
        new SessionSourceVerticle(HOST, runDir, sources, Duration.ofMillis(200))));
  }

  private Path rulesFile(String sessionId) {
    return runDir.resolve("sessions").resolve(sessionId + ".rules");
  }

  private List<String> sessionIds() throws Exception {
    return await(agent.listSessions()).stream().map(SessionView::sessionId).sorted().toList();
  }

  private List<String> leasedSessions() {
    return allocation.leases().stream().map(Lease::key).map(k -> k.sessionId()).sorted().toList();
  }

  @Test
  @DisplayName("Sessions logind already has and new ones start with user, groups, loopback, rules and a lease;"
      + " SessionRemoved ends them; greeter sessions are not followed")
  void followsLogind() throws Exception {
    logind.command("quiet-new c1 0 root user login");
    logind.command("quiet-new c2 65534 nobody greeter lightdm");
    deploySource();

    awaitCondition("session c1 started from ListSessions", () -> sessionIds().equals(List.of("c1")));
    SessionView c1 = await(agent.getSession("c1"));
    assertThat(c1.user()).isEqualTo("root");
    assertThat(c1.groups()).contains("root");
    assertThat(c1.loopbackAddress()).isEqualTo("127.255.255.255");
    assertThat(c1.virtualIps()).hasSize(1);
    assertThat(Files.readString(rulesFile("c1"))).contains("127.255.255.255");
    assertThat(leasedSessions()).containsExactly("c1");

    logind.command("new 3 65534 nobody user sshd");
    awaitCondition("session 3 started on SessionNew", () -> sessionIds().equals(List.of("3", "c1")));
    SessionView three = await(agent.getSession("3"));
    assertThat(three.user()).isEqualTo("nobody");
    assertThat(three.groups()).isEqualTo(groupsOf("nobody"));
    assertThat(three.loopbackAddress()).isEqualTo("127.0.0.4");
    assertThat(Files.readString(rulesFile("3"))).contains("127.0.0.4");
    assertThat(leasedSessions()).containsExactly("3", "c1");

    logind.command("remove 3");
    awaitCondition("session 3 ended on SessionRemoved", () -> sessionIds().equals(List.of("c1")));
    assertThat(rulesFile("3")).doesNotExist();
    assertThat(leasedSessions()).containsExactly("c1");

    // a login and logout in quick succession ends with the session ended, whatever order D-Bus delivers
    logind.command("new 4 0 root user sshd");
    logind.command("remove 4");
    logind.command("new 5 0 root user sshd");
    awaitCondition("session 5 started", () -> sessionIds().equals(List.of("5", "c1")));
    Thread.sleep(300); // nothing late may start session 4 after this
    assertThat(sessionIds()).containsExactly("5", "c1");
    assertThat(rulesFile("4")).doesNotExist();
  }

  @Test
  @DisplayName("A session whose start met an unavailable allocation service is started again, not left unenforced")
  void retriesAStartTheControlPlaneRefusedForAMoment() throws Exception {
    deploySource();
    allocation.unavailableAcquires.set(2);
    logind.command("new 7 0 root user sshd");
    awaitCondition("session 7 started after two refused acquires", () -> sessionIds().equals(List.of("7")));
    assertThat(allocation.unavailableAcquires.get()).isZero();
    assertThat(leasedSessions()).containsExactly("7");
    assertThat(Files.readString(rulesFile("7"))).contains("127.0.0.8");
  }

  @Test
  @DisplayName("After the source was away, sessions logind removed meanwhile end and new ones start")
  void reconcilesAfterRestart() throws Exception {
    logind.command("quiet-new 7 0 root user sshd");
    deploySource();
    awaitCondition("session 7 started", () -> sessionIds().equals(List.of("7")));

    await(vertx.undeploy(sourceDeployment));
    logind.command("quiet-remove 7");
    logind.command("quiet-new 8 0 root user sshd");
    // a session logind never had (started through the API): logind is the authority on this host
    await(agent.startSession(new SessionRequest("9", "root", List.of())));
    assertThat(sessionIds()).containsExactly("7", "9");

    deploySource();
    awaitCondition("7 and 9 ended, 8 started", () -> sessionIds().equals(List.of("8")));
    assertThat(rulesFile("7")).doesNotExist();
    assertThat(rulesFile("9")).doesNotExist();
    assertThat(Files.readString(rulesFile("8"))).contains("127.0.0.9");
    assertThat(leasedSessions()).containsExactly("8");
  }

  @Test
  @DisplayName("When the system bus goes away and comes back, the source reconnects and catches up")
  void reconnects() throws Exception {
    logind.command("quiet-new 3 0 root user sshd");
    deploySource();
    awaitCondition("session 3 started", () -> sessionIds().equals(List.of("3")));

    logind.close(); // dbus-daemon and logind stop: the connection breaks
    Thread.sleep(500);
    assertThat(sessionIds()).as("sessions stay while logind cannot be asked").containsExactly("3");
    logind = PrivateLogindBus.start(busDir);
    logind.command("quiet-new 4 0 root user sshd");
    awaitCondition("3 ended and 4 started after the reconnect", () -> sessionIds().equals(List.of("4")));
    logind.command("new 6 0 root user sshd");
    awaitCondition("signals are followed again", () -> sessionIds().equals(List.of("4", "6")));
  }

  private static List<String> groupsOf(String user) throws Exception {
    Process id = new ProcessBuilder("id", "-Gn", user).start();
    String out = new String(id.getInputStream().readAllBytes()).strip();
    id.waitFor();
    return List.of(out.split("\\s+"));
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  @FunctionalInterface
  private interface Condition {
    boolean holds() throws Exception;
  }

  private static void awaitCondition(String what, Condition condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }
}
