package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.HostView;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.api.model.VirtualIpView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * The agent on a real (non-clustered) event bus, with small fake policy and allocation services found
 * through Service Discovery, and its rules files in a temporary run dir.
 */
@ExtendWith(VertxExtension.class)
class HostAgentVerticleTest {
  private static final String HOST = "host-a";
  private static final String BOOT = "boot-1";
  private static final String HOST_ADDRESS = "127.1.2.3";
  private static final long LONG_LEASE = 60_000;
  private static final AgentTimings TIMINGS =
      new AgentTimings(Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(5));

  private Vertx vertx;
  private Path runDir;
  private ServiceDiscovery discovery;
  private ServiceLocator locator;
  private HostAgentService agent;
  private FakePolicyService policy;
  private FakeAllocationService allocation;
  private String agentDeployment;
  private final List<VipfarmEvent> events = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp(Vertx vertx, @TempDir Path temp) throws Exception {
    this.vertx = vertx;
    this.runDir = temp.resolve("run");
    discovery = ServiceDiscovery.create(vertx);
    locator = new ServiceLocator(discovery);
    agent = HostAgentService.client(new EventBusClient(vertx, () -> locator.agentAddress(HOST), 5_000));
    await(vertx.eventBus()
        .<Object>consumer(Addresses.EVENTS_SUBMIT, msg -> events.add(EventSink.read(msg.body())))
        .completion());
    policy = new FakePolicyService();
    await(vertx.deployVerticle(policy));
  }

  @AfterEach
  void tearDown() throws Exception {
    // the agent first, so that its last releases still reach the fake allocator
    if (agentDeployment != null && vertx.deploymentIDs().contains(agentDeployment)) {
      await(vertx.undeploy(agentDeployment));
    }
    discovery.close();
  }

  /** Deploys a fake allocator over {@code poolSize} addresses 127.100.0.1.. and then the agent. */
  private void deployAgent(int poolSize, long leaseMillis) throws Exception {
    allocation = new FakeAllocationService(
        IntStream.rangeClosed(1, poolSize).mapToObj(i -> "127.100.0." + i).toList(), leaseMillis);
    await(vertx.deployVerticle(allocation));
    deployAgentOnly();
  }

  private void deployAgentOnly() throws Exception {
    AgentConfig config = new AgentConfig(HOST, BOOT, runDir, List.of(HOST_ADDRESS), AgentConfig.PRELOAD);
    agentDeployment = await(vertx.deployVerticle(new HostAgentVerticle(config, TIMINGS)));
  }

  private static EffectivePolicy perSession(OnExhausted onExhausted) {
    return new EffectivePolicy(true, List.of("*"), List.of(), true, VipMode.PER_SESSION, "default", List.of(),
        onExhausted, false, List.of(), List.of("test"));
  }

  private static EffectivePolicy dedicated(List<String> programs, OnExhausted onExhausted) {
    return new EffectivePolicy(true, List.of("*"), List.of(), true, VipMode.PER_PROGRAM, "default", programs,
        onExhausted, true, List.of(), List.of("test"));
  }

  private Path rulesFile(String sessionId) {
    return runDir.resolve("sessions").resolve(sessionId + ".rules");
  }

