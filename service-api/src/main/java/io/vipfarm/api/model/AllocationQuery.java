package io.vipfarm.api.model;

/** Filters for the allocations query; a null field matches everything. */
public record AllocationQuery(String host, String session, String user, String pool, String address) {

  public static AllocationQuery all() {
    return new AllocationQuery(null, null, null, null, null);
  }

  public boolean matches(Lease lease) {
    return (host == null || host.equals(lease.key().hostId()))
        && (session == null || session.equals(lease.key().sessionId()))
        && (user == null || user.equals(lease.user()))
        && (pool == null || pool.equals(lease.pool()))
        && (address == null || address.equals(lease.address()));
  }
}
