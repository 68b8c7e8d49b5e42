package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.internal.serialization.InternalSerializationService;
import com.hazelcast.internal.serialization.impl.DefaultSerializationServiceBuilder;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PoolRecordTest {
  private static final InternalSerializationService SERIALIZATION = new DefaultSerializationServiceBuilder()
      .addDataSerializableFactory(AllocationSerialization.FACTORY_ID, new AllocationSerialization()).build();

  private static PoolRecord record(String cidr) {
    return PoolRecord.create(PoolValidator.validate(new PoolSpec("p", cidr, null, null, 0)), 7);
  }

  private static int block(String address) {
    return AddressBlock.numberOf(Ipv4Address.parse(address).bits());
  }

  /** The record knows exactly the claimed blocks, in order, and so does its serialized copy. */
  private static void assertClaims(PoolRecord record, TreeSet<Integer> expected, int first, int last) {
    PoolRecord copy = SERIALIZATION.toObject(SERIALIZATION.toData(record));
    for (PoolRecord r : List.of(record, copy)) {
      assertThat(r.claimedBlocks()).containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());
      for (int n = first; n <= last; n++) {
        assertThat(r.isClaimed(n)).as("block %d", n).isEqualTo(expected.contains(n));
      }
    }
  }

  @Test
  @DisplayName("claims in any order, also below the lowest one so far, are kept exactly, through serialization too")
  void claimsInAnyOrder() {
    int first = block("127.100.0.0");
    int last = block("127.100.255.192");
    Random random = new Random(3);
    for (int run = 0; run < 20; run++) {
      PoolRecord record = record("127.100.0.0/16");
      TreeSet<Integer> expected = new TreeSet<>();
      assertClaims(record, expected, first, last);
      List<Integer> order = new ArrayList<>();
      // from the top down first: every claim lands below the lowest one, several words apart
      for (int k = 0; k < 6; k++) {
        order.add(last - k * 150);
      }
      for (int k = 0; k < 40; k++) {
        order.add(first + random.nextInt(last - first + 1));
      }
      order.add(first);
      for (int n : order) {
        record = record.withClaim(n);
        expected.add(n);
        assertClaims(record, expected, first, last);
      }
    }
  }

  @Test
  @DisplayName("a claim makes a new record: the one it was made from is unchanged")
  void claimCopies() {
    PoolRecord before = record("127.100.0.0/16").withClaim(block("127.100.8.0"));
    PoolRecord after = before.withClaim(block("127.100.0.64"));
    assertThat(before.claimedBlocks()).containsExactly(block("127.100.8.0"));
    assertThat(after.claimedBlocks()).containsExactly(block("127.100.0.64"), block("127.100.8.0"));
  }

  @Test
  @DisplayName("a pool high in its /8 ships its claims, not the zero words below them")
  void compactHighInTheSlash8() {
    PoolRecord record = record("127.240.0.0/12");
    for (int k = 0; k < 64; k++) {
      record = record.withClaim(block("127.240.0.0") + k);
    }
    PoolRecord empty = record("127.240.0.0/12");
    // 64 claims are one word: 8 bytes more than no claim (127.240.0.0 is 30,720 words into the /8)
    assertThat(SERIALIZATION.toData(record).totalSize() - SERIALIZATION.toData(empty).totalSize()).isEqualTo(8);
  }
}
