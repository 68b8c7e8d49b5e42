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
  /** Claimed blocks by number within the pool's /8 (a pool never spans two /8s: the shortest prefix is /8). */
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
    return claimed.get(number & (int) AddressBlock.FENCE_BLOCK_MASK);
  }

  /** Numbers of the claimed blocks, ascending. */
  public int[] claimedBlocks() {
    int base = (definition.cidr().base() >>> 24) << (24 - AddressBlock.BITS);
    return claimed.stream().map(rel -> base | rel).toArray();
  }

  PoolRecord withClaim(int number) {
    PoolRecord r = copy();
    r.claimed.set(number & (int) AddressBlock.FENCE_BLOCK_MASK);
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
    // only the words from the first claimed block on: a pool high in its /8 would otherwise ship
    // (and copy) kilobytes of leading zero words with every record, e.g. on every block claim
    long[] words = claimed.toLongArray();
    int first = 0;
    while (first < words.length && words[first] == 0) {
      first++;
    }
    out.writeInt(first);
    out.writeLongArray(first == 0 ? words : java.util.Arrays.copyOfRange(words, first, words.length));
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
    int first = in.readInt();
    long[] tail = in.readLongArray();
    long[] words = new long[first + tail.length];
    System.arraycopy(tail, 0, words, first, tail.length);
    claimed = BitSet.valueOf(words);
  }
}
