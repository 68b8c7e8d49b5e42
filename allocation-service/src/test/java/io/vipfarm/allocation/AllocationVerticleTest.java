package io.vipfarm.allocation;

import static io.vipfarm.allocation.Await.failure;
import static io.vipfarm.allocation.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import io.vipfarm.api.model.ReleaseResult;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The verticle over the (local) event bus, driven through the service-api client, on a standalone member. */
@ExtendWith(VertxExtension.class)
class AllocationVerticleTest {
  private static final long T0 = 1_700_000_000_000L;
  private static HazelcastInstance hazelcast;

  private final AtomicLong clock = new AtomicLong(T0);
  private final List<VipfarmEvent> events = new CopyOnWriteArrayList<>();
  private AllocationService client;

  @BeforeAll
  static void startMember() {
    hazelcast = TestHazelcast.standalone();
  }

  @AfterAll
  static void stopMember() {
    hazelcast.shutdown();
  }

  @BeforeEach
  void deploy(Vertx vertx, VertxTestContext context) {
    for (String map : new String[] {AllocationMaps.POOLS, AllocationMaps.BLOCKS, AllocationMaps.LEASE_INDEX, AllocationMaps.LAST_ADDRESS}) {
      hazelcast.getMap(map).clear();
    }
    vertx.eventBus().<Object>consumer(Addresses.EVENTS_SUBMIT,
        msg -> events.add(EventSink.read(msg.body())));
    client = AllocationService.client(EventBusClient.fixed(vertx, Addresses.ALLOCATION));
    vertx.deployVerticle(new AllocationVerticle(hazelcast, clock::get, 50)).onComplete(context.succeedingThenComplete());
  }

  private static LeaseKey key(String session) {
    return new LeaseKey("host-a", "boot-1", session, null);
  }

  @Test
  @DisplayName("every action works over the event bus: pools, acquire, renew, query, release, delete")
  void lifecycle() {
    PoolView created = result(client.putPool(new PoolSpec("default", "127.100.0.0/24", List.of("127.100.0.1"),
        Map.of("alice", "127.100.0.50"), 0)));
    assertThat(created.leaseSeconds()).isEqualTo(300);
    assertThat(created.size()).isEqualTo(253);
    assertThat(created.used()).isZero();

    Lease alice = result(client.acquire(new AcquireRequest("default", key("7"), "alice")));
    Lease bob = result(client.acquire(new AcquireRequest("default", key("8"), "bob")));
    assertThat(alice.address()).isEqualTo("127.100.0.50");
    assertThat(bob.address()).startsWith("127.100.0.").isNotIn("127.100.0.1", "127.100.0.50", "127.100.0.255");
    assertThat(alice.expiresAt()).isEqualTo(T0 + 300_000);
    assertThat(result(client.acquire(new AcquireRequest("default", key("8"), "bob"))).fence()).isEqualTo(bob.fence());

    assertThat(result(client.getPool("default")).used()).isEqualTo(2);
    assertThat(result(client.listPools())).extracting(PoolView::name).containsExactly("default");
    assertThat(result(client.leases(new AllocationQuery("host-a", null, null, null, null))))
        .extracting(Lease::address).containsExactlyInAnyOrder(bob.address(), "127.100.0.50");
    assertThat(result(client.leases(AllocationQuery.all()))).hasSize(2);
    assertThat(result(client.check())).satisfies(report -> {
      assertThat(report.anomalies()).isEmpty();
      assertThat(report.leases()).isEqualTo(2);
    });

    clock.addAndGet(100_000);
    assertThat(result(client.renew(LeaseRef.of(alice))).expiresAt()).isEqualTo(T0 + 400_000);

    assertThat(failure(client.deletePool("default")).type()).isEqualTo(ErrorType.POOL_IN_USE);
    assertThat(result(client.release(LeaseRef.of(alice)))).isEqualTo(new ReleaseResult("127.100.0.50", true));
    assertThat(result(client.release(LeaseRef.of(alice)))).isEqualTo(new ReleaseResult(null, false));
    assertThat(result(client.release(LeaseRef.of(bob))).released()).isTrue();
    result(client.deletePool("default"));
    assertThat(failure(client.getPool("default")).type()).isEqualTo(ErrorType.UNKNOWN_POOL);
    assertThat(events).extracting(VipfarmEvent::type).contains(
        VipfarmEvent.LEASE_GRANTED, VipfarmEvent.LEASE_RENEWED, VipfarmEvent.LEASE_RELEASED);
  }

  @Test
  @DisplayName("refusals keep their type and field across the bus; exhaustion emits pool.exhausted")
  void refusals() throws InterruptedException {
    VipfarmException invalid = failure(client.putPool(new PoolSpec("p", "127.100.0.0/24",
        List.of("127.100.0.0/25", "10.0.0.1"), null, 0)));
    assertThat(invalid.type()).isEqualTo(ErrorType.INVALID_FIELD);
    assertThat(invalid.field()).isEqualTo("exclude[1]");
    assertThat(failure(client.getPool(null)).field()).isEqualTo("name");

    result(client.putPool(new PoolSpec("one", "127.100.1.7/32", null, null, 30)));
    VipfarmException overlap = failure(client.putPool(new PoolSpec("two", "127.100.1.0/24", null, null, 30)));
    assertThat(overlap.type()).isEqualTo(ErrorType.POOL_OVERLAP);
    assertThat(overlap.field()).isEqualTo("cidr");

    result(client.acquire(new AcquireRequest("one", key("1"), "ann")));
    assertThat(failure(client.acquire(new AcquireRequest("one", key("2"), "ann"))).type())
        .isEqualTo(ErrorType.POOL_EXHAUSTED);
    awaitEvent(VipfarmEvent.POOL_EXHAUSTED);
    assertThat(events).filteredOn(e -> e.type().equals(VipfarmEvent.POOL_EXHAUSTED)).singleElement()
        .satisfies(e -> {
          assertThat(e.sessionId()).isEqualTo("2");
          assertThat(e.data()).containsEntry("pool", "one");
        });
  }

  @Test
  @DisplayName("the sweeper frees an expired lease on its own and emits lease.expired")
  void sweeper() throws InterruptedException {
    result(client.putPool(new PoolSpec("short", "127.100.2.0/30", null, null, 10)));
    Lease lease = result(client.acquire(new AcquireRequest("short", key("9"), null)));
    assertThat(result(client.getPool("short")).used()).isEqualTo(1);
    clock.addAndGet(10_000);
    awaitEvent(VipfarmEvent.LEASE_EXPIRED);
    assertThat(events).filteredOn(e -> e.type().equals(VipfarmEvent.LEASE_EXPIRED)).singleElement()
        .satisfies(e -> assertThat(e.data()).containsEntry("address", lease.address()));
    assertThat(result(client.getPool("short")).used()).isZero();
    assertThat(failure(client.renew(LeaseRef.of(lease))).type()).isEqualTo(ErrorType.UNKNOWN_LEASE);
  }

  /** Events are fire-and-forget, so they arrive shortly after the reply; poll on the test thread. */
  private void awaitEvent(String type) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (events.stream().noneMatch(e -> e.type().equals(type)) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  @Test
  @DisplayName("the service is published in Service Discovery under its name and address")
  void discovery(Vertx vertx) {
    ServiceDiscovery discovery = ServiceDiscovery.create(vertx);
    try {
      assertThat(result(new ServiceLocator(discovery).address(Addresses.ALLOCATION_SERVICE)))
          .isEqualTo(Addresses.ALLOCATION);
    } finally {
      discovery.close();
    }
  }
}
