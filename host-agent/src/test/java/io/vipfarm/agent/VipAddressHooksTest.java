package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.agent.ifaddr.VipAddresses;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.VirtualIpView;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VipMode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where the host agent puts a VIP on the interface and takes it off ({@link VipAddresses}), against the
 * lease's life at the allocation service: on before the session is reported started, off before the lease
 * is released, in every way a lease ends. The interface itself is a recording stand-in here (the real
 * one is tested in {@code InterfaceVipsTest} and, end to end, in deploy's {@code VipInterfaceIT}).
 */
class VipAddressHooksTest {
  private static final String V1 = "10.77.0.11";

  private Vertx vertx;
  private Context context;
  private ServiceDiscovery discovery;
  private FakePolicyService policy;
  private FakeAllocationService allocation;
  private RecordingVips vips;
  private HostAgent agent;

  /** Records every call; a withdraw takes 200 ms and notes how many releases had happened by its end. */
  private final class RecordingVips implements VipAddresses {
    final List<String> calls = new CopyOnWriteArrayList<>();
    volatile boolean failEnsure;
    volatile boolean failWithdraw;

    @Override
    public Future<Void> ensure(Collection<String> addresses) {
      calls.add("ensure " + addresses);
      return failEnsure
          ? Future.failedFuture(new VipfarmException(ErrorType.INTERNAL, "cannot add the VIP " + addresses))
          : Future.succeededFuture();
    }

    @Override
    public Future<Void> withdraw(Collection<String> addresses) {
      calls.add("withdraw " + addresses);
      return vertx.timer(200, TimeUnit.MILLISECONDS)
          .compose(t -> {
            if (failWithdraw) {
              return Future.failedFuture(new VipfarmException(ErrorType.INTERNAL, "cannot take it off"));
            }
            calls.add("withdrawn " + addresses + " with " + allocation.releases.size() + " releases so far");
            return Future.succeededFuture();
          });
    }

    @Override
    public Future<Void> adopt(Collection<String> addresses) {
      calls.add("adopt " + addresses);
      return Future.succeededFuture();
    }

    @Override
    public Future<Void> reconcile() {
      return Future.succeededFuture();
    }
  }

  @BeforeEach
  void setUp(@TempDir Path runDir) throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    discovery = ServiceDiscovery.create(vertx);
    ServiceLocator locator = new ServiceLocator(discovery);
    policy = new FakePolicyService();
    policy.answer(vipPolicy(true));
    await(() -> vertx.deployVerticle(policy));
    allocation = new FakeAllocationService(List.of(V1, "10.77.0.12"), 3_000);
    await(() -> vertx.deployVerticle(allocation));
    vips = new RecordingVips();
    AgentConfig config = new AgentConfig("host-v", "boot-v", runDir, List.of(), AgentConfig.PRELOAD);
    agent = new HostAgent(config,
        PolicyService.client(new EventBusClient(vertx, () -> locator.address(Addresses.POLICY_SERVICE), 5_000)),
        AllocationService.client(new EventBusClient(vertx, () -> locator.address(Addresses.ALLOCATION_SERVICE), 5_000)),
        new RulesDirectory(vertx, runDir), new SessionEnforcement(vertx, null, null, new Loopback6Addresses()),
        SystemUsers::none, new SessionJournal(vertx, runDir), event -> { },
        System::currentTimeMillis, millis -> vertx.timer(50, TimeUnit.MILLISECONDS), vips);
  }

  @AfterEach
  void tearDown() throws Exception {
    discovery.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static EffectivePolicy vipPolicy(boolean vip) {
    return new EffectivePolicy(true, List.of("*"), List.of(), vip, VipMode.PER_SESSION, "default", List.of(),
        OnExhausted.REFUSE, false, List.of(), List.of("test"));
  }

  @Test
  @DisplayName("granted: on the interface before the start is answered; ended: off it before the release")
  void startAndEnd() throws Exception {
    SessionView started = await(() -> agent.startSession(new SessionRequest("7", "alice", List.of())));
    assertThat(started.virtualIps()).extracting(v -> v.address()).containsExactly(V1);
    assertThat(vips.calls).containsExactly("ensure [" + V1 + "]");

    await(() -> agent.endSession("7"));
    assertThat(vips.calls).containsExactly("ensure [" + V1 + "]", "withdraw [" + V1 + "]",
        "withdrawn [" + V1 + "] with 0 releases so far");
    assertThat(allocation.releases).hasSize(1);
  }

  @Test
  @DisplayName("a VIP that may still be on the interface is not released: the session ends, the lease expires")
  void withdrawFailure() throws Exception {
    await(() -> agent.startSession(new SessionRequest("7", "alice", List.of())));
    vips.failWithdraw = true;
    await(() -> agent.endSession("7"));
    assertThat(vips.calls).containsExactly("ensure [" + V1 + "]", "withdraw [" + V1 + "]");
    assertThat(allocation.releases).isEmpty();
    assertThat(allocation.leases()).extracting(l -> l.address()).containsExactly(V1);
    assertThatThrownBy(() -> await(() -> agent.getSession("7"))).hasMessageContaining("7");
  }

  @Test
  @DisplayName("a VIP that cannot be put on the interface fails the start and goes back to the pool, withdrawn first")
  void ensureFailure() throws Exception {
    vips.failEnsure = true;
    assertThatThrownBy(() -> await(() -> agent.startSession(new SessionRequest("7", "alice", List.of()))))
        .isInstanceOf(VipfarmException.class).hasMessageContaining("cannot add the VIP [" + V1 + "]");
    assertThat(vips.calls).containsExactly("ensure [" + V1 + "]", "withdraw [" + V1 + "]",
        "withdrawn [" + V1 + "] with 0 releases so far");
    assertThat(allocation.releases).hasSize(1);
    assertThat(allocation.leases()).isEmpty();
    assertThatThrownBy(() -> await(() -> agent.getSession("7"))).hasMessageContaining("7");
  }

  @Test
  @DisplayName("a policy change that drops the VIP takes it off after the grace period, then releases it")
  void policyDrop() throws Exception {
    await(() -> agent.startSession(new SessionRequest("7", "alice", List.of())));
    policy.answer(vipPolicy(false));
    await(() -> agent.policiesChanged());
    poll("the dropped lease to be released", () -> allocation.releases.size() == 1);
    // "ensure []": the change acquired nothing new
    assertThat(vips.calls).containsExactly("ensure [" + V1 + "]", "ensure []", "withdraw [" + V1 + "]",
        "withdrawn [" + V1 + "] with 0 releases so far");
  }

  @Test
  @DisplayName("a lease lost for good (its address taken, the pool full) is taken off the interface at once")
  void lostLease() throws Exception {
    await(() -> agent.startSession(new SessionRequest("7", "alice", List.of())));
    await(() -> agent.startSession(new SessionRequest("8", "bob", List.of()))); // the pool's other address
    allocation.giveToAnother(V1);
    poll("the lost VIP to be withdrawn", () -> {
      context.runOnContext(v -> agent.renewDueLeases()); // due once a third of the 3 s lease has passed
      return vips.calls.contains("withdrawn [" + V1 + "] with 0 releases so far");
    });
    poll("the session to lose its VIP", () -> {
      try {
        return await(() -> agent.getSession("7")).virtualIps().isEmpty();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    assertThat(allocation.releases).isEmpty();
  }

  @Test
  @DisplayName("a forgotten lease leased again on another address: the old one leaves the interface first")
  void forgottenLeaseMoves() throws Exception {
    await(() -> agent.startSession(new SessionRequest("7", "alice", List.of())));
    allocation.giveToAnother(V1);
    poll("the session on the pool's other address", () -> {
      context.runOnContext(v -> agent.renewDueLeases());
      try {
        List<VirtualIpView> now = await(() -> agent.getSession("7")).virtualIps();
        return now.size() == 1 && now.get(0).address().equals("10.77.0.12");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    int withdrawn = vips.calls.indexOf("withdrawn [" + V1 + "] with 0 releases so far");
    int ensured = vips.calls.lastIndexOf("ensure [10.77.0.12]");
    assertThat(withdrawn).as("%s", vips.calls).isNotNegative();
    assertThat(ensured).as("%s", vips.calls).isGreaterThan(withdrawn);
  }

  @Test
  @DisplayName("after a restart the re-adopted sessions' VIPs are handed to adopt (none here: a fresh run dir)")
  void reclaimAdopts() throws Exception {
    await(() -> agent.reclaim());
    assertThat(vips.calls).containsExactly("adopt []");
  }

  /** Runs {@code call} on the agent's context (its methods must run there) and waits for its result. */
  private <T> T await(Supplier<Future<T>> call) throws Exception {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> call.get().onComplete(result));
    try {
      return result.future().toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }

  private static void poll(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }
}
