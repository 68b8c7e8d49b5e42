package io.vipfarm.agent;

import io.vipfarm.api.model.AcquireRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * What a policy change does to a session's leases: the leases it keeps (same pool, same key), the
 * ones it must acquire and the ones it no longer needs. Acquiring first and releasing last means a
 * session never goes without an address it is entitled to, and never gives one up while still using it.
 */
record LeaseChange(List<HeldLease> kept, List<AcquireRequest> toAcquire, List<HeldLease> toRelease) {

  static LeaseChange between(List<HeldLease> held, List<AcquireRequest> wanted) {
    List<HeldLease> kept = new ArrayList<>();
    List<HeldLease> toRelease = new ArrayList<>();
    for (HeldLease lease : held) {
      boolean stillWanted = wanted.stream().anyMatch(w -> matches(w, lease));
      (stillWanted ? kept : toRelease).add(lease);
    }
    List<AcquireRequest> toAcquire = wanted.stream()
        .filter(w -> held.stream().noneMatch(lease -> matches(w, lease)))
        .toList();
    return new LeaseChange(List.copyOf(kept), toAcquire, List.copyOf(toRelease));
  }

  private static boolean matches(AcquireRequest wanted, HeldLease held) {
    return wanted.pool().equals(held.lease().pool()) && wanted.key().equals(held.lease().key());
  }
}
