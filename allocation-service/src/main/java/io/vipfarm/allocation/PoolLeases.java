package io.vipfarm.allocation;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The lease state of one pool: its definition, its fence counter and its leases. Plain Java and
 * {@link Serializable}: one instance is one Hazelcast map entry, changed only by entry processors on
 * the entry's partition, so every operation here is atomic without a lock (design.md §4).
 *
 * <p><b>Determinism.</b> Operations take {@code now} as an argument and never read a clock; they never
 * let hash-map iteration order decide anything. A backup replica that applies the same operation to
 * its copy therefore reaches the same state.
 *
 * <p><b>Refusals change nothing.</b> Each operation first frees the leases whose time is up (those are
 * free already, by definition), then checks everything, and only then mutates. A refusal is returned
 * as a {@link Change} carrying a {@link Failure}, never thrown half-way.
 *
 * <p><b>Choosing an address</b> (Calico style: released addresses go to the tail):
 * <ol>
 *   <li>a user with a reservation gets the reserved address while it is not leased (if another of that
 *       user's sessions holds it, the user gets an ordinary address);
 *   <li>a key whose lease expired a moment ago gets the same address back while it is free;
 *   <li>otherwise an address never leased since the pool was (re)defined, in ascending order: the
 *       <em>fresh cursor</em> only moves forward and jumps over excluded ranges, so this costs O(1)
 *       amortized whatever the pool size;
 *   <li>otherwise the address released longest ago (FIFO of released addresses).
 * </ol>
 * Reserved addresses never go to anyone but their user. The cursor and the FIFO together keep this
 * completeness invariant, checked by {@link #invariantViolations()}: every usable, unreserved, free
 * address is at or beyond the cursor or in the FIFO.
 *
 * <p><b>Fences.</b> The fence counter starts at the creation time in millis × {@value #FENCES_PER_MILLI}
 * and goes up by one per grant, so a pool that is deleted and created again does not reissue an old
 * fence (unless the old pool averaged more than that many grants per millisecond of its life).
 */
public final class PoolLeases implements Serializable {
  private static final long serialVersionUID = 1L;

  static final long FENCES_PER_MILLI = 1000;
  /** Pools up to this many addresses get the full completeness check; larger ones only the lease checks. */
  static final long FULL_CHECK_MAX_SIZE = 1L << 16;

  private PoolDefinition definition;
  private long nextFence;
  private final HashMap<Integer, HeldLease> leaseByAddress = new HashMap<>();
  private final HashMap<LeaseHolder, Integer> addressByHolder = new HashMap<>();
  private final TreeSet<ExpiryMark> expiryOrder = new TreeSet<>();
  /** Ordinals from here up have not been handed out since the pool was (re)defined. */
  private long freshCursor;
  /** Released addresses, oldest release first; {@link #queued} holds the same addresses. */
  private final ArrayDeque<Integer> releasedQueue = new ArrayDeque<>();
  private final HashSet<Integer> queued = new HashSet<>();

  private PoolLeases(PoolDefinition definition, long firstFence) {
    this.definition = definition;
    this.nextFence = firstFence;
  }

  /** A new, empty pool created at {@code now}. */
  public static PoolLeases create(PoolDefinition definition, long now) {
    return new PoolLeases(definition, Math.max(1, now) * FENCES_PER_MILLI);
  }

  /** Where a lease sits in expiry order: by expiry time, then by address. */
  private record ExpiryMark(long expiresAt, int address) implements Comparable<ExpiryMark>, Serializable {
    static ExpiryMark of(HeldLease lease) {
      return new ExpiryMark(lease.expiresAt(), lease.address());
    }

    @Override
    public int compareTo(ExpiryMark o) {
      int byTime = Long.compare(expiresAt, o.expiresAt);
      return byTime != 0 ? byTime : Integer.compareUnsigned(address, o.address);
    }
  }

  public PoolDefinition definition() {
    return definition;
  }

  /** The fence the next grant gets. */
  public long nextFence() {
    return nextFence;
  }

  /** The lease {@code holder} has, live or not yet swept; null when none. */
  public HeldLease leaseOf(LeaseHolder holder) {
    Integer address = addressByHolder.get(holder);
    return address == null ? null : leaseByAddress.get(address);
  }

  /** Leases still live at {@code now}. */
  public long liveCount(long now) {
    long due = 0;
    for (ExpiryMark mark : expiryOrder) {
      if (mark.expiresAt() > now) {
        break;
      }
      due++;
    }
    return leaseByAddress.size() - due;
  }

  public PoolSnapshot snapshot(long now) {
    return new PoolSnapshot(definition, liveCount(now));
  }

  /** Live leases matching {@code filter}, by address. Reads only. */
  public ArrayList<HeldLease> leases(LeaseFilter filter, long now) {
    ArrayList<HeldLease> out = new ArrayList<>();
    for (HeldLease lease : leaseByAddress.values()) {
      if (lease.isLiveAt(now) && filter.matches(lease)) {
        out.add(lease);
      }
    }
    out.sort(BY_ADDRESS);
    return out;
  }

  private static final Comparator<HeldLease> BY_ADDRESS =
      (a, b) -> Integer.compareUnsigned(a.address(), b.address());

  /**
   * Leases an address to {@code holder}. Idempotent: a holder with a live lease gets it back, extended
   * by the lease time and with its fence unchanged. POOL_EXHAUSTED when no address is free for this
   * user.
   */
  public Change<Grant> acquire(LeaseHolder holder, String user, long now) {
    List<HeldLease> expired = expireDue(now);
    HeldLease current = leaseOf(holder);
    if (current != null) {
      HeldLease renewed = extend(current, now);
      return Change.ok(new Grant(renewed, true), expired);
    }
    Integer address = chooseAddress(holder, user, expired);
    if (address == null) {
      return Change.failed(VipfarmException.poolExhausted(definition.name()), expired);
    }
    HeldLease lease = new HeldLease(address, holder, user, nextFence++, now, now + definition.leaseMillis());
    leaseByAddress.put(address, lease);
    addressByHolder.put(holder, address);
    expiryOrder.add(ExpiryMark.of(lease));
    return Change.ok(new Grant(lease, false), expired);
  }

  /** Extends a live lease. UNKNOWN_LEASE when the holder has none (also once it expired); STALE_LEASE on a fence mismatch. */
  public Change<HeldLease> renew(LeaseHolder holder, long fence, long now) {
    List<HeldLease> expired = expireDue(now);
    HeldLease current = leaseOf(holder);
    if (current == null) {
      return Change.failed(unknownLease(holder), expired);
    }
    if (current.fence() != fence) {
      return Change.failed(staleLease(current, fence), expired);
    }
    return Change.ok(extend(current, now), expired);
  }

  /**
   * Frees the holder's lease. Nothing live to free (never granted, already released, expired) is
   * reported as skipped, not refused; STALE_LEASE when the holder's live lease has another fence.
   */
  public Change<Release> release(LeaseHolder holder, long fence, long now) {
    List<HeldLease> expired = expireDue(now);
    HeldLease current = leaseOf(holder);
    if (current == null) {
      HeldLease justExpired = expired.stream().filter(l -> l.holder().equals(holder)).findFirst().orElse(null);
      return Change.ok(new Release(justExpired, false), expired);
    }
    if (current.fence() != fence) {
      return Change.failed(staleLease(current, fence), expired);
    }
    free(current);
    return Change.ok(new Release(current, true), expired);
  }

  /** Frees every lease whose time is up at {@code now}; returns them, oldest expiry first. */
  public List<HeldLease> expireDue(long now) {
    List<HeldLease> expired = new ArrayList<>();
    while (!expiryOrder.isEmpty() && expiryOrder.first().expiresAt() <= now) {
      HeldLease lease = leaseByAddress.get(expiryOrder.first().address());
      free(lease);
      expired.add(lease);
    }
    return expired;
  }

  /**
   * Replaces the definition (resize, exclusions, reservations, lease time). Refused with POOL_IN_USE,
   * naming the field, when a live lease would fall outside the new CIDR, onto an excluded or
   * network/broadcast address, or onto an address now reserved for another user. Leases survive
   * unchanged; a new lease time applies from their next renewal.
   */
  public Change<PoolSnapshot> redefine(PoolDefinition next, long now) {
    List<HeldLease> expired = expireDue(now);
    HeldLease firstConflict = null;
    VipfarmException conflict = null;
    for (HeldLease lease : leaseByAddress.values()) {
      VipfarmException problem = conflictWith(next, lease);
      if (problem != null && (firstConflict == null || BY_ADDRESS.compare(lease, firstConflict) < 0)) {
        firstConflict = lease;
        conflict = problem;
      }
    }
    if (conflict != null) {
      return Change.failed(conflict, expired);
    }
    definition = next;
    freshCursor = 0;
    ArrayDeque<Integer> kept = new ArrayDeque<>();
    for (int address : releasedQueue) {
      if (next.isUsable(address) && next.reservedFor(address) == null) {
        kept.add(address);
      }
    }
    releasedQueue.clear();
    queued.clear();
    releasedQueue.addAll(kept);
    queued.addAll(kept);
    return Change.ok(snapshot(now), expired);
  }

  /** Checks that the pool may be deleted: POOL_IN_USE while it has live leases. Changes nothing but expiries. */
  public Change<PoolSnapshot> retire(long now) {
    List<HeldLease> expired = expireDue(now);
    if (!leaseByAddress.isEmpty()) {
      HeldLease first = leaseByAddress.values().stream().min(BY_ADDRESS).orElseThrow();
      return Change.failed(new VipfarmException(ErrorType.POOL_IN_USE,
          "pool '" + definition.name() + "' has " + leaseByAddress.size() + " live lease(s), e.g. "
              + first.addressText() + " held by " + first.holder()), expired);
    }
    return Change.ok(snapshot(now), expired);
  }

  private VipfarmException conflictWith(PoolDefinition next, HeldLease lease) {
    String who = lease.addressText() + " is leased to " + lease.holder();
    if (!next.cidr().contains(lease.address())) {
      return new VipfarmException(ErrorType.POOL_IN_USE, who + " and would fall outside " + next.cidr(), "cidr");
    }
    if (!next.isUsable(lease.address())) {
      return new VipfarmException(ErrorType.POOL_IN_USE,
          who + " and would be excluded (or become the network/broadcast address)", "exclude");
    }
    String reservedFor = next.reservedFor(lease.address());
    if (reservedFor != null && !reservedFor.equals(lease.user())) {
      return new VipfarmException(ErrorType.POOL_IN_USE,
          who + " (user " + lease.user() + ") and cannot be reserved for '" + reservedFor + "'",
          "reservations." + reservedFor);
    }
    return null;
  }

  private HeldLease extend(HeldLease current, long now) {
    HeldLease renewed = current.withExpiresAt(Math.max(current.expiresAt(), now + definition.leaseMillis()));
    expiryOrder.remove(ExpiryMark.of(current));
    expiryOrder.add(ExpiryMark.of(renewed));
    leaseByAddress.put(renewed.address(), renewed);
    return renewed;
  }

  private void free(HeldLease lease) {
    int address = lease.address();
    leaseByAddress.remove(address);
    addressByHolder.remove(lease.holder());
    expiryOrder.remove(ExpiryMark.of(lease));
    if (definition.isUsable(address) && definition.reservedFor(address) == null && queued.add(address)) {
      releasedQueue.addLast(address);
    }
  }

  private Integer chooseAddress(LeaseHolder holder, String user, List<HeldLease> justExpired) {
    Integer reserved = definition.reservationOf(user);
    if (reserved != null && !leaseByAddress.containsKey(reserved)) {
      return reserved;
    }
    for (HeldLease previous : justExpired) {
      if (previous.holder().equals(holder) && isFreeFor(previous.address(), user)) {
        return previous.address();
      }
    }
    long size = definition.cidr().size();
    while (freshCursor < size) {
      long ordinal = definition.firstUsableOrdinalFrom(freshCursor);
      if (ordinal >= size) {
        freshCursor = size;
        break;
      }
      freshCursor = ordinal + 1;
      int address = definition.cidr().addressAt(ordinal);
      if (!queued.contains(address) && isFreeFor(address, null)) {
        return address;
      }
    }
    while (!releasedQueue.isEmpty()) {
      int address = releasedQueue.pollFirst();
      queued.remove(address);
      if (isFreeFor(address, null)) {
        return address;
      }
    }
    return null;
  }

  /** Usable, not leased, and not reserved for anyone but {@code user}. */
  private boolean isFreeFor(int address, String user) {
    if (!definition.isUsable(address) || leaseByAddress.containsKey(address)) {
      return false;
    }
    String reservedFor = definition.reservedFor(address);
    return reservedFor == null || reservedFor.equals(user);
  }

  private VipfarmException unknownLease(LeaseHolder holder) {
    return new VipfarmException(ErrorType.UNKNOWN_LEASE,
        "pool '" + definition.name() + "' has no live lease for " + holder);
  }

  private VipfarmException staleLease(HeldLease current, long presented) {
    return VipfarmException.staleLease("the lease of " + current.holder() + " in pool '" + definition.name()
        + "' has fence " + current.fence() + ", not " + presented);
  }

  /**
   * Everything that must hold between operations; empty when all is well. Checks that each address is
   * leased at most once and only where allowed (usable, reserved only for its user), that the holder
   * index, the expiry order and the FIFO agree with the leases, that fences are unique and below the
   * counter, and for pools up to {@value #FULL_CHECK_MAX_SIZE} addresses that no free address is lost.
   */
  public List<String> invariantViolations() {
    List<String> problems = new ArrayList<>();
    if (addressByHolder.size() != leaseByAddress.size()) {
      problems.add("holder index has " + addressByHolder.size() + " entries for " + leaseByAddress.size() + " leases");
    }
    if (expiryOrder.size() != leaseByAddress.size()) {
      problems.add("expiry order has " + expiryOrder.size() + " entries for " + leaseByAddress.size() + " leases");
    }
    Set<Long> fences = new HashSet<>();
    for (Map.Entry<Integer, HeldLease> e : leaseByAddress.entrySet()) {
      HeldLease lease = e.getValue();
      String at = lease.addressText();
      if (e.getKey() != lease.address()) {
        problems.add(at + " is stored under " + Ipv4Address.format(e.getKey()));
      }
      if (!Integer.valueOf(lease.address()).equals(addressByHolder.get(lease.holder()))) {
        problems.add(at + ": holder " + lease.holder() + " is indexed to another address");
      }
      if (!definition.isUsable(lease.address())) {
        problems.add(at + " is leased but not usable in " + definition.cidr());
      }
      String reservedFor = definition.reservedFor(lease.address());
      if (reservedFor != null && !reservedFor.equals(lease.user())) {
        problems.add(at + " is reserved for " + reservedFor + " but leased to user " + lease.user());
      }
      if (!expiryOrder.contains(ExpiryMark.of(lease))) {
        problems.add(at + " is missing from the expiry order");
      }
      if (lease.fence() >= nextFence || !fences.add(lease.fence())) {
        problems.add(at + " has fence " + lease.fence() + " (duplicate or not below " + nextFence + ")");
      }
      if (queued.contains(lease.address()) && !releasedQueue.contains(lease.address())) {
        problems.add(at + " is marked queued but is not in the FIFO");
      }
    }
    if (!queued.equals(new HashSet<>(releasedQueue)) || queued.size() != releasedQueue.size()) {
      problems.add("FIFO " + releasedQueue + " and its membership set " + queued + " disagree");
    }
    if (definition.cidr().size() <= FULL_CHECK_MAX_SIZE) {
      for (long ordinal = 0; ordinal < Math.min(freshCursor, definition.cidr().size()); ordinal++) {
        int address = definition.cidr().addressAt(ordinal);
        if (definition.isUsable(address) && definition.reservedFor(address) == null
            && !leaseByAddress.containsKey(address) && !queued.contains(address)) {
          problems.add(Ipv4Address.format(address) + " is free but neither ahead of the cursor nor in the FIFO");
        }
      }
    }
    return problems;
  }
}
