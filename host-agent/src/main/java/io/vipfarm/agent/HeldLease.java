package io.vipfarm.agent;

import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.VirtualIpView;

/**
 * A lease a session holds, with its lease time: the shortest {@code expiresAt - grantedAt} seen for it.
 * Keeping the shortest makes the renewal schedule independent of whether the allocator moves
 * {@code grantedAt} on renewal.
 */
public record HeldLease(Lease lease, long leaseMillis) {
  /** Renew once less than this share of the lease time remains. */
  static final double RENEW_BELOW_REMAINING = 2.0 / 3.0;

  public static HeldLease of(Lease lease) {
    return new HeldLease(lease, Math.max(0, lease.expiresAt() - lease.grantedAt()));
  }

  /** The same lease after a renewal answered {@code renewed}. */
  public HeldLease renewed(Lease renewed) {
    long span = Math.max(0, renewed.expiresAt() - renewed.grantedAt());
    return new HeldLease(renewed, Math.min(leaseMillis, span));
  }

  /** True when less than 2/3 of the lease time remains at {@code nowMillis}. */
  public boolean renewalDue(long nowMillis) {
    return lease.expiresAt() - nowMillis < leaseMillis * RENEW_BELOW_REMAINING;
  }

  public VirtualIpView view() {
    return new VirtualIpView(lease.address(), lease.pool(), lease.key().program(), lease.expiresAt());
  }
}
