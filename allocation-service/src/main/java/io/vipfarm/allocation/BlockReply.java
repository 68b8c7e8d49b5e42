package io.vipfarm.allocation;

import java.util.List;

/**
 * What one operation on a block did. Every operation first frees the block's leases whose time is up,
 * so {@code expired} lists them whatever the outcome (callers emit {@code lease.expired} and drop their
 * index entries).
 *
 * @param outcome what happened
 * @param lease the lease granted, renewed or released; for conflicts, the lease in the way
 * @param expired leases freed because their time was up, oldest expiry first
 * @param free addresses of the block still free for users without a reservation, after the operation
 * @param live live leases in the block after the operation
 * @param failure the refusal for {@link Outcome#REFUSED}, else null
 */
public record BlockReply(Outcome outcome, HeldLease lease, List<HeldLease> expired, int free, int live, Failure failure) {

  public BlockReply {
    expired = List.copyOf(expired);
  }

  public enum Outcome {
    /** A new lease. */
    GRANTED,
    /** The holder's live lease, extended (idempotent acquire, renew). */
    EXTENDED,
    RELEASED,
    /** Nothing live to release; {@code lease} is the holder's lease that just expired, if any. */
    SKIPPED,
    /** No address free for this request in this block. */
    FULL,
    /** The block does not exist, belongs to an older incarnation of the pool, or is being retired. */
    GONE,
    /** The holder does not hold the named lease here (acquire falls back to a new address). */
    NOT_HELD,
    /** Refused with {@code failure}: unknown or stale lease, a definition that conflicts with a lease, pool in use. */
    REFUSED,
    /** A state change without a value (prepare, commit, retire), or a block that already existed. */
    DONE,
    /** The block was created by this request. */
    CREATED
  }

  static BlockReply gone() {
    return new BlockReply(Outcome.GONE, null, List.of(), 0, 0, null);
  }

  public boolean is(Outcome expected) {
    return outcome == expected;
  }
}
