package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.model.PoolSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PoolLeasesTest {
  private static final long T0 = 1_700_000_000_000L;
  private final List<PoolLeases> checked = new ArrayList<>();

  private static PoolDefinition definition(String cidr, List<String> exclude, Map<String, String> reservations) {
    return PoolValidator.validate(new PoolSpec("p", cidr, exclude, reservations, 10));
  }

  private PoolLeases pool(String cidr, List<String> exclude, Map<String, String> reservations) {
    PoolLeases pool = PoolLeases.create(definition(cidr, exclude, reservations), T0);
    checked.add(pool);
    return pool;
  }

  private static LeaseHolder holder(String session) {
    return new LeaseHolder("host-1", "boot-1", session, null);
  }

  private static String ip(HeldLease lease) {
    return lease.addressText();
  }

  private static HeldLease grant(PoolLeases pool, String session, String user, long now) {
    return pool.acquire(holder(session), user, now).valueOrThrow().lease();
  }

  @AfterEach
  void everyPoolKeepsItsInvariants() {
    for (PoolLeases pool : checked) {
      assertThat(pool.invariantViolations()).isEmpty();
    }
  }

  @Test
  @DisplayName("grants distinct addresses in order, skipping network, broadcast and exclusions, then exhausts")
  void grantsThenExhausts() {
    PoolLeases pool = pool("127.1.0.0/29", List.of("127.1.0.2"), null);
    List<String> addresses = new ArrayList<>();
    long lastFence = 0;
    for (int i = 0; i < 5; i++) {
      HeldLease lease = grant(pool, "s" + i, null, T0);
      addresses.add(ip(lease));
      assertThat(lease.fence()).isGreaterThan(lastFence);
      lastFence = lease.fence();
      assertThat(lease.expiresAt()).isEqualTo(T0 + 10_000);
    }
    assertThat(addresses).containsExactly("127.1.0.1", "127.1.0.3", "127.1.0.4", "127.1.0.5", "127.1.0.6");
    Change<Grant> refused = pool.acquire(holder("s5"), null, T0);
    assertThat(refused.failure().type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
    assertThat(pool.liveCount(T0)).isEqualTo(5);
    assertThat(pool.snapshot(T0).toView().free()).isZero();
  }

  @Test
  @DisplayName("acquire with the same key returns the same lease, renewed, with the same fence")
  void acquireIsIdempotent() {
    PoolLeases pool = pool("127.1.0.0/29", null, null);
    HeldLease first = grant(pool, "s1", "alice", T0);
    Grant again = pool.acquire(holder("s1"), "alice", T0 + 4_000).valueOrThrow();
    assertThat(again.renewed()).isTrue();
    assertThat(again.lease().address()).isEqualTo(first.address());
    assertThat(again.lease().fence()).isEqualTo(first.fence());
    assertThat(again.lease().expiresAt()).isEqualTo(T0 + 14_000);
    assertThat(pool.liveCount(T0 + 4_000)).isEqualTo(1);
  }

  @Test
  @DisplayName("a reserved address goes to its user only, never to anyone else, even when the pool is full")
  void reservations() {
    PoolLeases pool = pool("127.1.0.0/29", null, Map.of("alice", "127.1.0.3"));
    List<String> bobs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      bobs.add(ip(grant(pool, "bob" + i, "bob", T0)));
    }
    assertThat(bobs).doesNotContain("127.1.0.3").hasSize(5);
    assertThat(pool.acquire(holder("bob5"), "bob", T0).failure().type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
    assertThat(pool.acquire(holder("nobody"), null, T0).failure().type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
    assertThat(ip(grant(pool, "alice1", "alice", T0))).isEqualTo("127.1.0.3");
    // alice's second session: her address is taken by her first, and nothing else is free
    assertThat(pool.acquire(holder("alice2"), "alice", T0).failure().type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
  }

  @Test
  @DisplayName("a reserved user's second session gets an ordinary address while the first holds the reservation")
  void secondSessionOfReservedUser() {
    PoolLeases pool = pool("127.1.0.0/29", null, Map.of("alice", "127.1.0.3"));
    assertThat(ip(grant(pool, "a1", "alice", T0))).isEqualTo("127.1.0.3");
    assertThat(ip(grant(pool, "a2", "alice", T0))).isEqualTo("127.1.0.1");
  }

  @Test
  @DisplayName("released addresses go to the tail: fresh addresses first, then the one released longest ago")
  void releasedGoToTheTail() {
    PoolLeases pool = pool("127.1.0.0/29", null, null); // .1 .. .6
    HeldLease a = grant(pool, "a", null, T0);
    HeldLease b = grant(pool, "b", null, T0);
    assertThat(pool.release(holder("b"), b.fence(), T0).valueOrThrow().released()).isTrue();
    assertThat(pool.release(holder("a"), a.fence(), T0).valueOrThrow().released()).isTrue();
    List<String> next = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      next.add(ip(grant(pool, "n" + i, null, T0)));
    }
    assertThat(next).containsExactly("127.1.0.3", "127.1.0.4", "127.1.0.5", "127.1.0.6", "127.1.0.2", "127.1.0.1");
  }

  @Test
  @DisplayName("release: a stale fence is refused and changes nothing; releasing twice or unknown keys is skipped")
  void releaseFencing() {
    PoolLeases pool = pool("127.1.0.0/29", null, null);
    HeldLease lease = grant(pool, "s1", null, T0);
    Change<Release> stale = pool.release(holder("s1"), lease.fence() - 1, T0);
    assertThat(stale.failure().type()).isEqualTo(ErrorType.STALE_LEASE);
    assertThat(pool.liveCount(T0)).isEqualTo(1);
    Release done = pool.release(holder("s1"), lease.fence(), T0).valueOrThrow();
    assertThat(done.released()).isTrue();
    assertThat(done.lease().address()).isEqualTo(lease.address());
    Release again = pool.release(holder("s1"), lease.fence(), T0).valueOrThrow();
    assertThat(again.released()).isFalse();
    assertThat(pool.release(holder("never"), 42, T0).valueOrThrow()).isEqualTo(new Release(null, false));
    // the old fence cannot touch the key's next lease
    HeldLease regranted = grant(pool, "s1", null, T0);
    assertThat(regranted.fence()).isGreaterThan(lease.fence());
    assertThat(pool.release(holder("s1"), lease.fence(), T0).failure().type()).isEqualTo(ErrorType.STALE_LEASE);
    assertThat(pool.renew(holder("s1"), lease.fence(), T0).failure().type()).isEqualTo(ErrorType.STALE_LEASE);
  }

  @Test
  @DisplayName("renew extends a live lease; unknown keys get UNKNOWN_LEASE")
  void renew() {
    PoolLeases pool = pool("127.1.0.0/29", null, null);
    HeldLease lease = grant(pool, "s1", null, T0);
    HeldLease renewed = pool.renew(holder("s1"), lease.fence(), T0 + 9_000).valueOrThrow();
    assertThat(renewed.expiresAt()).isEqualTo(T0 + 19_000);
    assertThat(renewed.fence()).isEqualTo(lease.fence());
    // a renew computed with an earlier clock never shortens the lease
    assertThat(pool.renew(holder("s1"), lease.fence(), T0 + 1_000).valueOrThrow().expiresAt()).isEqualTo(T0 + 19_000);
    assertThat(pool.renew(holder("other"), 1, T0).failure().type()).isEqualTo(ErrorType.UNKNOWN_LEASE);
  }

  @Test
  @DisplayName("a lease not renewed by its expiry is free: expiry reports it, renew no longer knows it")
  void expiry() {
    PoolLeases pool = pool("127.1.0.0/29", null, null);
    HeldLease lease = grant(pool, "s1", null, T0);
    grant(pool, "s2", null, T0 + 5_000);
    assertThat(pool.expireDue(T0 + 9_999)).isEmpty();
    assertThat(pool.liveCount(T0 + 10_000)).isEqualTo(1);
    List<HeldLease> expired = pool.expireDue(T0 + 10_000);
    assertThat(expired).containsExactly(lease);
    assertThat(pool.renew(holder("s1"), lease.fence(), T0 + 10_000).failure().type()).isEqualTo(ErrorType.UNKNOWN_LEASE);
    assertThat(pool.release(holder("s1"), lease.fence(), T0 + 10_000).valueOrThrow().released()).isFalse();
    assertThat(pool.leases(LeaseFilter.of(null), T0 + 10_000)).extracting(HeldLease::holder).containsExactly(holder("s2"));
  }

  @Test
  @DisplayName("any operation frees due leases first; the same key then gets its old address with a new fence")
  void expiredKeyGetsItsAddressBack() {
    PoolLeases pool = pool("127.1.0.0/29", null, null);
    HeldLease old = grant(pool, "s1", null, T0);
    Change<Grant> again = pool.acquire(holder("s1"), null, T0 + 20_000);
    assertThat(again.expired()).containsExactly(old);
    assertThat(again.value().renewed()).isFalse();
    assertThat(again.value().lease().address()).isEqualTo(old.address());
    assertThat(again.value().lease().fence()).isGreaterThan(old.fence());
  }

  @Test
  @DisplayName("redefine: growing keeps leases and fences; the new range is used after the old one")
  void resizeKeepsLeases() {
    PoolLeases pool = pool("127.1.0.0/30", null, null); // .1 .2
    HeldLease a = grant(pool, "a", null, T0);
    HeldLease b = grant(pool, "b", null, T0);
    assertThat(pool.acquire(holder("c"), null, T0).failure().type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
    PoolSnapshot grown = pool.redefine(definition("127.1.0.0/29", null, null), T0).valueOrThrow();
    assertThat(grown.used()).isEqualTo(2);
    assertThat(grown.definition().size()).isEqualTo(6);
    assertThat(pool.leaseOf(holder("a"))).isEqualTo(a);
    assertThat(pool.leaseOf(holder("b"))).isEqualTo(b);
    assertThat(ip(grant(pool, "c", null, T0))).isEqualTo("127.1.0.3");
    assertThat(pool.renew(holder("a"), a.fence(), T0).succeeded()).isTrue();
  }

  @Test
  @DisplayName("redefine is refused, naming the field and changing nothing, when a live lease would be lost")
  void redefineRefusals() {
    PoolLeases pool = pool("127.1.0.0/29", null, null);
    HeldLease a = grant(pool, "a", "ann", T0); // .1
    HeldLease b = grant(pool, "b", "ben", T0); // .2
    PoolSnapshot before = pool.snapshot(T0);
    Change<PoolSnapshot> shrink = pool.redefine(definition("127.1.0.2/31", null, null), T0);
    assertThat(shrink.failure().type()).isEqualTo(ErrorType.POOL_IN_USE);
    assertThat(shrink.failure().field()).isEqualTo("cidr");
    assertThat(shrink.failure().detail()).contains("127.1.0.1");
    Change<PoolSnapshot> exclude = pool.redefine(definition("127.1.0.0/29", List.of("127.1.0.2"), null), T0);
    assertThat(exclude.failure().field()).isEqualTo("exclude");
    Change<PoolSnapshot> reserve = pool.redefine(definition("127.1.0.0/29", null, Map.of("cat", "127.1.0.1")), T0);
    assertThat(reserve.failure().field()).isEqualTo("reservations.cat");
    assertThat(pool.snapshot(T0)).isEqualTo(before);
    assertThat(pool.leaseOf(holder("a"))).isEqualTo(a);
    // reserving a leased address for the user who holds it is fine
    assertThat(pool.redefine(definition("127.1.0.0/29", null, Map.of("ben", "127.1.0.2")), T0).succeeded()).isTrue();
    assertThat(pool.leaseOf(holder("b"))).isEqualTo(b);
    // and once the leases are gone the shrink goes through
    pool.release(holder("a"), a.fence(), T0).valueOrThrow();
    assertThat(pool.redefine(definition("127.1.0.2/31", null, null), T0).succeeded()).isTrue();
    assertThat(pool.definition().size()).isEqualTo(2);
    assertThat(ip(grant(pool, "c", null, T0))).isEqualTo("127.1.0.3");
  }

  @Test
  @DisplayName("a pool with live leases cannot be retired; without, it can")
  void retire() {
    PoolLeases pool = pool("127.1.0.0/29", null, null);
    HeldLease a = grant(pool, "a", null, T0);
    assertThat(pool.retire(T0).failure().type()).isEqualTo(ErrorType.POOL_IN_USE);
    assertThat(pool.retire(T0 + 10_000).succeeded()).isTrue(); // expired by then
    assertThat(pool.leaseOf(holder("a"))).isNull();
    assertThat(a.fence()).isLessThan(pool.nextFence());
  }

  @Test
  @DisplayName("/32 and /31 pools hand out every address")
  void tinyPools() {
    PoolLeases single = pool("127.1.0.9/32", null, null);
    assertThat(ip(grant(single, "a", null, T0))).isEqualTo("127.1.0.9");
    assertThat(single.acquire(holder("b"), null, T0).failure().type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
    PoolLeases pair = pool("127.1.0.10/31", null, null);
    assertThat(List.of(ip(grant(pair, "a", null, T0)), ip(grant(pair, "b", null, T0))))
        .containsExactly("127.1.0.10", "127.1.0.11");
  }

  @Test
  @DisplayName("a /8 with a /9 excluded: the cursor jumps the range, and acquires cost no scan")
  void largePool() {
    PoolLeases pool = pool("10.0.0.0/8", List.of("10.0.0.0/9"), null);
    assertThat(pool.definition().size()).isEqualTo((1L << 23) - 1);
    long start = System.nanoTime();
    for (int i = 0; i < 20_000; i++) {
      HeldLease lease = grant(pool, "s" + i, null, T0);
      if (i == 0) {
        assertThat(ip(lease)).isEqualTo("10.128.0.0");
      }
    }
    assertThat(pool.liveCount(T0)).isEqualTo(20_000);
    assertThat(System.nanoTime() - start).as("20k acquires on a /8").isLessThan(5_000_000_000L);
  }

  @Test
  @DisplayName("the state survives Java serialization intact (what a backup replica or a migration receives)")
  void serializable() throws Exception {
    PoolLeases pool = pool("127.1.0.0/28", List.of("127.1.0.4"), Map.of("alice", "127.1.0.9"));
    for (int i = 0; i < 6; i++) {
      grant(pool, "s" + i, "u" + i, T0);
    }
    pool.release(holder("s2"), pool.leaseOf(holder("s2")).fence(), T0).valueOrThrow();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(pool);
    }
    PoolLeases copy;
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      copy = (PoolLeases) in.readObject();
    }
    checked.add(copy);
    assertThat(copy.snapshot(T0)).isEqualTo(pool.snapshot(T0));
    assertThat(copy.leases(LeaseFilter.of(null), T0)).isEqualTo(pool.leases(LeaseFilter.of(null), T0));
    // the same operation on both gives the same result: what keeps primary and backup in step
    for (int i = 10; i < 20; i++) {
      assertThat(copy.acquire(holder("s" + i), null, T0 + i)).isEqualTo(pool.acquire(holder("s" + i), null, T0 + i));
    }
  }
}
