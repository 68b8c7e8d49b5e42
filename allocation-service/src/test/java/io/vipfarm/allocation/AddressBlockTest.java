package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.internal.serialization.Data;
import com.hazelcast.internal.serialization.InternalSerializationService;
import com.hazelcast.internal.serialization.impl.DefaultSerializationServiceBuilder;
import io.vipfarm.allocation.BlockReply.Outcome;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** One block, plain Java; every block a test touches must keep its invariants. */
class AddressBlockTest {
  private static final long T0 = 1_700_000_000_000L;
  private final List<AddressBlock> checked = new ArrayList<>();

  static PoolDefinition definition(String cidr, List<String> exclude, Map<String, String> reservations) {
    return PoolValidator.validate(new PoolSpec("p", cidr, exclude, reservations, 10));
  }

  private AddressBlock block(PoolDefinition definition, int address) {
    int number = AddressBlock.numberOf(address);
    AddressBlock block = AddressBlock.create("p", 7, number, 1, BlockRules.of(definition, number), T0);
    checked.add(block);
    return block;
  }

  private AddressBlock block(String cidr, List<String> exclude, Map<String, String> reservations) {
    PoolDefinition d = definition(cidr, exclude, reservations);
    return block(d, d.cidr().base());
  }

  private static LeaseHolder holder(String session) {
    return new LeaseHolder("host-1", "boot-1", session, null);
  }

  private static HeldLease grant(AddressBlock block, String session, String user, Integer preferred, long now) {
    BlockReply reply = block.allocate(holder(session), user, preferred, now);
    assertThat(reply.outcome()).isEqualTo(Outcome.GRANTED);
    return reply.lease();
  }

  @AfterEach
  void everyBlockKeepsItsInvariants() {
    for (AddressBlock block : checked) {
      assertThat(block.invariantViolations()).isEmpty();
    }
  }

