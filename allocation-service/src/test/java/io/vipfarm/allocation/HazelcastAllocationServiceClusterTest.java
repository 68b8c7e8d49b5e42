package io.vipfarm.allocation;

import static io.vipfarm.allocation.Await.failure;
import static io.vipfarm.allocation.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The service on two Hazelcast members in one JVM, each with its own service instance. */
class HazelcastAllocationServiceClusterTest {
  private static final long T0 = 1_700_000_000_000L;

  private static List<HazelcastInstance> members;
  private static Vertx vertx;
  private static final AtomicLong clock = new AtomicLong(T0);
  private static final List<VipfarmEvent> events = new CopyOnWriteArrayList<>();
  private static HazelcastAllocationService first;
  private static HazelcastAllocationService second;

  @BeforeAll
  static void startCluster() {
    members = TestHazelcast.cluster(2);
    assertThat(members.get(0).getCluster().getMembers()).hasSize(2);
    vertx = Vertx.vertx();
    first = new HazelcastAllocationService(vertx, members.get(0), events::add, clock::get);
    second = new HazelcastAllocationService(vertx, members.get(1), events::add, clock::get);
  }

  @AfterAll
  static void stopCluster() {
    if (vertx != null) {
      result(vertx.close());
    }
    TestHazelcast.shutdown(members);
  }

  private static LeaseKey key(String session) {
    return new LeaseKey("host-1", "boot-1", session, null);
  }

  private static PoolSpec pool(String name, String cidr) {
    return new PoolSpec(name, cidr, null, null, 60);
  }

  @Test
  @DisplayName("8 threads x 50 acquires through both members on a /24: 254 distinct addresses, then exhausted")
  void concurrentAcquiresNeverDuplicate() throws Exception {
    result(first.putPool(pool("race", "127.101.0.0/24")));
    Queue<String> granted = new ConcurrentLinkedQueue<>();
    Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
    ExecutorService threads = Executors.newFixedThreadPool(8);
    CountDownLatch go = new CountDownLatch(1);
    for (int t = 0; t < 8; t++) {
      int thread = t;
      threads.submit(() -> {
        go.await();
        for (int i = 0; i < 50; i++) {
          HazelcastAllocationService via = (thread + i) % 2 == 0 ? first : second;
          try {
            granted.add(result(via.acquire(new AcquireRequest("race", key("t" + thread + "-" + i), "u" + thread))).address());
          } catch (Throwable e) {
            errors.add(e);
          }
        }
        return null;
      });
    }
    go.countDown();
    threads.shutdown();
    assertThat(threads.awaitTermination(60, TimeUnit.SECONDS)).isTrue();

    assertThat(new HashSet<>(granted)).hasSize(granted.size());
    assertThat(granted).hasSize(254);
    assertThat(errors).hasSize(400 - 254)
        .allSatisfy(e -> assertThat(((VipfarmException) e).type()).isEqualTo(ErrorType.POOL_EXHAUSTED));
    PoolView view = result(second.getPool("race"));
    assertThat(view.size()).isEqualTo(254);
    assertThat(view.used()).isEqualTo(254);
    assertThat(view.free()).isZero();
    assertThat(result(first.leases(new AllocationQuery(null, null, null, "race", null)))).hasSize(254);
    assertThat(events.stream().filter(e -> e.type().equals(VipfarmEvent.POOL_EXHAUSTED))).hasSize(400 - 254);
  }

