package io.vipfarm.allocation;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
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
 *
 * <p>Blocks are also affine to hosts, as Calico's are ({@link #nextFor}): a host's grants go to the
 * block its last grant came from while it has room, then to an empty block that at most
 * {@link #HOSTS_PER_BLOCK} hosts share, and only when none is left to any block with room. A host's
 * addresses then lie close together, so its allocations are a few block reads (with the sessions of
 * 100 hosts starting at once, each block held leases of 64 hosts, and a host's page of 500 rows read
 * 500 blocks). Shared by a few hosts rather than one: a block of its own for each of 1000 hosts whose
 * sessions start at once is 1000 block claims at once, each three hops in line on the pool record.
 */
final class BlockHints {
  static final short UNKNOWN = -1;

  private final PoolDefinition definition;
  private final int firstBlock;
  private final int blockCount;
  private final short[] free;
  private final int start;
  private final AtomicInteger cursor;
  /** Where the search for an empty block goes on from; {@code blockCount} once a full circle found none. */
  private final AtomicInteger emptyCursor = new AtomicInteger();
  /** The block of each host's last grant through this member. A hint: cleared with the counts. */
  private final Map<String, Integer> hostBlocks = new ConcurrentHashMap<>();
  /** More hosts than this on one member and the map starts again (hosts come and go). */
  static final int MAX_HOSTS = 65_536;
  /** Hosts that move into one empty block (a host's page reads at most ~4x the blocks of its own). */
  static final int HOSTS_PER_BLOCK = 4;
  /** The empty block hosts moving on are given now, and how many were given it. */
  private volatile int opened = -1;
  private final AtomicInteger openedHosts = new AtomicInteger();
  /** How many of the empty blocks ahead of the search are created before a host needs them. */
  static final int CREATE_AHEAD = 2;
  /** The blocks handed out by {@link #toCreateAhead}; cleared with the counts. */
  private final Set<Integer> createdAhead = ConcurrentHashMap.newKeySet();
  /** The empty search's position when {@link #toCreateAhead} last looked, so that it looks once per move. */
  private volatile int lookedAheadAt = -1;
  /** What {@link #toCreateAhead} answers on most acquires (nothing moved): no allocation each time. */
  private static final int[] NONE = new int[0];

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
      if (take(i)) {
        if (step > 0) {
          cursor.set(i);
        }
        return firstBlock + i;
      }
      free[i] = 0;
    }
    return -1;
  }

  /**
   * The next block to try for a grant to {@code host}: its own block while that has room, else the
   * empty block a few hosts share (which becomes its own), else {@link #next()}. Takes one address on
   * account like {@link #next()}.
   */
  int nextFor(String host) {
    Integer own = hostBlocks.get(host);
    if (own != null && take(own - firstBlock)) {
      return own;
    }
    int shared = opened;
    int chosen = -1;
    if (shared >= 0 && openedHosts.incrementAndGet() <= HOSTS_PER_BLOCK && take(shared - firstBlock)) {
      chosen = shared;
    } else {
      chosen = nextEmpty();
      if (chosen >= 0) {
        opened = chosen;
        openedHosts.set(1);
      } else {
        chosen = next();
      }
    }
    if (chosen >= 0) {
      if (hostBlocks.size() >= MAX_HOSTS) {
        hostBlocks.clear();
      }
      hostBlocks.put(host, chosen);
    }
    return chosen;
  }

  /** Takes one address of block {@code i} on account when it may have room. */
  private boolean take(int i) {
    int f = free[i];
    if (f == UNKNOWN) {
      f = Long.bitCount(BlockRules.of(definition, firstBlock + i).unreservedMask());
    }
    if (f <= 0) {
      return false;
    }
    free[i] = (short) (f - 1);
    return true;
  }

  /**
   * A block with no lease as far as this member knows (never seen, or every unreserved address free),
   * searched from this member's start; -1 once a full circle found none, until the next refresh.
   */
  private int nextEmpty() {
    for (int step = emptyCursor.get(); step < blockCount; step = emptyCursor.incrementAndGet()) {
      int i = (start + step) % blockCount;
      int unreserved = Long.bitCount(BlockRules.of(definition, firstBlock + i).unreservedMask());
      if (unreserved > 0 && (free[i] == UNKNOWN || free[i] == unreserved)) {
        free[i] = (short) (unreserved - 1);
        emptyCursor.incrementAndGet();
        return firstBlock + i;
      }
    }
    return -1;
  }

  /**
   * The blocks among the next {@link #CREATE_AHEAD} that {@link #nextEmpty} will open that may not exist
   * yet (never seen by this member) and were not handed out before: the service creates them now. A
   * block's creation is three operations in line on the pool record and the block, and in a logon storm
   * the hosts that move on to a new block otherwise all wait for it (docs/benchmarks.md, Allocation,
   * 2026-12-05). Cheap when nothing moved: one read.
   */
  int[] toCreateAhead() {
    int at = emptyCursor.get();
    if (at == lookedAheadAt || at >= blockCount) {
      return NONE;
    }
    lookedAheadAt = at;
    int[] found = new int[CREATE_AHEAD];
    int count = 0;
    int seen = 0;
    for (int step = at; step < blockCount && seen < CREATE_AHEAD; step++) {
      int i = (start + step) % blockCount;
      int unreserved = Long.bitCount(BlockRules.of(definition, firstBlock + i).unreservedMask());
      if (unreserved > 0 && (free[i] == UNKNOWN || free[i] == unreserved)) {
        seen++;
        if (free[i] == UNKNOWN && createdAhead.add(firstBlock + i)) {
          found[count++] = firstBlock + i;
        }
      }
    }
    return Arrays.copyOf(found, count);
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
    emptyCursor.set(0);
    hostBlocks.clear();
    opened = -1;
    createdAhead.clear();
    lookedAheadAt = -1;
  }
}
