package io.vipfarm.policy;

import static io.vipfarm.policy.Policies.designExample;
import static io.vipfarm.policy.Policies.excludedPorts;
import static io.vipfarm.policy.Policies.named;
import static io.vipfarm.policy.Policies.vipEnabled;
import static io.vipfarm.policy.Policies.withLoopback;
import static io.vipfarm.policy.Policies.withMatch;
import static io.vipfarm.policy.Policies.withPriority;
import static io.vipfarm.policy.Policies.withVip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PolicyDocument.Match;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.api.model.VipMode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The deployed verticle, called through the event-bus client the other services use. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PolicyVerticleTest {
  private static HazelcastInstance hazelcast;

  private Vertx vertx;
  private PolicyService policies;
  private final BlockingQueue<VipfarmEvent> events = new LinkedBlockingQueue<>();

  @BeforeAll
  static void startHazelcast() {
    hazelcast = StandaloneHazelcast.start();
  }

  @AfterAll
  static void stopHazelcast() {
    hazelcast.shutdown();
  }

  @BeforeEach
  void deploy() {
    hazelcast.getMap(HazelcastPolicyService.MAP_NAME).clear();
    vertx = Vertx.vertx();
    vertx.eventBus().<Object>consumer(Addresses.EVENTS_SUBMIT,
        msg -> events.add(EventSink.read(msg.body()))).completion().await();
    vertx.deployVerticle(new PolicyVerticle(hazelcast)).await();
    policies = PolicyService.client(EventBusClient.fixed(vertx, Addresses.POLICY));
  }

  @AfterEach
  void close() {
    vertx.close().await();
  }

  @Test
  @DisplayName("a stored policy is returned by get and list, exactly as put")
  void putGetList() {
    PolicyDocument sales = designExample("sales");
    PolicyDocument devs = withMatch(withPriority(named("devs"), 20), new Match(null, null, List.of("dev*")));

    assertThat(policies.put(sales).await()).isEqualTo(sales);
    policies.put(devs).await();

    assertThat(policies.get("sales").await()).isEqualTo(sales);
    assertThat(policies.list().await()).containsExactly(devs, sales);
  }

  @Test
  @DisplayName("put replaces a policy of the same name")
  void putReplaces() {
    policies.put(designExample("sales")).await();
    PolicyDocument replacement = withVip(named("sales"), vipEnabled(false));

    policies.put(replacement).await();

    assertThat(policies.get("sales").await()).isEqualTo(replacement);
    assertThat(policies.list().await()).hasSize(1);
  }

  @Test
  @DisplayName("delete removes a policy; get and delete of a missing policy fail UNKNOWN_POLICY")
  void deleteAndUnknown() {
    policies.put(designExample("sales")).await();

    policies.delete("sales").await();

    assertThat(failure(() -> policies.get("sales").await()).type()).isEqualTo(ErrorType.UNKNOWN_POLICY);
    assertThat(failure(() -> policies.delete("sales").await()).type()).isEqualTo(ErrorType.UNKNOWN_POLICY);
    assertThat(policies.list().await()).isEmpty();
  }

  @Test
  @DisplayName("a bad document fails INVALID_FIELD naming the field and stores nothing")
  void badDocumentStoresNothing() {
    PolicyDocument original = designExample("sales");
    policies.put(original).await();
    PolicyDocument badReplacement = withLoopback(designExample("sales"), excludedPorts(List.of(70_000)));
    PolicyDocument badNew = withPriority(named("fresh"), -1);

    VipfarmException replaceFailure = failure(() -> policies.put(badReplacement).await());
    VipfarmException createFailure = failure(() -> policies.put(badNew).await());

    assertThat(replaceFailure.type()).isEqualTo(ErrorType.INVALID_FIELD);
    assertThat(replaceFailure.field()).isEqualTo("virtualLoopback.excludedPorts[0]");
    assertThat(createFailure.field()).isEqualTo("priority");
    assertThat(policies.get("sales").await()).isEqualTo(original);
    assertThat(failure(() -> policies.get("fresh").await()).type()).isEqualTo(ErrorType.UNKNOWN_POLICY);
    assertThat(policies.list().await()).containsExactly(original);
  }

  @Test
  @DisplayName("effective resolves the stored policies for a host, user and groups")
  void effective() {
    policies.put(designExample("base")).await();
    policies.put(withVip(withMatch(withPriority(named("devs-no-vip"), 50), new Match(null, null, List.of("dev*"))),
        vipEnabled(false))).await();

    EffectivePolicy carol = policies.effective("h1", "carol", List.of("developers")).await();
    EffectivePolicy alice = policies.effective("h1", "alice", List.of("sales")).await();
    EffectivePolicy nobody = policies.effective("h1", "dave", null).await();

    assertThat(carol.vipEnabled()).isFalse();
    assertThat(carol.loopbackEnabled()).isTrue();
    assertThat(carol.sources()).containsExactly("devs-no-vip", "base");
    assertThat(alice.vipEnabled()).isTrue();
    assertThat(alice.vipMode()).isEqualTo(VipMode.PER_SESSION);
    assertThat(alice.vipPool()).isEqualTo("default");
    assertThat(alice.sources()).containsExactly("base");
    assertThat(nobody.sources()).containsExactly("base");
  }

  @Test
  @DisplayName("effective without stored policies is the default, and without a user fails INVALID_FIELD")
  void effectiveEdges() {
    assertThat(policies.effective("h1", "alice", List.of()).await()).isEqualTo(EffectivePolicy.none());

    VipfarmException missingUser = failure(() -> policies.effective("h1", null, null).await());

    assertThat(missingUser.type()).isEqualTo(ErrorType.INVALID_FIELD);
    assertThat(missingUser.field()).isEqualTo("user");
  }

  @Test
  @DisplayName("every successful put and delete emits policy.changed; failures emit nothing")
  void emitsPolicyChanged() throws InterruptedException {
    policies.put(designExample("sales")).await();
    failure(() -> policies.put(named("-bad")).await());
    failure(() -> policies.delete("missing").await());
    policies.delete("sales").await();

    VipfarmEvent put = events.poll(5, TimeUnit.SECONDS);
    VipfarmEvent deleted = events.poll(5, TimeUnit.SECONDS);

    assertThat(put).isNotNull();
    assertThat(put.type()).isEqualTo(VipfarmEvent.POLICY_CHANGED);
    assertThat(put.data()).isEqualTo(Map.of("name", "sales", "change", "put"));
    assertThat(deleted).isNotNull();
    assertThat(deleted.data()).isEqualTo(Map.of("name", "sales", "change", "delete"));
    assertThat(events.poll(200, TimeUnit.MILLISECONDS)).isNull();
  }

  @Test
  @DisplayName("the service is published in Service Discovery while deployed and unpublished on undeploy")
  void serviceDiscovery() {
    ServiceDiscovery discovery = ServiceDiscovery.create(vertx);
    ServiceLocator locator = new ServiceLocator(discovery);
    try {
      assertThat(locator.address(Addresses.POLICY_SERVICE).await()).isEqualTo(Addresses.POLICY);

      vertx.undeploy(vertx.deploymentIDs().iterator().next()).await();

      VipfarmException gone = failure(() -> locator.address(Addresses.POLICY_SERVICE).await());
      assertThat(gone.type()).isEqualTo(ErrorType.SERVICE_UNAVAILABLE);
      assertThat(failure(() -> policies.list().await()).type()).isEqualTo(ErrorType.SERVICE_UNAVAILABLE);
    } finally {
      discovery.close();
    }
  }

  private static VipfarmException failure(Runnable call) {
    VipfarmException e = catchThrowableOfType(VipfarmException.class, call::run);
    assertThat(e).as("expected the call to fail with a VipfarmException").isNotNull();
    return e;
  }
}
