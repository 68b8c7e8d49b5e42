package io.vipfarm.allocation;

import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One member's idea of which blocks of a pool still have room: a free count per block, learnt from the
 * replies of its own block operations and from a full refresh when it runs out of candidates. Only a
 * hint: the block itself decides, so a stale hint costs one wasted hop, never a wrong grant. Races
 * between threads on the array are harmless for the same reason.
 *
 * <p>Each member starts at its own place in the pool (seeded by its id, as Calico seeds by host name)
 * and moves forward, so members fill different blocks and rarely contend for one. It goes back to the
 * first block (from its start) that a reply says has room, so blocks fill up before new ones are
 * claimed: a block claim costs three extra hops, and a sparse block costs memory on every member that
 * holds a copy (without this, 30,000 acquires at 64 in flight left ~5 leases per block).
 */
final class BlockHints {
  static final short UNKNOWN = -1;

  private final PoolDefinition definition;
  private final int firstBlock;
  private final int blockCount;
  private final short[] free;
  private final int start;
  private final AtomicInteger cursor;

  BlockHints(PoolDefinition definition, long seed) {
    this.definition = definition;
    long first = Integer.toUnsignedLong(definition.cidr().base());
    long last = first + definition.cidr().size() - 1;
    this.firstBlock = (int) (first >>> AddressBlock.BITS);
    this.blockCount = (int) ((last >>> AddressBlock.BITS) - firstBlock + 1);
    this.free = new short[blockCount];
    java.util.Arrays.fill(free, UNKNOWN);
    this.start = Math.floorMod(Long.hashCode(seed * 0x9E3779B97F4A7C15L), blockCount);
    this.cursor = new AtomicInteger(start);
  }

  int blockCount() {
    return blockCount;
  }

  /**
   * The next block to try, or -1 when every block is known to be full (or taken by requests in flight).
   * Takes one address of the block's count on account, so concurrent acquires of this member spread
   * over as many blocks as they need instead of all racing for the last addresses of one; the block's
   * reply then sets the true count.
   */
  int next() {
    int start = cursor.get();
    for (int step = 0; step < blockCount; step++) {
      int i = (start + step) % blockCount;
      int f = free[i];
      if (f == UNKNOWN) {
        f = Long.bitCount(BlockRules.of(definition, firstBlock + i).unreservedMask());
      }
      if (f > 0) {
        free[i] = (short) (f - 1);
        if (step > 0) {
          cursor.set(i);
        }
        return firstBlock + i;
      }
      free[i] = 0;
    }
    return -1;
  }

  void update(int number, int freeCount) {
    int i = number - firstBlock;
    if (i >= 0 && i < blockCount) {
      free[i] = (short) freeCount;
      if (freeCount > 0) {
        backTo(i);
      }
    }
  }

  /** Moves the cursor back to block {@code i} when it lies before the cursor (counting from this member's start). */
  private void backTo(int i) {
    int at = cursor.get();
    while (Math.floorMod(i - start, blockCount) < Math.floorMod(at - start, blockCount)
        && !cursor.compareAndSet(at, i)) {
      at = cursor.get();
    }
  }

  /** Replaces what is known of the existing blocks; blocks not listed do not exist yet (so are free). */
  void refresh(Map<Integer, Integer> freeByExistingBlock) {
    for (int i = 0; i < blockCount; i++) {
      Integer f = freeByExistingBlock.get(firstBlock + i);
      if (f != null) {
        free[i] = (short) (int) f;
      } else if (free[i] != 0 || BlockRules.of(definition, firstBlock + i).unreservedMask() != 0) {
        free[i] = UNKNOWN;
      }
    }
    cursor.set(start);
  }
}
