package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Seeded random operation sequences on one small pool, checked after every step against an oracle
 * that knows only the rules (who holds what, with which fence, until when) and rebuilds its view of
 * free addresses from scratch each time.
 */
class PoolLeasesRandomTest {
  private static final long T0 = 1_700_000_000_000L;
  private static final String CIDR = "127.7.0.0/28"; // .1 .. .14 usable
  private static final String TOGGLED = "127.7.0.9";
  private static final Map<String, String> RESERVATIONS = Map.of("alice", "127.7.0.5");
  private static final String[] USERS = {"alice", "bob", "carol", null};

  private record Held(int address, long fence, long expiresAt, String user) {}

  /** The rules, naively. */
  private static final class Oracle {
    final Map<LeaseHolder, Held> held = new HashMap<>();
    PoolDefinition definition;

    void expire(long now) {
      held.values().removeIf(h -> h.expiresAt() <= now);
    }

    Set<Integer> leased() {
      Set<Integer> out = new HashSet<>();
      held.values().forEach(h -> out.add(h.address()));
      return out;
    }

    /** Addresses {@code user} could be given now. */
    Set<Integer> freeFor(String user) {
      Set<Integer> out = new HashSet<>();
      Ipv4Cidr cidr = definition.cidr();
      for (long o = 0; o < cidr.size(); o++) {
        int a = cidr.addressAt(o);
        String reservedFor = definition.reservedFor(a);
        if (definition.isUsable(a) && !leased().contains(a) && (reservedFor == null || reservedFor.equals(user))) {
          out.add(a);
        }
      }
      return out;
    }
  }

  private static PoolDefinition definition(boolean excludeToggled) {
    return PoolValidator.validate(new PoolSpec("r", CIDR, excludeToggled ? List.of(TOGGLED) : List.of(), RESERVATIONS, 10));
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 4711, 20240601})
  void randomOperationsFollowTheRules(long seed) {
    Random random = new Random(seed);
    boolean excluded = false;
    PoolLeases pool = PoolLeases.create(definition(false), T0);
    Oracle oracle = new Oracle();
    oracle.definition = pool.definition();
    List<LeaseHolder> holders = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      holders.add(new LeaseHolder("h" + (i % 3), "boot", "s" + i, i % 5 == 0 ? "prog" : null));
    }
    long now = T0;
    for (int step = 0; step < 3_000; step++) {
      String at = "seed " + seed + " step " + step;
      now += random.nextInt(1_500);
      oracle.expire(now);
      LeaseHolder holder = holders.get(random.nextInt(holders.size()));
      Held current = oracle.held.get(holder);
      int op = random.nextInt(100);
      if (op < 45) {
        String user = USERS[random.nextInt(USERS.length)];
        Set<Integer> free = oracle.freeFor(user);
        Change<Grant> change = pool.acquire(holder, user, now);
        if (current != null) {
          assertThat(change.value().renewed()).as(at).isTrue();
          assertThat(change.value().lease().address()).as(at).isEqualTo(current.address());
          assertThat(change.value().lease().fence()).as(at).isEqualTo(current.fence());
          oracle.held.put(holder, new Held(current.address(), current.fence(),
              Math.max(current.expiresAt(), now + 10_000), current.user()));
        } else if (free.isEmpty()) {
          assertThat(change.failure()).as(at).isNotNull();
          assertThat(change.failure().type()).as(at).isEqualTo(ErrorType.POOL_EXHAUSTED);
        } else {
          HeldLease lease = change.valueOrThrow().lease();
          assertThat(free).as(at).contains(lease.address());
          Integer reserved = oracle.definition.reservationOf(user);
          if (reserved != null && free.contains(reserved)) {
            assertThat(lease.address()).as(at + ": reserved address").isEqualTo(reserved);
          }
          oracle.held.put(holder, new Held(lease.address(), lease.fence(), now + 10_000, user));
        }
      } else if (op < 65) {
        long fence = current == null ? random.nextLong(1, 1_000) : current.fence() - (random.nextInt(4) == 0 ? 1 : 0);
        Change<HeldLease> change = pool.renew(holder, fence, now);
        if (current == null) {
          assertThat(change.failure().type()).as(at).isEqualTo(ErrorType.UNKNOWN_LEASE);
        } else if (fence != current.fence()) {
          assertThat(change.failure().type()).as(at).isEqualTo(ErrorType.STALE_LEASE);
        } else {
          assertThat(change.valueOrThrow().address()).as(at).isEqualTo(current.address());
          oracle.held.put(holder, new Held(current.address(), current.fence(),
              Math.max(current.expiresAt(), now + 10_000), current.user()));
        }
      } else if (op < 90) {
        long fence = current == null ? 7 : current.fence() - (random.nextInt(4) == 0 ? 1 : 0);
        Change<Release> change = pool.release(holder, fence, now);
        if (current == null) {
          assertThat(change.valueOrThrow().released()).as(at).isFalse();
        } else if (fence != current.fence()) {
          assertThat(change.failure().type()).as(at).isEqualTo(ErrorType.STALE_LEASE);
        } else {
          assertThat(change.valueOrThrow().released()).as(at).isTrue();
          oracle.held.remove(holder);
        }
      } else if (op < 95) {
        PoolDefinition next = definition(!excluded);
        int toggled = Ipv4Address.parse(TOGGLED).bits();
        boolean blocked = !excluded && oracle.leased().contains(toggled);
        Change<PoolSnapshot> change = pool.redefine(next, now);
        if (blocked) {
          assertThat(change.failure().type()).as(at).isEqualTo(ErrorType.POOL_IN_USE);
        } else {
          assertThat(change.succeeded()).as(at).isTrue();
          excluded = !excluded;
          oracle.definition = next;
        }
      } else {
        pool.expireDue(now);
      }
      assertThat(pool.invariantViolations()).as(at).isEmpty();
      Map<LeaseHolder, Held> actual = new HashMap<>();
      for (HeldLease l : pool.leases(LeaseFilter.of(null), now)) {
        actual.put(l.holder(), new Held(l.address(), l.fence(), l.expiresAt(), l.user()));
      }
      assertThat(actual).as(at).isEqualTo(oracle.held);
      assertThat(pool.snapshot(now).used()).as(at).isEqualTo(oracle.held.size());
    }
  }
}