  @Test
  @DisplayName("8 threads racing to create overlapping pools through both members: exactly one wins")
  void concurrentOverlappingCreates() throws Exception {
    Queue<String> created = new ConcurrentLinkedQueue<>();
    Queue<ErrorType> refused = new ConcurrentLinkedQueue<>();
    ExecutorService threads = Executors.newFixedThreadPool(8);
    CountDownLatch go = new CountDownLatch(1);
    for (int t = 0; t < 8; t++) {
      int thread = t;
      threads.submit(() -> {
        go.await();
        HazelcastAllocationService via = thread % 2 == 0 ? first : second;
        // Every candidate overlaps every other (the /24 lies inside the /16), so exactly one may win.
        String cidr = thread % 2 == 0 ? "127.102.0.0/16" : "127.102.5.0/24";
        try {
          created.add(result(via.putPool(pool("overlap-" + thread, cidr))).name());
        } catch (VipfarmException e) {
          refused.add(e.type());
        }
        return null;
      });
    }
    go.countDown();
    threads.shutdown();
    assertThat(threads.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    assertThat(created).hasSize(1);
    assertThat(refused).hasSize(7).containsOnly(ErrorType.POOL_OVERLAP);
    assertThat(result(first.listPools()).stream().filter(p -> p.name().startsWith("overlap-"))).hasSize(1);
  }

  @Test
  @DisplayName("fences hold across members: a stale release is refused, a double release is skipped")
  void fencingAcrossMembers() {
    result(first.putPool(pool("fence", "127.103.0.0/29")));
    Lease lease = result(first.acquire(new AcquireRequest("fence", key("s1"), "alice")));
    Lease again = result(second.acquire(new AcquireRequest("fence", key("s1"), "alice")));
    assertThat(again.address()).isEqualTo(lease.address());
    assertThat(again.fence()).isEqualTo(lease.fence());

    LeaseRef stale = new LeaseRef("fence", key("s1"), lease.fence() - 1);
    assertThat(failure(second.release(stale)).type()).isEqualTo(ErrorType.STALE_LEASE);
    assertThat(failure(second.renew(stale)).type()).isEqualTo(ErrorType.STALE_LEASE);
    assertThat(result(first.getPool("fence")).used()).isEqualTo(1);

    var released = result(second.release(LeaseRef.of(lease)));
    assertThat(released.released()).isTrue();
    assertThat(released.address()).isEqualTo(lease.address());
    var skipped = result(first.release(LeaseRef.of(lease)));
    assertThat(skipped.released()).isFalse();
    assertThat(failure(first.renew(LeaseRef.of(lease))).type()).isEqualTo(ErrorType.UNKNOWN_LEASE);
    assertThat(result(first.release(new LeaseRef("no-such-pool", key("s1"), 1))).released()).isFalse();
  }

  @Test
  @DisplayName("the sweeper frees expired leases on whichever member owns the pool and emits lease.expired")
  void expiry() {
    result(first.putPool(pool("expiry", "127.104.0.0/29")));
    Lease lease = result(second.acquire(new AcquireRequest("expiry", key("gone"), null)));
    assertThat(result(first.sweepExpired()) + result(second.sweepExpired())).isZero();
    clock.addAndGet(61_000);
    try {
      int swept = result(first.sweepExpired()) + result(second.sweepExpired());
      assertThat(swept).isGreaterThanOrEqualTo(1);
      assertThat(result(first.getPool("expiry")).used()).isZero();
      assertThat(events).anySatisfy(e -> {
        assertThat(e.type()).isEqualTo(VipfarmEvent.LEASE_EXPIRED);
        assertThat(e.data()).containsEntry("address", lease.address()).containsEntry("pool", "expiry");
      });
      assertThat(failure(first.renew(LeaseRef.of(lease))).type()).isEqualTo(ErrorType.UNKNOWN_LEASE);
    } finally {
      clock.set(T0);
    }
  }

  @Test
  @DisplayName("resize keeps leases; a shrink that would drop one and a delete while in use are refused")
  void resizeAndDelete() {
    result(first.putPool(pool("resize", "127.105.0.0/30")));
    Lease a = result(first.acquire(new AcquireRequest("resize", key("a"), null)));
    Lease b = result(second.acquire(new AcquireRequest("resize", key("b"), null)));
    PoolView grown = result(second.putPool(pool("resize", "127.105.0.0/28")));
    assertThat(grown.size()).isEqualTo(14);
    assertThat(grown.used()).isEqualTo(2);
    assertThat(result(first.renew(LeaseRef.of(a))).address()).isEqualTo(a.address());

    VipfarmException shrink = failure(first.putPool(pool("resize", "127.105.0.2/31")));
    assertThat(shrink.type()).isEqualTo(ErrorType.POOL_IN_USE);
    assertThat(shrink.field()).isEqualTo("cidr");
    assertThat(result(first.getPool("resize")).cidr()).isEqualTo("127.105.0.0/28");

    assertThat(failure(second.deletePool("resize")).type()).isEqualTo(ErrorType.POOL_IN_USE);
    result(first.release(LeaseRef.of(a)));
    result(first.release(LeaseRef.of(b)));
    result(second.deletePool("resize"));
    assertThat(failure(first.getPool("resize")).type()).isEqualTo(ErrorType.UNKNOWN_POOL);
    assertThat(failure(first.deletePool("resize")).type()).isEqualTo(ErrorType.UNKNOWN_POOL);
    assertThat(failure(first.acquire(new AcquireRequest("resize", key("c"), null))).type())
        .isEqualTo(ErrorType.UNKNOWN_POOL);
  }

  @Test
  @DisplayName("the allocations query filters by host, session, user and address across pools")
  void query() {
    result(first.putPool(pool("query-a", "127.106.0.0/29")));
    result(first.putPool(pool("query-b", "127.107.0.0/29")));
    result(first.acquire(new AcquireRequest("query-a", new LeaseKey("h1", "b", "1", null), "ann")));
    result(second.acquire(new AcquireRequest("query-b", new LeaseKey("h1", "b", "2", null), "bo")));
    Lease third = result(first.acquire(new AcquireRequest("query-b", new LeaseKey("h2", "b", "1", "crm"), "ann")));
    List<Lease> h1 = new ArrayList<>(result(second.leases(new AllocationQuery("h1", null, null, null, null))));
    assertThat(h1).extracting(Lease::pool).containsExactly("query-a", "query-b");
    assertThat(result(first.leases(new AllocationQuery(null, null, "ann", null, null)))).hasSize(2);
    assertThat(result(first.leases(new AllocationQuery(null, "1", null, "query-b", null))))
        .singleElement().satisfies(l -> {
          assertThat(l.key().program()).isEqualTo("crm");
          assertThat(l.address()).isEqualTo(third.address());
        });
    assertThat(result(first.leases(new AllocationQuery(null, null, null, null, third.address())))).hasSize(1);
    assertThat(result(first.leases(new AllocationQuery(null, null, null, "no-such-pool", null)))).isEmpty();
  }

  @Test
  @DisplayName("queries by host, user, session and address (index path) return only live leases, with their current expiry")
  void indexedQueriesSeeOnlyLiveLeases() {
    result(first.putPool(pool("query-c", "127.109.0.0/28")));
    result(first.putPool(pool("query-d", "127.110.0.0/28")));
    Lease kept = result(first.acquire(new AcquireRequest("query-c", new LeaseKey("h7", "b", "1", null), "cy")));
    Lease released = result(second.acquire(new AcquireRequest("query-c", new LeaseKey("h7", "b", "2", null), "cy")));
    Lease other = result(second.acquire(new AcquireRequest("query-d", new LeaseKey("h7", "b", "1", null), null)));
    result(first.acquire(new AcquireRequest("query-d", new LeaseKey("h8", "b", "1", null), "cy")));
    assertThat(result(second.leases(new AllocationQuery("h7", null, null, null, null)))).hasSize(3);
    result(second.release(LeaseRef.of(released)));
    assertThat(result(first.leases(new AllocationQuery("h7", null, null, null, null))))
        .extracting(Lease::address).containsExactly(kept.address(), other.address());
    assertThat(result(first.leases(new AllocationQuery("h7", "1", null, "query-d", null))))
        .extracting(Lease::address).containsExactly(other.address());
    assertThat(result(first.leases(new AllocationQuery(null, null, "cy", null, null)))).hasSize(2);
    assertThat(result(first.leases(new AllocationQuery(null, "1", null, "query-c", null))))
        .extracting(Lease::address).containsExactly(kept.address());
    assertThat(result(first.leases(new AllocationQuery(null, "2", null, "query-c", null)))).isEmpty();
    assertThat(result(first.leases(new AllocationQuery(null, null, null, null, released.address())))).isEmpty();
    assertThat(result(first.leases(new AllocationQuery(null, null, null, "query-d", kept.address())))).isEmpty();
    assertThat(result(first.leases(new AllocationQuery(null, null, null, null, "not-an-address")))).isEmpty();
    clock.addAndGet(30_000);
    try {
      Lease renewed = result(second.renew(LeaseRef.of(kept)));
      assertThat(renewed.expiresAt()).isGreaterThan(kept.expiresAt());
      assertThat(result(first.leases(new AllocationQuery("h7", "1", null, "query-c", null))))
          .singleElement().satisfies(l -> assertThat(l.expiresAt()).isEqualTo(renewed.expiresAt()));
      clock.addAndGet(40_000);
      // expired but not yet swept: the index still points at them, the blocks no longer count them
      assertThat(result(first.leases(new AllocationQuery("h7", null, null, null, null))))
          .extracting(Lease::address).containsExactly(kept.address());
      assertThat(result(first.leases(new AllocationQuery(null, null, null, null, other.address())))).isEmpty();
    } finally {
      clock.set(T0);
    }
  }

  @Test
  @DisplayName("bad input is refused before touching the store, naming the field")
  void badInput() {
    assertThat(failure(first.putPool(new PoolSpec("bad", "127.108.0.0/24", List.of("1.2.3.4"), Map.of(), 0))).field())
        .isEqualTo("exclude[0]");
    assertThat(failure(first.getPool("bad")).type()).isEqualTo(ErrorType.UNKNOWN_POOL);
    assertThat(failure(first.acquire(new AcquireRequest("x", new LeaseKey("h", "", "1", null), null))).field())
        .isEqualTo("key.bootId");
    assertThat(failure(first.acquire(new AcquireRequest("x y", key("1"), null))).field()).isEqualTo("pool");
    assertThat(failure(first.renew(new LeaseRef("x", null, 1))).field()).isEqualTo("key");
  }
}
