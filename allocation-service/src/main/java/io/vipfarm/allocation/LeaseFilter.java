package io.vipfarm.allocation;

import io.vipfarm.api.model.AllocationQuery;

/** The allocations query in a form that travels to the members holding the blocks; null matches all. */
public record LeaseFilter(String host, String session, String user, String address) {

  public static LeaseFilter of(AllocationQuery query) {
    return query == null
        ? new LeaseFilter(null, null, null, null)
        : new LeaseFilter(query.host(), query.session(), query.user(), query.address());
  }

  public boolean matches(HeldLease lease) {
    return (host == null || host.equals(lease.holder().hostId()))
        && (session == null || session.equals(lease.holder().sessionId()))
        && (user == null || user.equals(lease.user()))
        && (address == null || address.equals(lease.addressText()));
  }
}
