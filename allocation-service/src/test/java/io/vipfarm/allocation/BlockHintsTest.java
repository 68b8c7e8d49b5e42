package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A member's block hints, plain Java: host affinity, and what is left when the blocks run out. */
class BlockHintsTest {
  /** 16 blocks of 64; the first and the last lose the network and broadcast addresses. */
  private final PoolDefinition definition = AddressBlockTest.definition("127.140.0.0/22", List.of(), Map.of());
  private final BlockHints hints = new BlockHints(definition, 42);

  @Test
  @DisplayName("hosts whose sessions start at once fill blocks of their own, a few hosts to a block")
  void interleavedHostsGetBlocksOfTheirOwn() {
    Map<String, Set<Integer>> blocksOf = new HashMap<>();
    Map<Integer, Set<String>> hostsOf = new HashMap<>();
    for (int i = 0; i < 8 * 7; i++) {
      String host = "h" + i % 8;
      int block = hints.nextFor(host);
      blocksOf.computeIfAbsent(host, h -> new HashSet<>()).add(block);
      hostsOf.computeIfAbsent(block, b -> new HashSet<>()).add(host);
    }
    assertThat(blocksOf.values()).allSatisfy(blocks -> assertThat(blocks).hasSize(1));
    assertThat(hostsOf).hasSize(8 / BlockHints.HOSTS_PER_BLOCK);
    assertThat(hostsOf.values()).allSatisfy(hosts -> assertThat(hosts).hasSize(BlockHints.HOSTS_PER_BLOCK));
  }

  @Test
  @DisplayName("a host whose block is full moves to an empty block; a block another member filled is not taken again")
  void aFullBlockMovesTheHostOn() {
    int first = hints.nextFor("h1");
    hints.update(first, 0);
    int second = hints.nextFor("h1");
    assertThat(second).isNotEqualTo(first);
    assertThat(hints.nextFor("h1")).isEqualTo(second);

    // the block the hints would offer next turns out half full (another member's grants)
    int third = hints.nextFor("h2");
    hints.update(third, 20);
    assertThat(hints.nextFor("h2")).as("still the host's own: it has room").isEqualTo(third);
  }

  @Test
  @DisplayName("when no block is empty, hosts share the blocks that have room; when none has, -1")
  void withoutEmptyBlocksHostsShare() {
    for (int number = first(); number < first() + 16; number++) {
      hints.update(number, number == first() + 5 ? 3 : 0);
    }
    assertThat(hints.nextFor("h1")).isEqualTo(first() + 5);
    assertThat(hints.nextFor("h2")).isEqualTo(first() + 5);
    assertThat(hints.nextFor("h3")).isEqualTo(first() + 5);
    assertThat(hints.nextFor("h4")).isEqualTo(-1);

    // a refresh forgets what it knew, affinities included
    hints.refresh(Map.of(first() + 7, 64));
    assertThat(hints.nextFor("h1")).isBetween(first(), first() + 15);
  }

  @Test
  @DisplayName("the empty blocks ahead of the search are handed out for creation once each, only those never seen")
  void emptyBlocksAheadAreCreatedOnce() {
    int opened = hints.nextFor("h0");
    int[] ahead = hints.toCreateAhead();
    assertThat(ahead).hasSize(BlockHints.CREATE_AHEAD).doesNotContain(opened).doesNotHaveDuplicates();
    assertThat(hints.toCreateAhead()).as("nothing moved").isEmpty();

    // three more hosts share the opened block; the fifth opens the next empty one: the first created ahead
    for (int h = 1; h < BlockHints.HOSTS_PER_BLOCK; h++) {
      assertThat(hints.nextFor("h" + h)).isEqualTo(opened);
    }
    assertThat(hints.toCreateAhead()).isEmpty();
    assertThat(hints.nextFor("h4")).isEqualTo(ahead[0]);
    // the window moved by one: one block more to create, the other was handed out already
    int[] more = hints.toCreateAhead();
    assertThat(more).hasSize(1).doesNotContain(ahead).doesNotContain(opened);

    // a block that exists (another member's reply said it is empty) is opened, but not created again
    int next = first() + (more[0] - first() + 1) % 16;
    hints.update(next, Long.bitCount(BlockRules.of(definition, next).unreservedMask()));
    for (int h = 5; h < 4 + 2 * BlockHints.HOSTS_PER_BLOCK; h++) {
      hints.nextFor("h" + h);
    }
    assertThat(hints.toCreateAhead()).as("the window: one handed out already, one that exists").isEmpty();

    // a refresh tells which blocks exist: those that do not are handed out again
    hints.refresh(Map.of(opened, 0));
    assertThat(hints.nextFor("h0")).isNotEqualTo(opened);
    assertThat(hints.toCreateAhead()).hasSize(BlockHints.CREATE_AHEAD).doesNotContain(opened);
  }

  private int first() {
    return AddressBlock.numberOf(Ipv4Address.parse("127.140.0.0").bits());
  }
}
