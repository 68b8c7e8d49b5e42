package io.vipfarm.allocation;

import io.vipfarm.api.VipfarmException;
import java.io.Serializable;
import java.util.List;

/**
 * What one operation on a pool's lease state did: its value or its refusal, plus the leases that
 * expired on the way (every operation first frees the leases whose time is up, so callers can emit
 * {@code lease.expired} for them whatever the outcome).
 *
 * @param value the result; null on failure
 * @param failure the refusal; null on success. A refused operation changed nothing but the expiries.
 * @param expired leases freed because their time was up, oldest expiry first
 */
public record Change<T extends Serializable>(T value, Failure failure, List<HeldLease> expired)
    implements Serializable {

  public Change {
    expired = List.copyOf(expired);
  }

  public static <T extends Serializable> Change<T> ok(T value, List<HeldLease> expired) {
    return new Change<>(value, null, expired);
  }

  public static <T extends Serializable> Change<T> failed(VipfarmException e, List<HeldLease> expired) {
    return new Change<>(null, Failure.of(e), expired);
  }

  public boolean succeeded() {
    return failure == null;
  }

  /** The value, or the refusal thrown as a {@link VipfarmException}. */
  public T valueOrThrow() {
    if (failure != null) {
      throw failure.toException();
    }
    return value;
  }
}
