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

  private int first() {
    return AddressBlock.numberOf(Ipv4Address.parse("127.140.0.0").bits());
  }
}