  @Test
  @DisplayName("Two sessions get their loopbacks, two distinct VIPs and rules files with the right content")
  void twoSessions() throws Exception {
    policy.answer(perSession(OnExhausted.FALLBACK_HOST_IP));
    deployAgent(4, LONG_LEASE);

    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of("sales"))));
    SessionView eight = await(agent.startSession(new SessionRequest("8", "bob", List.of())));

    assertThat(seven.loopbackAddress()).isEqualTo("127.0.0.8");
    assertThat(eight.loopbackAddress()).isEqualTo("127.0.0.9");
    assertThat(seven.loopbackEnabled()).isTrue();
    assertThat(seven.vipStatus()).isEqualTo("leased");
    assertThat(seven.virtualIps()).hasSize(1);
    assertThat(eight.virtualIps()).hasSize(1);
    String vip7 = seven.virtualIps().get(0).address();
    String vip8 = eight.virtualIps().get(0).address();
    assertThat(vip7).startsWith("127.100.0.").isNotEqualTo(vip8);
    assertThat(seven.virtualIps().get(0).program()).isNull();
    assertThat(seven.rulesFile()).isEqualTo(rulesFile("7").toString());
    assertThat(allocation.acquires).contains(
        new AcquireRequest("default", new LeaseKey(HOST, BOOT, "7", null), "alice"),
        new AcquireRequest("default", new LeaseKey(HOST, BOOT, "8", null), "bob"));

    assertThat(Files.readString(rulesFile("7"))).isEqualTo("""
        vipfarm-rules 1
        session 7
        loopback4 127.0.0.8
        loopback-programs *
        isolation on
        vip4 %s
        vip-programs *
        host-addresses 127.1.2.3
        """.formatted(vip7));
    assertThat(Files.readString(rulesFile("8"))).contains("loopback4 127.0.0.9\n", "vip4 " + vip8 + "\n");

    assertThat(await(agent.listSessions())).extracting(SessionView::sessionId).containsExactly("7", "8");
    assertThat(await(agent.getSession("8"))).isEqualTo(eight);
    HostView host = await(agent.describe());
    assertThat(host).extracting(HostView::hostId, HostView::bootId, HostView::interception, HostView::sessions)
        .containsExactly(HOST, BOOT, "preload", 2);

    awaitCondition("session.started events", () -> events.stream()
        .filter(e -> e.type().equals(VipfarmEvent.SESSION_STARTED)).count() == 2);
    VipfarmEvent started = events.stream()
        .filter(e -> e.type().equals(VipfarmEvent.SESSION_STARTED) && "7".equals(e.sessionId())).findFirst().get();
    assertThat(started.hostId()).isEqualTo(HOST);
    assertThat(started.data()).containsEntry("user", "alice").containsEntry("loopbackAddress", "127.0.0.8");
    assertThat(started.data().get("virtualIps").toString()).contains(vip7);
    assertThat(started.data().get("acquireMillis")).as("acquire time for the latency metric")
        .isInstanceOf(Number.class).satisfies(ms -> assertThat(((Number) ms).doubleValue()).isGreaterThanOrEqualTo(0));
    assertThat(events).anyMatch(e -> e.type().equals(VipfarmEvent.HOST_JOINED) && HOST.equals(e.hostId()));
  }

  @Test
  @DisplayName("Starting a running session again for the same user returns it, also when both starts race")
  void idempotentStart() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, LONG_LEASE);

    Future<SessionView> first = agent.startSession(new SessionRequest("7", "alice", List.of()));
    Future<SessionView> second = agent.startSession(new SessionRequest("7", "alice", List.of()));
    SessionView one = await(first);
    assertThat(await(second)).isEqualTo(one);
    assertThat(await(agent.startSession(new SessionRequest("7", "alice", List.of())))).isEqualTo(one);

    assertThat(allocation.acquires).hasSize(1);
    assertThat(allocation.leases()).hasSize(1);
  }

  @Test
  @DisplayName("Another user starting a running session gets SESSION_EXISTS, also when both starts race")
  void otherUser() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, LONG_LEASE);

    await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    assertThat(failure(agent.startSession(new SessionRequest("7", "bob", List.of()))).type())
        .isEqualTo(ErrorType.SESSION_EXISTS);

    Future<SessionView> alice = agent.startSession(new SessionRequest("9", "alice", List.of()));
    Future<SessionView> bob = agent.startSession(new SessionRequest("9", "bob", List.of()));
    assertThat(await(alice).user()).isEqualTo("alice");
    assertThat(failure(bob).type()).isEqualTo(ErrorType.SESSION_EXISTS);
    assertThat(await(agent.getSession("9")).user()).isEqualTo("alice");
    assertThat(allocation.leases()).hasSize(2);
  }

  @Test
  @DisplayName("Bad session ids and a missing user are INVALID_FIELD, and nothing is leased or written")
  void invalidInput() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, LONG_LEASE);

    for (String id : List.of("-1", "16777215", "abc", "07", "c0", "")) {
      VipfarmException e = failure(agent.startSession(new SessionRequest(id, "alice", List.of())));
      assertThat(e.type()).as(id).isEqualTo(ErrorType.INVALID_FIELD);
      assertThat(e.field()).as(id).isEqualTo("sessionId");
    }
    for (String user : new String[] {null, " "}) {
      VipfarmException e = failure(agent.startSession(new SessionRequest("7", user, List.of())));
      assertThat(e.type()).isEqualTo(ErrorType.INVALID_FIELD);
      assertThat(e.field()).isEqualTo("user");
    }
    assertThat(allocation.acquires).isEmpty();
    assertThat(runDir.resolve("sessions")).doesNotExist();
    assertThat(failure(agent.endSession("abc")).type()).isEqualTo(ErrorType.UNKNOWN_SESSION);
  }

  @Test
  @DisplayName("A session whose loopback another live session uses (16777214 and c1) is refused with CONFLICT")
  void loopbackConflict() throws Exception {
    deployAgent(4, LONG_LEASE);

    SessionView top = await(agent.startSession(new SessionRequest("16777214", "alice", List.of())));
    assertThat(top.loopbackAddress()).isEqualTo("127.255.255.255");
    assertThat(top.vipStatus()).isEqualTo("none");
    VipfarmException e = failure(agent.startSession(new SessionRequest("c1", "bob", List.of())));
    assertThat(e.type()).isEqualTo(ErrorType.CONFLICT);
    assertThat(e.detail()).contains("127.255.255.255", "16777214");

    await(agent.endSession("16777214"));
    assertThat(await(agent.startSession(new SessionRequest("c1", "bob", List.of()))).loopbackAddress())
        .isEqualTo("127.255.255.255");
  }

  @Test
  @DisplayName("An exhausted pool with fallback-host-ip starts the session without a VIP")
  void exhaustedWithFallback() throws Exception {
    policy.answer(perSession(OnExhausted.FALLBACK_HOST_IP));
    deployAgent(1, LONG_LEASE);

    assertThat(await(agent.startSession(new SessionRequest("7", "alice", List.of()))).vipStatus()).isEqualTo("leased");
    SessionView eight = await(agent.startSession(new SessionRequest("8", "bob", List.of())));

    assertThat(eight.vipStatus()).isEqualTo("fallback-host-ip");
    assertThat(eight.virtualIps()).isEmpty();
    assertThat(Files.readString(rulesFile("8"))).contains("loopback4 127.0.0.9").doesNotContain("vip4");
  }

  @Test
  @DisplayName("An exhausted pool with refuse fails POOL_EXHAUSTED and releases what it had acquired")
  void exhaustedWithRefuse() throws Exception {
    policy.answer(dedicated(List.of("softphone", "crm", "mail"), OnExhausted.REFUSE));
    deployAgent(2, LONG_LEASE);

    VipfarmException e = failure(agent.startSession(new SessionRequest("7", "alice", List.of())));

    assertThat(e.type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
    assertThat(allocation.acquires).hasSize(3);
    assertThat(allocation.releases).hasSize(2);
    assertThat(allocation.leases()).isEmpty();
    assertThat(rulesFile("7")).doesNotExist();
    assertThat(failure(agent.getSession("7")).type()).isEqualTo(ErrorType.UNKNOWN_SESSION);
  }

  @Test
  @DisplayName("Dedicated per-program VIPs: one lease per program, keyed by it, one program-vip line each")
  void dedicatedPerProgram() throws Exception {
    policy.answer(dedicated(List.of("softphone", "crm-*"), OnExhausted.REFUSE));
    deployAgent(4, LONG_LEASE);

    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of())));

    assertThat(seven.virtualIps()).extracting(VirtualIpView::program).containsExactly("softphone", "crm-*");
    String rules = Files.readString(rulesFile("7"));
    for (VirtualIpView vip : seven.virtualIps()) {
      assertThat(rules).contains("program-vip " + vip.program() + " " + vip.address() + "\n");
    }
    assertThat(rules).doesNotContain("vip4");
  }

  @Test
  @DisplayName("Without an allocation service the start fails SERVICE_UNAVAILABLE and writes nothing")
  void allocationDown() throws Exception {
    policy.answer(perSession(OnExhausted.FALLBACK_HOST_IP));
    deployAgentOnly();

    assertThat(failure(agent.startSession(new SessionRequest("7", "alice", List.of()))).type())
        .isEqualTo(ErrorType.SERVICE_UNAVAILABLE);
    assertThat(rulesFile("7")).doesNotExist();
    assertThat(await(agent.listSessions())).isEmpty();
  }

  @Test
  @DisplayName("Ending a session removes its rules file, releases its lease and emits session.ended")
  void endSession() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, LONG_LEASE);
    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    assertThat(rulesFile("7")).exists();

    SessionView ended = await(agent.endSession("7"));

    assertThat(ended.virtualIps()).isEqualTo(seven.virtualIps());
    assertThat(rulesFile("7")).doesNotExist();
    assertThat(allocation.releases).singleElement()
        .satisfies(ref -> assertThat(ref.key()).isEqualTo(new LeaseKey(HOST, BOOT, "7", null)));
    assertThat(allocation.leases()).isEmpty();
    assertThat(failure(agent.getSession("7")).type()).isEqualTo(ErrorType.UNKNOWN_SESSION);
    assertThat(failure(agent.endSession("7")).type()).isEqualTo(ErrorType.UNKNOWN_SESSION);
    awaitCondition("session.ended event", () -> events.stream()
        .anyMatch(e -> e.type().equals(VipfarmEvent.SESSION_ENDED) && "7".equals(e.sessionId())));
  }

  @Test
  @DisplayName("Leases are renewed before they expire")
  void renewal() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, 3_000);
    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    long firstExpiry = seven.virtualIps().get(0).expiresAt();

    awaitCondition("two renewals", () -> allocation.renewals.get() >= 2);
    awaitCondition("the session shows the later expiry",
        () -> await(agent.getSession("7")).virtualIps().get(0).expiresAt() > firstExpiry);
    assertThat(allocation.leaseOf(seven.virtualIps().get(0).address())).isPresent();
  }

  @Test
  @DisplayName("A lease the allocator forgot (control plane restarted) is leased again under the same key")
  void forgottenLeaseLeasedAgain() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, 3_000);
    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    String vip = seven.virtualIps().get(0).address();
    int acquiresBefore = allocation.acquires.size();

    allocation.revoke(vip);

    awaitCondition("leased again", () -> allocation.acquires.size() > acquiresBefore
        && allocation.leaseOf(vip).isPresent());
    assertThat(allocation.acquires.get(acquiresBefore).key()).isEqualTo(allocation.leaseOf(vip).get().key());
    awaitCondition("two more renewals of the new lease", () -> allocation.renewals.get() >= 3);
    SessionView after = await(agent.getSession("7"));
    assertThat(after.virtualIps()).extracting(v -> v.address()).containsExactly(vip);
    assertThat(after.vipStatus()).isEqualTo(seven.vipStatus());
    assertThat(readQuietly(rulesFile("7"))).contains("vip4 " + vip + "\n");
  }

  @Test
  @DisplayName("A forgotten lease whose address went to someone else moves the session to another address")
  void forgottenLeaseMoves() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, 3_000);
    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    String vip = seven.virtualIps().get(0).address();

    allocation.giveToAnother(vip);

    awaitCondition("another VIP", () -> {
      List<VirtualIpView> now = await(agent.getSession("7")).virtualIps();
      return now.size() == 1 && !now.get(0).address().equals(vip);
    });
    String moved = await(agent.getSession("7")).virtualIps().get(0).address();
    awaitCondition("rules with the new VIP", () -> readQuietly(rulesFile("7")).contains("vip4 " + moved + "\n"));
    assertThat(allocation.leaseOf(moved).get().key().sessionId()).isEqualTo("7");
  }

  @Test
  @DisplayName("A lease lost for good (address taken, pool empty) is dropped from the session and its rules")
  void lostLease() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(1, 3_000);
    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    assertThat(Files.readString(rulesFile("7"))).contains("vip4 ");

    allocation.giveToAnother(seven.virtualIps().get(0).address());

    awaitCondition("the session without its VIP", () -> await(agent.getSession("7")).virtualIps().isEmpty());
    SessionView after = await(agent.getSession("7"));
    assertThat(after.vipStatus()).isEqualTo("fallback-host-ip");
    awaitCondition("rules without vip4", () -> !readQuietly(rulesFile("7")).contains("vip4"));
    assertThat(readQuietly(rulesFile("7"))).contains("loopback4 127.0.0.8");
  }

  @Test
  @DisplayName("Stopping the agent ends every session: leases released, rules files gone, record withdrawn")
  void stopReleasesEverything() throws Exception {
    policy.answer(perSession(OnExhausted.REFUSE));
    deployAgent(4, LONG_LEASE);
    await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    await(agent.startSession(new SessionRequest("c2", "bob", List.of())));
    assertThat(allocation.leases()).hasSize(2);

    await(vertx.undeploy(agentDeployment));

    assertThat(allocation.leases()).isEmpty();
    assertThat(allocation.releases).hasSize(2);
    assertThat(rulesFile("7")).doesNotExist();
    assertThat(rulesFile("c2")).doesNotExist();
    assertThat(failure(locator.agentAddress(HOST)).type()).isEqualTo(ErrorType.UNKNOWN_HOST);
    awaitCondition("session.ended and host.left events", () ->
        events.stream().filter(e -> e.type().equals(VipfarmEvent.SESSION_ENDED)).count() == 2
            && events.stream().anyMatch(e -> e.type().equals(VipfarmEvent.HOST_LEFT)));
  }

  // ---- helpers

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  private static VipfarmException failure(Future<?> future) throws Exception {
    try {
      Object value = future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure, got " + value);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(VipfarmException.class);
      return (VipfarmException) e.getCause();
    }
  }

  /** Polls {@code condition} every 50 ms for up to 10 s. */
  private static void awaitCondition(String what, ThrowingCondition condition) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!condition.holds()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  @FunctionalInterface
  private interface ThrowingCondition {
    boolean holds() throws Exception;
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (java.io.IOException e) {
      return "";
    }
  }
}
