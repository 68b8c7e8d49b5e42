package io.vipfarm.api.model;

/** Names one lease for renew and release: the pool, the holder and the fence it was granted with. */
public record LeaseRef(String pool, LeaseKey key, long fence) {

  public static LeaseRef of(Lease lease) {
    return new LeaseRef(lease.pool(), lease.key(), lease.fence());
  }
}
