package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.model.VipfarmEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
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
 * A policy change reaches live sessions: the agent reacts to {@code policy.changed} on the event bus by
 * re-resolving each session's policy, re-leasing when its VIP settings changed, and rewriting its rules
 * file within a second (the shim then re-reads it; tests/integration.sh proves that part with a running
 * process). Real event bus, fake policy and allocation services, rules in a temporary run dir.
 */
@ExtendWith(VertxExtension.class)
class PolicyChangeTest {
  private static final String HOST = "host-p";
  private static final AgentTimings TIMINGS =
      new AgentTimings(Duration.ofSeconds(2), Duration.ofMillis(200), Duration.ofSeconds(5));

  private Vertx vertx;
  private Path runDir;
  private ServiceDiscovery discovery;
  private HostAgentService agent;
  private FakePolicyService policy;
  private FakeAllocationService allocation;
  private String agentDeployment;

  @BeforeEach
  void setUp(Vertx vertx, @TempDir Path temp) throws Exception {
    this.vertx = vertx;
    runDir = temp.resolve("run");
    discovery = ServiceDiscovery.create(vertx);
    ServiceLocator locator = new ServiceLocator(discovery);
    agent = HostAgentService.client(new EventBusClient(vertx, () -> locator.agentAddress(HOST), 5_000));
    policy = new FakePolicyService();
    await(vertx.deployVerticle(policy));
    allocation = new FakeAllocationService(
        IntStream.rangeClosed(1, 6).mapToObj(i -> "127.100.0." + i).toList(), 60_000);
    await(vertx.deployVerticle(allocation));
  }

  @AfterEach
  void tearDown() throws Exception {
    if (agentDeployment != null) {
      await(vertx.undeploy(agentDeployment));
    }
    discovery.close();
  }

  private void deployAgent() throws Exception {
    AgentConfig config = new AgentConfig(HOST, "boot-p", runDir, List.of("127.1.2.3"), AgentConfig.PRELOAD);
    agentDeployment = await(vertx.deployVerticle(new HostAgentVerticle(config, TIMINGS)));
  }

  private static EffectivePolicy policy(List<String> loopbackPrograms, List<Integer> excluded, VipMode mode,
      List<String> vipPrograms, boolean dedicated, List<String> preferLoopback) {
    return new EffectivePolicy(true, loopbackPrograms, excluded, true, mode, "default", vipPrograms,
        OnExhausted.FALLBACK_HOST_IP, dedicated, preferLoopback, List.of("test"));
  }

  private String rules(String sessionId) throws Exception {
    return Files.readString(runDir.resolve("sessions").resolve(sessionId + ".rules"));
  }

  private void publishPolicyChanged() {
    vertx.eventBus().publish(Addresses.EVENTS, Json.toJson(new VipfarmEvent(
        1, VipfarmEvent.POLICY_CHANGED, System.currentTimeMillis(), null, null,
        Map.of("name", "everyone", "change", "put"))));
  }

