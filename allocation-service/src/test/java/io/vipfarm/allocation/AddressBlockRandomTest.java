package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.allocation.BlockReply.Outcome;
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
 * Seeded random operation sequences on one block, driven as the service drives it (a key index kept by
 * the caller, the reservation as the preferred address, redefinition by prepare + commit), checked after
 * every step against an oracle that knows only the rules and rebuilds the free addresses from scratch.
 */
class AddressBlockRandomTest {
  private static final long T0 = 1_700_000_000_000L;
  private static final String CIDR = "127.7.0.0/28"; // .1 .. .14 usable, one block
  private static final String TOGGLED = "127.7.0.9";
  private static final Map<String, String> RESERVATIONS = Map.of("alice", "127.7.0.5");
  private static final String[] USERS = {"alice", "bob", "carol", null};

  private record Held(int address, long fence, long expiresAt, String user) {}

  private static PoolDefinition definition(boolean excludeToggled) {
    return PoolValidator.validate(new PoolSpec("r", CIDR, excludeToggled ? List.of(TOGGLED) : List.of(), RESERVATIONS, 10));
  }

  private static Set<Integer> freeFor(PoolDefinition d, Map<LeaseHolder, Held> held, String user) {
    Set<Integer> leased = new HashSet<>();
    held.values().forEach(h -> leased.add(h.address()));
    Set<Integer> out = new HashSet<>();
    for (long o = 0; o < d.cidr().size(); o++) {
      int a = d.cidr().addressAt(o);
      String reservedFor = d.reservedFor(a);
      if (d.isUsable(a) && !leased.contains(a) && (reservedFor == null || reservedFor.equals(user))) {
        out.add(a);
      }
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 4711, 20240601})
  void randomOperationsFollowTheRules(long seed) {
    Random random = new Random(seed);
    PoolDefinition def = definition(false);
    boolean excluded = false;
    long generation = 1;
    int number = AddressBlock.numberOf(def.cidr().base());
    AddressBlock block = AddressBlock.create("r", 1, number, generation, BlockRules.of(def, number), T0);
    Map<LeaseHolder, Held> oracle = new HashMap<>();
    List<LeaseHolder> holders = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      holders.add(new LeaseHolder("h" + (i % 3), "boot", "s" + i, i % 5 == 0 ? "prog" : null));
    }
    long now = T0;
    for (int step = 0; step < 3_000; step++) {
      String at = "seed " + seed + " step " + step;
      now += random.nextInt(1_500);
      long t = now;
      oracle.values().removeIf(h -> h.expiresAt() <= t);
      LeaseHolder holder = holders.get(random.nextInt(holders.size()));
      Held current = oracle.get(holder);
      int op = random.nextInt(100);
      if (op < 45) {
        String user = USERS[random.nextInt(USERS.length)];
        if (current != null) {
          BlockReply r = block.extendHeld(holder, current.address(), current.fence(), now);
          assertThat(r.outcome()).as(at).isEqualTo(Outcome.EXTENDED);
          assertThat(r.lease().fence()).as(at).isEqualTo(current.fence());
          oracle.put(holder, new Held(current.address(), current.fence(), Math.max(current.expiresAt(), now + 10_000), current.user()));
        } else {
          Set<Integer> free = freeFor(def, oracle, user);
          Integer reserved = def.reservationOf(user);
          BlockReply r = block.allocate(holder, user, reserved, now);
          if (free.isEmpty()) {
            assertThat(r.outcome()).as(at).isEqualTo(Outcome.FULL);
          } else if (r.is(Outcome.FULL)) {
            // only the user's own reservation may be left, and it is taken only when preferred
            assertThat(free).as(at).containsOnly(reserved == null ? -1 : reserved);
          } else {
            assertThat(r.outcome()).as(at).isEqualTo(Outcome.GRANTED);
            assertThat(free).as(at).contains(r.lease().address());
            if (reserved != null && free.contains(reserved)) {
              assertThat(r.lease().address()).as(at + ": reserved address").isEqualTo(reserved);
            }
            oracle.put(holder, new Held(r.lease().address(), r.lease().fence(), now + 10_000, user));
          }
        }
      } else if (op < 65 && current != null) {
        long fence = current.fence() - (random.nextInt(4) == 0 ? 1 : 0);
        BlockReply r = block.renew(holder, current.address(), fence, now);
        if (fence != current.fence()) {
          assertThat(r.failure().type()).as(at).isEqualTo(ErrorType.STALE_LEASE);
        } else {
          assertThat(r.outcome()).as(at).isEqualTo(Outcome.EXTENDED);
          oracle.put(holder, new Held(current.address(), current.fence(), Math.max(current.expiresAt(), now + 10_000), current.user()));
        }
      } else if (op < 90 && current != null) {
        long fence = current.fence() - (random.nextInt(4) == 0 ? 1 : 0);
        BlockReply r = block.release(holder, current.address(), fence, now);
        if (fence != current.fence()) {
          assertThat(r.failure().type()).as(at).isEqualTo(ErrorType.STALE_LEASE);
        } else {
          assertThat(r.outcome()).as(at).isEqualTo(Outcome.RELEASED);
          oracle.remove(holder);
        }
      } else if (op < 95) {
        PoolDefinition next = definition(!excluded);
        int toggled = Ipv4Address.parse(TOGGLED).bits();
        boolean blocked = !excluded && oracle.values().stream().anyMatch(h -> h.address() == toggled);
        BlockReply r = block.prepare(generation + 1, next, now);
        if (blocked) {
          assertThat(r.failure().type()).as(at).isEqualTo(ErrorType.POOL_IN_USE);
        } else {
          assertThat(r.outcome()).as(at).isEqualTo(Outcome.DONE);
          block.commit(++generation);
          excluded = !excluded;
          def = next;
        }
      } else {
        block.expireDue(now);
      }
      assertThat(block.invariantViolations()).as(at).isEmpty();
      Map<LeaseHolder, Held> actual = new HashMap<>();
      for (HeldLease l : block.leases(LeaseFilter.of(null), now)) {
        actual.put(l.holder(), new Held(l.address(), l.fence(), l.expiresAt(), l.user()));
      }
      assertThat(actual).as(at).isEqualTo(oracle);
      assertThat(block.liveCount(now)).as(at).isEqualTo(oracle.size());
    }
  }
}
