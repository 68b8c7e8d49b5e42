package io.vipfarm.allocation;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.BitSet;

/**
 * The small per-pool entry of {@link AllocationMaps#POOLS}: the definition, which blocks exist, and
 * the state of an administrative change in progress. The lease path reads it only when a member first
 * meets the pool or claims a new block (once per block's life), never per lease.
 *
 * <p>Immutable: every change makes a new record, so a record handed out by an entry processor can
 * never change under its reader.
 *
 * @see HazelcastAllocationService for the protocols of claim, redefine and delete
 */
public final class PoolRecord implements IdentifiedDataSerializable {
  private String name;
  private PoolDefinition definition;
  private long incarnation;
  private long generation;
  private PoolDefinition pending;
  private long pendingGeneration;
  private boolean retiring;
  /*
   * Claimed blocks by number within the pool's /8 (a pool never spans two /8s: the shortest prefix is
   * /8), held from the word of the lowest claim on: bit i is block claimedFrom + i. A pool high in its
   * /8 (127.100.0.0/12 starts at block 102,400) would otherwise carry kilobytes of zero words, copied
   * on every claim and filled in on every read of a record, i.e. twice per block creation.
   */
  private int claimedFrom;
  private BitSet claimed = new BitSet();

  /** For deserialization only. */
  public PoolRecord() {}

  public static PoolRecord create(PoolDefinition definition, long incarnation) {
    PoolRecord r = new PoolRecord();
    r.name = definition.name();
    r.definition = definition;
    r.incarnation = incarnation;
    r.generation = 1;
    return r;
  }

  private PoolRecord copy() {
    PoolRecord r = new PoolRecord();
    r.name = name;
    r.definition = definition;
    r.incarnation = incarnation;
    r.generation = generation;
    r.pending = pending;
    r.pendingGeneration = pendingGeneration;
    r.retiring = retiring;
    r.claimedFrom = claimedFrom;
    r.claimed = (BitSet) claimed.clone();
    return r;
  }

  public String name() {
    return name;
  }

  public PoolDefinition definition() {
    return definition;
  }

  /** Random per creation: blocks of an earlier pool of the same name are recognised as foreign. */
  public long incarnation() {
    return incarnation;
  }

  public long generation() {
    return generation;
  }

  /** The definition being introduced, or null. */
  public PoolDefinition pending() {
    return pending;
  }

  public long pendingGeneration() {
    return pendingGeneration;
  }

  public boolean retiring() {
    return retiring;
  }

  public boolean isClaimed(int number) {
    int bit = (number & (int) AddressBlock.FENCE_BLOCK_MASK) - claimedFrom;
    return bit >= 0 && claimed.get(bit);
  }

  /** Numbers of the claimed blocks, ascending. */
  public int[] claimedBlocks() {
    int base = (definition.cidr().base() >>> 24) << (24 - AddressBlock.BITS);
    return claimed.stream().map(bit -> base | (claimedFrom + bit)).toArray();
  }

  PoolRecord withClaim(int number) {
    PoolRecord r = copy();
    int rel = number & (int) AddressBlock.FENCE_BLOCK_MASK;
    if (r.claimed.isEmpty()) {
      r.claimedFrom = rel & -Long.SIZE;
    } else if (rel < r.claimedFrom) { // a claim below the lowest one: the set starts at its word now
      int from = rel & -Long.SIZE;
      long[] words = r.claimed.toLongArray();
      long[] moved = new long[(r.claimedFrom - from) / Long.SIZE + words.length];
      System.arraycopy(words, 0, moved, (r.claimedFrom - from) / Long.SIZE, words.length);
      r.claimed = BitSet.valueOf(moved);
      r.claimedFrom = from;
    }
    r.claimed.set(rel - r.claimedFrom);
    return r;
  }

  PoolRecord withPending(PoolDefinition next) {
    PoolRecord r = copy();
    r.pending = next;
    r.pendingGeneration = Math.max(generation, pendingGeneration) + 1;
    return r;
  }

  /** The pending definition becomes the definition; a move to another /8 forgets the old blocks (they are dropped). */
  PoolRecord committed(long nextGeneration) {
    if (pending == null || pendingGeneration != nextGeneration) {
      return this;
    }
    PoolRecord r = copy();
    if ((pending.cidr().base() >>> 24) != (definition.cidr().base() >>> 24)) {
      r.claimedFrom = 0;
      r.claimed = new BitSet();
    }
    r.definition = pending;
    r.generation = nextGeneration;
    r.pending = null;
    return r;
  }

  PoolRecord aborted(long nextGeneration) {
    if (pending == null || pendingGeneration != nextGeneration) {
      return this;
    }
    PoolRecord r = copy();
    r.pending = null;
    return r;
  }

  PoolRecord withRetiring(boolean value) {
    PoolRecord r = copy();
    r.retiring = value;
    return r;
  }

  @Override
  public int getFactoryId() {
    return AllocationSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return AllocationSerialization.POOL_RECORD;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeString(name);
    Wire.writeDefinition(out, definition);
    out.writeLong(incarnation);
    out.writeLong(generation);
    Wire.writeNullableDefinition(out, pending);
    out.writeLong(pendingGeneration);
    out.writeBoolean(retiring);
    // the words from the first claimed block on, and the index of the first of them in the /8
    out.writeInt(claimedFrom / Long.SIZE);
    out.writeLongArray(claimed.toLongArray());
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    name = in.readString();
    definition = Wire.readDefinition(in);
    incarnation = in.readLong();
    generation = in.readLong();
    pending = Wire.readNullableDefinition(in);
    pendingGeneration = in.readLong();
    retiring = in.readBoolean();
    claimedFrom = in.readInt() * Long.SIZE;
    claimed = BitSet.valueOf(in.readLongArray());
  }
}
