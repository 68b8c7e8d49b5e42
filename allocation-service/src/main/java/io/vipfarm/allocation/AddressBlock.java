package io.vipfarm.allocation;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.vipfarm.allocation.BlockReply.Outcome;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * 64 aligned addresses of one pool and their leases (Calico's block, design.md §4). One block is one
 * {@link AllocationMaps#BLOCKS} entry, changed only by entry processors on its partition, so each
 * operation here is atomic without a lock; the blocks of a pool spread over the partitions, so acquires
 * on different blocks run in parallel. Plain Java: operations take {@code now} and never read a clock
 * or let hash order decide, so the backup replica, running the same operation, reaches the same state.
 *
 * <p><b>Choosing an address</b>: the preferred address when it is free and allowed for the user (the
 * caller prefers the user's reservation, then the key's previous address, then the user's last address);
 * otherwise the next free unreserved address after a cursor that moves forward (next-fit), so an address
 * just released is the last one reused in the block. Free addresses are a 64-bit mask: O(1).
 *
 * <p><b>Fences</b> are unique in the pool: {@code counter << 18 | (block number mod 2^18)}. A pool lies
 * in one /8, which holds 2^18 blocks, so two blocks of a pool never share the low bits; each block's
 * counter starts at its creation time in millis × {@value #COUNTER_PER_MILLI} and goes up by one per
 * grant, so a pool deleted and created again does not reissue an old fence (unless a block averaged
 * more than that many grants per millisecond of its life).
 *
 * <p><b>Redefinition</b> is two-phase: {@link #prepare} checks the live leases against the new rules and
 * keeps them as pending; while pending, only addresses allowed by both are handed out; {@link #commit}
 * or {@link #abort} ends it. <b>Retirement</b> (pool delete) marks an empty block so that it grants no
 * more; {@link #unretire} undoes it when the delete is refused elsewhere.
 */
public final class AddressBlock implements IdentifiedDataSerializable {
  public static final int BITS = 6;
  public static final int SIZE = 1 << BITS;
  static final int FENCE_SHIFT = 18;
  static final long FENCE_BLOCK_MASK = (1L << FENCE_SHIFT) - 1;
  static final long COUNTER_PER_MILLI = 4;

  private String pool;
  private long incarnation;
  private int number;
  private long generation;
  private BlockRules rules;
  private BlockRules pending;
  private long pendingGeneration;
  private boolean retired;
  private long nextCounter;
  private long usedMask;
  private HeldLease[] leases = new HeldLease[SIZE];
  private int cursor;
  /** A lower bound of the earliest expiry, so that most operations skip the expiry scan. */
  private long earliestExpiry = Long.MAX_VALUE;

  /** For deserialization only. */
  public AddressBlock() {}

  /**
   * A new, empty block.
   *
   * @param incarnation the pool's incarnation: a pool deleted and created again has another
   * @param number the block's first address {@code >>> 6}
   */
  public static AddressBlock create(String pool, long incarnation, int number, long generation, BlockRules rules, long now) {
    AddressBlock block = new AddressBlock();
    block.pool = pool;
    block.incarnation = incarnation;
    block.number = number;
    block.generation = generation;
    block.rules = rules;
    block.nextCounter = Math.max(1, now) * COUNTER_PER_MILLI;
    return block;
  }

  /** The block number of an address. */
  public static int numberOf(int address) {
    return address >>> BITS;
  }

  public String pool() {
    return pool;
  }

  public long incarnation() {
    return incarnation;
  }

  public int number() {
    return number;
  }

  public int firstAddress() {
    return number << BITS;
  }

  public long generation() {
    return generation;
  }

  public BlockRules rules() {
    return rules;
  }

  public BlockRules pending() {
    return pending;
  }

  public boolean retired() {
    return retired;
  }

  public boolean contains(int address) {
    return numberOf(address) == number;
  }

  // ---------------------------------------------------------------- lease operations

  /**
   * Leases an address of this block to {@code holder}: {@code preferred} when it lies here, is free and
   * is allowed for {@code user}, else the next free unreserved one. FULL when none; GONE when retired.
   */
  public BlockReply allocate(LeaseHolder holder, String user, Integer preferred, long now) {
    List<HeldLease> expired = expireDue(now);
    if (retired) {
      return reply(Outcome.GONE, null, expired);
    }
    int ordinal = -1;
    if (preferred != null && contains(preferred)) {
      int o = preferred - firstAddress();
      if (!isUsed(o) && allows(o, user)) {
        ordinal = o;
      }
    }
    if (ordinal < 0) {
      ordinal = nextFreeUnreserved();
      if (ordinal < 0) {
        return reply(Outcome.FULL, null, expired);
      }
    }
    long fence = (nextCounter++ << FENCE_SHIFT) | (number & FENCE_BLOCK_MASK);
    HeldLease lease = new HeldLease(firstAddress() + ordinal, holder, user, fence, now, now + leaseMillis());
    leases[ordinal] = lease;
    usedMask |= 1L << ordinal;
    earliestExpiry = Math.min(earliestExpiry, lease.expiresAt());
    return reply(Outcome.GRANTED, lease, expired);
  }

  /** Idempotent acquire: extends the holder's live lease on {@code address} with {@code fence}, else NOT_HELD. */
  public BlockReply extendHeld(LeaseHolder holder, int address, long fence, long now) {
    List<HeldLease> expired = expireDue(now);
    HeldLease current = heldBy(holder, address);
    if (current == null || current.fence() != fence) {
      return reply(retired ? Outcome.GONE : Outcome.NOT_HELD, null, expired);
    }
    return reply(Outcome.EXTENDED, extend(current, now), expired);
  }

  /** Extends a live lease. UNKNOWN_LEASE when the holder has none here; STALE_LEASE on a fence mismatch. */
  public BlockReply renew(LeaseHolder holder, int address, long fence, long now) {
    List<HeldLease> expired = expireDue(now);
    HeldLease current = heldBy(holder, address);
    if (current == null) {
      return refused(new VipfarmException(ErrorType.UNKNOWN_LEASE,
          "pool '" + pool + "' has no live lease for " + holder), null, expired);
    }
    if (current.fence() != fence) {
      return refused(staleLease(current, fence), current, expired);
    }
    return reply(Outcome.EXTENDED, extend(current, now), expired);
  }

  /**
   * Frees the holder's lease. Nothing live to free is SKIPPED (with the holder's lease that just expired,
   * if any), not refused; STALE_LEASE when the live lease has another fence.
   */
  public BlockReply release(LeaseHolder holder, int address, long fence, long now) {
    List<HeldLease> expired = expireDue(now);
    HeldLease current = heldBy(holder, address);
    if (current == null) {
      HeldLease justExpired = expired.stream().filter(l -> l.holder().equals(holder)).findFirst().orElse(null);
      return reply(Outcome.SKIPPED, justExpired, expired);
    }
    if (current.fence() != fence) {
      return refused(staleLease(current, fence), current, expired);
    }
    free(current.address() - firstAddress());
    return reply(Outcome.RELEASED, current, expired);
  }

  /** False when no lease of the block can have expired at {@code now} (the expiry scan would find nothing). */
  public boolean mayHaveExpired(long now) {
    return now >= earliestExpiry;
  }

  /** Frees every lease whose time is up at {@code now}; returns them, oldest expiry first. */
  public List<HeldLease> expireDue(long now) {
    if (now < earliestExpiry) {
      return List.of();
    }
    List<HeldLease> expired = new ArrayList<>();
    long earliest = Long.MAX_VALUE;
    for (long bits = usedMask; bits != 0; bits &= bits - 1) {
      int o = Long.numberOfTrailingZeros(bits);
      HeldLease lease = leases[o];
      if (lease.expiresAt() <= now) {
        expired.add(lease);
        free(o);
      } else {
        earliest = Math.min(earliest, lease.expiresAt());
      }
    }
    earliestExpiry = earliest;
    expired.sort(BY_EXPIRY);
    return expired;
  }

  private static final Comparator<HeldLease> BY_EXPIRY = Comparator.comparingLong(HeldLease::expiresAt)
      .thenComparing(HeldLease::address, Integer::compareUnsigned);

  // ---------------------------------------------------------------- definition changes

  /**
   * Phase one of a redefinition: refused with POOL_IN_USE, naming the field, when a live lease is not
   * allowed under {@code next}; otherwise keeps {@code next}'s rules as pending.
   */
  public BlockReply prepare(long nextGeneration, PoolDefinition next, long now) {
    List<HeldLease> expired = expireDue(now);
    BlockRules nextRules = BlockRules.of(next, number);
    for (long bits = usedMask; bits != 0; bits &= bits - 1) {
      int o = Long.numberOfTrailingZeros(bits);
      HeldLease lease = leases[o];
      if (!nextRules.allows(o, lease.user())) {
        return refused(conflict(next, lease), lease, expired);
      }
    }
    pending = nextRules;
    pendingGeneration = nextGeneration;
    return reply(Outcome.DONE, null, expired);
  }

  /** Phase two: the pending rules become the rules. Idempotent; ignores other generations. */
  public void commit(long nextGeneration) {
    if (pending != null && pendingGeneration == nextGeneration) {
      rules = pending;
      generation = nextGeneration;
      pending = null;
    }
  }

  /** Drops the pending rules of {@code nextGeneration}. */
  public void abort(long nextGeneration) {
    if (pending != null && pendingGeneration == nextGeneration) {
      pending = null;
    }
  }

  /** Marks the block so it grants no more; refused with POOL_IN_USE while it has live leases. */
  public BlockReply retire(long now) {
    List<HeldLease> expired = expireDue(now);
    if (usedMask != 0) {
      HeldLease first = leases[Long.numberOfTrailingZeros(usedMask)];
      return refused(new VipfarmException(ErrorType.POOL_IN_USE, "pool '" + pool + "' has live leases, e.g. "
          + first.addressText() + " held by " + first.holder()), first, expired);
    }
    retired = true;
    return reply(Outcome.DONE, null, expired);
  }

  public void unretire() {
    retired = false;
  }

  // ---------------------------------------------------------------- reads

  /** Live leases matching {@code filter}, by address. Reads only. */
  public List<HeldLease> leases(LeaseFilter filter, long now) {
    List<HeldLease> out = new ArrayList<>(Long.bitCount(usedMask)); // no growing: a page reads hundreds of blocks
    for (long bits = usedMask; bits != 0; bits &= bits - 1) {
      HeldLease lease = leases[Long.numberOfTrailingZeros(bits)];
      if (lease.isLiveAt(now) && filter.matches(lease)) {
        out.add(lease);
      }
    }
    return out;
  }

  /** Leases still live at {@code now}. */
  public int liveCount(long now) {
    if (now < earliestExpiry) {
      return Long.bitCount(usedMask);
    }
    int live = 0;
    for (long bits = usedMask; bits != 0; bits &= bits - 1) {
      live += leases[Long.numberOfTrailingZeros(bits)].isLiveAt(now) ? 1 : 0;
    }
    return live;
  }

  /** Addresses still free for users without a reservation (leases due at {@code now} count as free). */
  public int freeCount(long now) {
    long liveMask = 0;
    for (long bits = usedMask; bits != 0; bits &= bits - 1) {
      int o = Long.numberOfTrailingZeros(bits);
      if (leases[o].isLiveAt(now)) {
        liveMask |= 1L << o;
      }
    }
    return retired ? 0 : Long.bitCount(unreservedAllowedMask() & ~liveMask);
  }

  /** Every lease slot as stored, live or not, by ordinal; for the consistency check. */
  public HeldLease[] slots() {
    return leases.clone();
  }

  public long usedMask() {
    return usedMask;
  }

  public AddressBlock copy() {
    AddressBlock c = new AddressBlock();
    c.pool = pool;
    c.incarnation = incarnation;
    c.number = number;
    c.generation = generation;
    c.rules = rules;
    c.pending = pending;
    c.pendingGeneration = pendingGeneration;
    c.retired = retired;
    c.nextCounter = nextCounter;
    c.usedMask = usedMask;
    c.leases = leases.clone();
    c.cursor = cursor;
    c.earliestExpiry = earliestExpiry;
    return c;
  }

  /** Writes a slot bypassing every rule: only for tests that corrupt state on purpose. */
  void corruptSlot(int ordinal, HeldLease lease, boolean markUsed) {
    leases[ordinal] = lease;
    usedMask = markUsed ? usedMask | (1L << ordinal) : usedMask & ~(1L << ordinal);
    earliestExpiry = Long.MIN_VALUE;
  }

  /**
   * Everything that must hold between operations; empty when all is well: the used mask and the slots
   * agree, each lease sits at its own address and is allowed there for its user (by the pending rules
   * too, if any), fences carry this block's number, are unique and below the counter, and the cached
   * earliest expiry is a lower bound.
   */
  public List<String> invariantViolations() {
    List<String> problems = new ArrayList<>();
    Set<Long> fences = new HashSet<>();
    for (int o = 0; o < SIZE; o++) {
      HeldLease lease = leases[o];
      boolean used = isUsed(o);
      String at = Ipv4Address.format(firstAddress() + o);
      if (used != (lease != null)) {
        problems.add(at + ": used bit " + used + " but slot " + (lease == null ? "empty" : "holds a lease"));
      }
      if (lease == null) {
        continue;
      }
      if (lease.address() != firstAddress() + o) {
        problems.add(at + ": slot holds the lease of " + lease.addressText());
      }
      if (!rules.allows(o, lease.user()) || (pending != null && !pending.allows(o, lease.user()))) {
        problems.add(at + " is leased to user " + lease.user() + " but not allowed for them");
      }
      if ((lease.fence() & FENCE_BLOCK_MASK) != (number & FENCE_BLOCK_MASK)
          || (lease.fence() >>> FENCE_SHIFT) >= nextCounter || !fences.add(lease.fence())) {
        problems.add(at + " has fence " + lease.fence() + " (duplicate, foreign or not below the counter)");
      }
      if (lease.expiresAt() < earliestExpiry) {
        problems.add(at + " expires before the cached earliest expiry");
      }
    }
    if (retired && usedMask != 0) {
      problems.add("retired block " + number + " still has leases");
    }
    return problems;
  }

  // ---------------------------------------------------------------- internals

  private long leaseMillis() {
    return rules.leaseSeconds() * 1000L;
  }

  private boolean isUsed(int ordinal) {
    return (usedMask & (1L << ordinal)) != 0;
  }

  private boolean allows(int ordinal, String user) {
    return rules.allows(ordinal, user) && (pending == null || pending.allows(ordinal, user));
  }

  private long unreservedAllowedMask() {
    return rules.unreservedMask() & (pending == null ? -1L : pending.unreservedMask());
  }

  /** Next-fit: the first free unreserved ordinal at or after the cursor, wrapping; -1 when none. */
  private int nextFreeUnreserved() {
    long candidates = unreservedAllowedMask() & ~usedMask;
    if (candidates == 0) {
      return -1;
    }
    long rotated = Long.rotateRight(candidates, cursor);
    int ordinal = (Long.numberOfTrailingZeros(rotated) + cursor) & (SIZE - 1);
    cursor = (ordinal + 1) & (SIZE - 1);
    return ordinal;
  }

  private HeldLease heldBy(LeaseHolder holder, int address) {
    if (!contains(address)) {
      return null;
    }
    HeldLease lease = leases[address - firstAddress()];
    return lease != null && lease.holder().equals(holder) ? lease : null;
  }

  private HeldLease extend(HeldLease current, long now) {
    HeldLease renewed = current.withExpiresAt(Math.max(current.expiresAt(), now + leaseMillis()));
    leases[current.address() - firstAddress()] = renewed;
    return renewed;
  }

  private void free(int ordinal) {
    leases[ordinal] = null;
    usedMask &= ~(1L << ordinal);
  }

  /** Free unreserved addresses right after an operation (which has already freed the due leases). */
  private int freeNow() {
    return retired ? 0 : Long.bitCount(unreservedAllowedMask() & ~usedMask);
  }

  private BlockReply reply(Outcome outcome, HeldLease lease, List<HeldLease> expired) {
    return new BlockReply(outcome, lease, expired, freeNow(), Long.bitCount(usedMask), null);
  }

  private BlockReply refused(VipfarmException e, HeldLease lease, List<HeldLease> expired) {
    return new BlockReply(Outcome.REFUSED, lease, expired, freeNow(), Long.bitCount(usedMask), Failure.of(e));
  }

  private VipfarmException staleLease(HeldLease current, long presented) {
    return VipfarmException.staleLease("the lease of " + current.holder() + " in pool '" + pool
        + "' has fence " + current.fence() + ", not " + presented);
  }

  private static VipfarmException conflict(PoolDefinition next, HeldLease lease) {
    String who = lease.addressText() + " is leased to " + lease.holder();
    if (!next.cidr().contains(lease.address())) {
      return new VipfarmException(ErrorType.POOL_IN_USE, who + " and would fall outside " + next.cidr(), "cidr");
    }
    if (!next.isUsable(lease.address())) {
      return new VipfarmException(ErrorType.POOL_IN_USE,
          who + " and would be excluded (or become the network/broadcast address)", "exclude");
    }
    String reservedFor = next.reservedFor(lease.address());
    return new VipfarmException(ErrorType.POOL_IN_USE,
        who + " (user " + lease.user() + ") and cannot be reserved for '" + reservedFor + "'",
        "reservations." + reservedFor);
  }

  // ---------------------------------------------------------------- serialization

  @Override
  public int getFactoryId() {
    return AllocationSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return AllocationSerialization.ADDRESS_BLOCK;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeString(pool);
    out.writeLong(incarnation);
    out.writeInt(number);
    out.writeLong(generation);
    Wire.writeRules(out, rules);
    out.writeBoolean(pending != null);
    if (pending != null) {
      Wire.writeRules(out, pending);
      out.writeLong(pendingGeneration);
    }
    out.writeBoolean(retired);
    out.writeLong(nextCounter);
    out.writeLong(usedMask);
    // every filled slot with its ordinal (not only the used bits), so that even corrupt state survives a copy
    int filled = 0;
    for (HeldLease lease : leases) {
      filled += lease == null ? 0 : 1;
    }
    out.writeByte(filled);
    for (int o = 0; o < SIZE; o++) {
      if (leases[o] != null) {
        out.writeByte(o);
        Wire.writeLease(out, leases[o]);
      }
    }
    out.writeInt(cursor);
    out.writeLong(earliestExpiry);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    pool = in.readString();
    incarnation = in.readLong();
    number = in.readInt();
    generation = in.readLong();
    rules = Wire.readRules(in);
    if (in.readBoolean()) {
      pending = Wire.readRules(in);
      pendingGeneration = in.readLong();
    }
    retired = in.readBoolean();
    nextCounter = in.readLong();
    usedMask = in.readLong();
    leases = new HeldLease[SIZE];
    int filled = in.readByte();
    for (int i = 0; i < filled; i++) {
      int o = in.readByte();
      leases[o] = Wire.readLease(in);
    }
    cursor = in.readInt();
    earliestExpiry = in.readLong();
  }
}