  @Test
  @DisplayName("grants distinct addresses, skipping network, broadcast and exclusions, then answers FULL")
  void grantsThenFull() {
    AddressBlock block = block("127.1.0.0/29", List.of("127.1.0.2"), null);
    Set<String> addresses = new HashSet<>();
    Set<Long> fences = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      HeldLease lease = grant(block, "s" + i, null, null, T0);
      addresses.add(lease.addressText());
      fences.add(lease.fence());
      assertThat(lease.expiresAt()).isEqualTo(T0 + 10_000);
      assertThat(lease.fence() & AddressBlock.FENCE_BLOCK_MASK).isEqualTo(block.number() & AddressBlock.FENCE_BLOCK_MASK);
    }
    assertThat(addresses).containsExactlyInAnyOrder("127.1.0.1", "127.1.0.3", "127.1.0.4", "127.1.0.5", "127.1.0.6");
    assertThat(fences).hasSize(5);
    BlockReply full = block.allocate(holder("s5"), null, null, T0);
    assertThat(full.outcome()).isEqualTo(Outcome.FULL);
    assertThat(full.free()).isZero();
    assertThat(block.liveCount(T0)).isEqualTo(5);
  }

  @Test
  @DisplayName("a reserved address goes to its user only; a preferred address is used when free and allowed")
  void reservationsAndPreference() {
    AddressBlock block = block("127.1.0.0/29", null, Map.of("alice", "127.1.0.3"));
    int reserved = Ipv4Address.parse("127.1.0.3").bits();
    // bob asks for alice's reserved address (e.g. it was his sticky address before the reservation): refused it
    assertThat(grant(block, "b0", "bob", reserved, T0).addressText()).isNotEqualTo("127.1.0.3");
    for (int i = 1; i < 5; i++) {
      assertThat(grant(block, "b" + i, "bob", null, T0).addressText()).isNotEqualTo("127.1.0.3");
    }
    assertThat(block.allocate(holder("b5"), "bob", null, T0).outcome()).isEqualTo(Outcome.FULL);
    assertThat(grant(block, "a1", "alice", reserved, T0).addressText()).isEqualTo("127.1.0.3");
    assertThat(block.allocate(holder("a2"), "alice", reserved, T0).outcome()).isEqualTo(Outcome.FULL);
  }

  @Test
  @DisplayName("next-fit: an address just released is the last one reused in the block")
  void releasedGoLast() {
    AddressBlock block = block("127.1.0.0/29", null, null); // .1 .. .6
    HeldLease a = grant(block, "a", null, null, T0);
    assertThat(block.release(holder("a"), a.address(), a.fence(), T0).outcome()).isEqualTo(Outcome.RELEASED);
    List<String> next = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      next.add(grant(block, "n" + i, null, null, T0).addressText());
    }
    assertThat(next.get(5)).isEqualTo(a.addressText());
  }

  @Test
  @DisplayName("fences: stale renew/release refused and change nothing; double or unknown release is skipped")
  void fencing() {
    AddressBlock block = block("127.1.0.0/29", null, null);
    HeldLease lease = grant(block, "s1", null, null, T0);
    BlockReply stale = block.release(holder("s1"), lease.address(), lease.fence() - 1, T0);
    assertThat(stale.failure().type()).isEqualTo(ErrorType.STALE_LEASE);
    assertThat(block.renew(holder("s1"), lease.address(), lease.fence() + 1, T0).failure().type()).isEqualTo(ErrorType.STALE_LEASE);
    assertThat(block.liveCount(T0)).isEqualTo(1);
    assertThat(block.release(holder("s1"), lease.address(), lease.fence(), T0).outcome()).isEqualTo(Outcome.RELEASED);
    assertThat(block.release(holder("s1"), lease.address(), lease.fence(), T0).outcome()).isEqualTo(Outcome.SKIPPED);
    assertThat(block.release(holder("never"), lease.address(), 42, T0).outcome()).isEqualTo(Outcome.SKIPPED);
    HeldLease again = grant(block, "s1", null, lease.address(), T0);
    assertThat(again.address()).isEqualTo(lease.address());
    assertThat(again.fence()).isGreaterThan(lease.fence());
    assertThat(block.release(holder("s1"), lease.address(), lease.fence(), T0).failure().type()).isEqualTo(ErrorType.STALE_LEASE);
    assertThat(block.renew(holder("other"), lease.address(), again.fence(), T0).failure().type()).isEqualTo(ErrorType.UNKNOWN_LEASE);
  }

  @Test
  @DisplayName("renew and extendHeld extend, never shorten; due leases are freed by any operation")
  void renewAndExpiry() {
    AddressBlock block = block("127.1.0.0/29", null, null);
    HeldLease lease = grant(block, "s1", null, null, T0);
    assertThat(block.renew(holder("s1"), lease.address(), lease.fence(), T0 + 9_000).lease().expiresAt()).isEqualTo(T0 + 19_000);
    assertThat(block.extendHeld(holder("s1"), lease.address(), lease.fence(), T0 + 1_000).lease().expiresAt()).isEqualTo(T0 + 19_000);
    HeldLease other = grant(block, "s2", null, null, T0 + 5_000);
    BlockReply later = block.allocate(holder("s3"), null, null, T0 + 15_000);
    assertThat(later.expired()).extracting(HeldLease::holder).containsExactly(holder("s2"));
    assertThat(block.extendHeld(holder("s2"), other.address(), other.fence(), T0 + 15_000).outcome()).isEqualTo(Outcome.NOT_HELD);
    assertThat(block.leases(LeaseFilter.of(null), T0 + 15_000)).extracting(HeldLease::holder)
        .containsExactlyInAnyOrder(holder("s1"), holder("s3"));
  }

  @Test
  @DisplayName("redefine: prepare refuses a lost lease naming the field; pending rules restrict until commit or abort")
  void prepareCommitAbort() {
    PoolDefinition wide = definition("127.1.0.0/29", null, null);
    AddressBlock block = block(wide, wide.cidr().base());
    HeldLease a = grant(block, "a", "ann", null, T0);
    BlockReply conflict = block.prepare(2, definition("127.1.0.0/29", List.of(a.addressText()), null), T0);
    assertThat(conflict.failure().type()).isEqualTo(ErrorType.POOL_IN_USE);
    assertThat(conflict.failure().field()).isEqualTo("exclude");
    assertThat(block.pending()).isNull();
    assertThat(block.prepare(3, definition("127.1.0.0/29", null, Map.of("cat", a.addressText())), T0).failure().field())
        .isEqualTo("reservations.cat");
    // exclude everything but a's address and one other: while pending, only that other may be handed out
    String keep = a.addressText().equals("127.1.0.1") ? "127.1.0.2" : "127.1.0.1";
    List<String> others = new ArrayList<>();
    for (int i = 1; i <= 6; i++) {
      String ip = "127.1.0." + i;
      if (!ip.equals(a.addressText()) && !ip.equals(keep)) {
        others.add(ip);
      }
    }
    PoolDefinition narrow = definition("127.1.0.0/29", others, null);
    assertThat(block.prepare(4, narrow, T0).outcome()).isEqualTo(Outcome.DONE);
    HeldLease b = grant(block, "b", null, null, T0);
    assertThat(b.addressText()).isEqualTo(keep);
    assertThat(block.allocate(holder("c"), null, null, T0).outcome()).isEqualTo(Outcome.FULL);
    block.abort(4);
    assertThat(grant(block, "c", null, null, T0).addressText()).isNotIn(a.addressText(), b.addressText());
    assertThat(block.prepare(5, definition("127.1.0.0/28", null, null), T0).outcome()).isEqualTo(Outcome.DONE);
    block.commit(5);
    assertThat(block.generation()).isEqualTo(5);
    assertThat(block.rules()).isEqualTo(BlockRules.of(definition("127.1.0.0/28", null, null), block.number()));
  }

  @Test
  @DisplayName("retire is refused while a lease lives; a retired block grants nothing until unretired")
  void retire() {
    AddressBlock block = block("127.1.0.0/29", null, null);
    HeldLease a = grant(block, "a", null, null, T0);
    assertThat(block.retire(T0).failure().type()).isEqualTo(ErrorType.POOL_IN_USE);
    block.release(holder("a"), a.address(), a.fence(), T0);
    assertThat(block.retire(T0).outcome()).isEqualTo(Outcome.DONE);
    assertThat(block.allocate(holder("b"), null, null, T0).outcome()).isEqualTo(Outcome.GONE);
    block.unretire();
    assertThat(block.allocate(holder("b"), null, null, T0).outcome()).isEqualTo(Outcome.GRANTED);
  }

  @Test
  @DisplayName("small pools inside one block (/32, /31) and a block of a /8 with a /9 excluded")
  void geometry() {
    AddressBlock single = block("127.1.0.9/32", null, null);
    assertThat(grant(single, "a", null, null, T0).addressText()).isEqualTo("127.1.0.9");
    assertThat(single.allocate(holder("b"), null, null, T0).outcome()).isEqualTo(Outcome.FULL);
    PoolDefinition big = definition("10.0.0.0/8", List.of("10.0.0.0/9"), null);
    assertThat(BlockRules.of(big, AddressBlock.numberOf(Ipv4Address.parse("10.1.2.0").bits())).usable()).isZero();
    AddressBlock high = block(big, Ipv4Address.parse("10.200.0.64").bits());
    assertThat(high.freeCount(T0)).isEqualTo(64);
  }

  @Test
  @DisplayName("IdentifiedDataSerializable round trip keeps the block and its behaviour (what a backup or migration gets)")
  void serialization() {
    InternalSerializationService ss = new DefaultSerializationServiceBuilder()
        .addDataSerializableFactory(AllocationSerialization.FACTORY_ID, new AllocationSerialization()).build();
    AddressBlock block = block("127.1.0.0/26", List.of("127.1.0.4"), Map.of("alice", "127.1.0.9"));
    for (int i = 0; i < 6; i++) {
      grant(block, "s" + i, "u" + i, null, T0);
    }
    Data data = ss.toData(block);
    AddressBlock copy = ss.toObject(data);
    checked.add(copy);
    assertThat(copy.leases(LeaseFilter.of(null), T0)).isEqualTo(block.leases(LeaseFilter.of(null), T0));
    for (int i = 10; i < 20; i++) {
      assertThat(copy.allocate(holder("s" + i), null, null, T0 + i)).isEqualTo(block.allocate(holder("s" + i), null, null, T0 + i));
    }
    BlockKey key = ss.toObject(ss.toData(new BlockKey("p", 42)));
    assertThat(key).isEqualTo(new BlockKey("p", 42));
  }

  @Test
  @DisplayName("one allocate for several requests (a member's queued grants): preferred addresses first, then next free, then FULL; a backup replaying it after serialization gets the same")
  void allocateMany() {
    InternalSerializationService ss = new DefaultSerializationServiceBuilder()
        .addDataSerializableFactory(AllocationSerialization.FACTORY_ID, new AllocationSerialization()).build();
    PoolDefinition d = definition("127.1.0.0/29", null, null);
    AddressBlock primary = block(d, d.cidr().base());
    AddressBlock backup = ss.toObject(ss.toData(primary));
    checked.add(backup);
    int preferred = Ipv4Address.parse("127.1.0.1").bits();
    List<BlockProcessors.Grant> grants = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      grants.add(new BlockProcessors.Grant(holder("s" + i), "u" + i, i == 3 ? preferred : null));
    }
    BlockProcessors.Allocate op = new BlockProcessors.Allocate(7, grants, T0);
    List<BlockReply> replies = ((Messages.Replies) ss.toObject(ss.toData(
        op.process(new java.util.AbstractMap.SimpleEntry<>(new BlockKey("p", primary.number()), primary))))).replies;
    // a /29 has 6 usable addresses: the seventh request is FULL; the fourth got the address it prefers
    assertThat(replies).extracting(BlockReply::outcome).containsExactly(Outcome.GRANTED, Outcome.GRANTED,
        Outcome.GRANTED, Outcome.GRANTED, Outcome.GRANTED, Outcome.GRANTED, Outcome.FULL);
    assertThat(replies.get(3).lease().addressText()).isEqualTo("127.1.0.1");
    assertThat(replies.subList(0, 6)).extracting(r -> r.lease().address()).doesNotHaveDuplicates();
    BlockProcessors.Allocate replayed = ss.toObject(ss.toData(op));
    List<BlockReply> onBackup = replayed.process(new java.util.AbstractMap.SimpleEntry<>(new BlockKey("p", backup.number()), backup)).replies;
    assertThat(onBackup).isEqualTo(replies);
    assertThat(backup.leases(LeaseFilter.of(null), T0)).isEqualTo(primary.leases(LeaseFilter.of(null), T0));
  }
}