  /** Polls (every 20 ms, at most `limit`) until the rules file holds `expected`; returns the time taken. */
  private void awaitRulesContaining(String sessionId, Duration limit, String... lines) throws Exception {
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline && !List.of(lines).stream().allMatch(rules(sessionId)::contains)) {
      Thread.sleep(20);
    }
    assertThat(rules(sessionId)).as("rules of session %s after %s", sessionId, limit).contains(lines);
  }

  private long awaitRules(String sessionId, String expected, Duration limit) throws Exception {
    long start = System.nanoTime();
    long deadline = start + limit.toNanos();
    String last = null;
    while (System.nanoTime() < deadline) {
      last = rules(sessionId);
      if (last.equals(expected)) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      }
      Thread.sleep(20);
    }
    assertThat(last).as("rules of session %s after %s", sessionId, limit).isEqualTo(expected);
    return -1;
  }

  @Test
  @DisplayName("policy.changed: new program lists, prefer-loopback and excluded ports reach the rules file"
      + " within a second; the VIP lease is kept")
  void programListsChange() throws Exception {
    policy.answer(policy(List.of("*"), List.of(), VipMode.PER_SESSION, List.of(), false, List.of()));
    deployAgent();
    await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    await(agent.startSession(new SessionRequest("8", "bob", List.of())));
    String vip7 = await(agent.getSession("7")).virtualIps().get(0).address();
    assertThat(rules("7")).contains("loopback-programs *\n", "vip4 " + vip7 + "\n");
    int acquiresBefore = allocation.acquires.size();

    policy.answer(policy(List.of("python3*", "node"), List.of(5432), VipMode.PER_SESSION, List.of(), false,
        List.of("curl")));
    publishPolicyChanged();

    long ms = awaitRules("7", """
        vipfarm-rules 1
        session 7
        loopback4 127.0.0.8
        loopback-programs python3* node
        isolation on
        excluded-ports 5432
        vip4 %s
        vip-programs *
        prefer-loopback curl
        host-addresses 127.1.2.3
        """.formatted(vip7), Duration.ofSeconds(1));
    assertThat(ms).isLessThan(1000);
    // session 8's file is rewritten in the same pass, but not necessarily before session 7's
    awaitRulesContaining("8", Duration.ofSeconds(1), "loopback-programs python3* node\n", "prefer-loopback curl\n");
    assertThat(allocation.acquires).hasSize(acquiresBefore);
    assertThat(allocation.releases).isEmpty();
    assertThat(await(agent.getSession("7")).virtualIps().get(0).address()).isEqualTo(vip7);
  }

  @Test
  @DisplayName("policy.changed: per-session -> per-program with a dedicated address per program re-leases"
      + " within a second; back to no VIP releases them; other events change nothing")
  void vipSettingsChange() throws Exception {
    policy.answer(policy(List.of("*"), List.of(), VipMode.PER_SESSION, List.of(), false, List.of()));
    deployAgent();
    await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    assertThat(await(agent.getSession("7")).virtualIps()).hasSize(1);

    policy.answer(policy(List.of("*"), List.of(), VipMode.PER_PROGRAM, List.of("java", "node*"), true,
        List.of()));
    // an unrelated event first: nothing happens until policy.changed
    vertx.eventBus().publish(Addresses.EVENTS, Json.toJson(new VipfarmEvent(
        1, VipfarmEvent.SESSION_STARTED, System.currentTimeMillis(), HOST, "9", Map.of())));
    publishPolicyChanged();

    long start = System.nanoTime();
    List<io.vipfarm.api.model.VirtualIpView> vips = List.of();
    while (System.nanoTime() - start < TimeUnit.SECONDS.toNanos(1) && vips.size() != 2) {
      vips = await(agent.getSession("7")).virtualIps();
      Thread.sleep(20);
    }
    assertThat(vips).extracting(v -> v.program()).containsExactlyInAnyOrder("java", "node*");
    String java = vips.stream().filter(v -> "java".equals(v.program())).findFirst().orElseThrow().address();
    String node = vips.stream().filter(v -> "node*".equals(v.program())).findFirst().orElseThrow().address();
    assertThat(java).isNotEqualTo(node);
    awaitRules("7", """
        vipfarm-rules 1
        session 7
        loopback4 127.0.0.8
        loopback-programs *
        isolation on
        program-vip java %s
        program-vip node* %s
        host-addresses 127.1.2.3
        """.formatted(java, node), Duration.ofSeconds(1));
    // the dropped session-wide lease is released only once the shim has had time to read the new rules
    assertThat(allocation.releases).isEmpty();
    awaitReleases(1);
    assertThat(allocation.leases()).extracting(l -> l.address()).containsExactlyInAnyOrder(java, node);
    assertThat(await(agent.getSession("7")).vipStatus()).isEqualTo("leased");

    EffectivePolicy noVip = new EffectivePolicy(true, List.of("*"), List.of(), false, VipMode.PER_SESSION,
        "default", List.of(), OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of("test"));
    policy.answer(noVip);
    publishPolicyChanged();
    awaitRules("7", """
        vipfarm-rules 1
        session 7
        loopback4 127.0.0.8
        loopback-programs *
        isolation on
        host-addresses 127.1.2.3
        """, Duration.ofSeconds(1));
    awaitReleases(3);
    assertThat(allocation.leases()).isEmpty();
    assertThat(await(agent.getSession("7")).vipStatus()).isEqualTo("none");
  }

  private void awaitReleases(int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HostAgent.RULES_RELOAD_GRACE_MS + 5_000);
    while (System.nanoTime() < deadline && allocation.releases.size() < count) {
      Thread.sleep(20);
    }
    assertThat(allocation.releases).hasSize(count);
  }

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
}
