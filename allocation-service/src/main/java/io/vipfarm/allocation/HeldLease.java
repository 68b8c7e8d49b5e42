package io.vipfarm.allocation;

import io.vipfarm.api.model.Lease;

/**
 * A lease as a block keeps it.
 *
 * @param address address bits
 * @param fence unique in the pool (see {@link AddressBlock}); renew and release must present it
 */
public record HeldLease(
    int address, LeaseHolder holder, String user, long fence, long grantedAt, long expiresAt) {

  /** A user's name repeats across their sessions and in the key index: one instance per member. */
  public HeldLease {
    user = Names.intern(user);
  }

  public HeldLease withExpiresAt(long newExpiresAt) {
    return new HeldLease(address, holder, user, fence, grantedAt, newExpiresAt);
  }

  public boolean isLiveAt(long now) {
    return expiresAt > now;
  }

  public String addressText() {
    return Ipv4Address.format(address);
  }

  public Lease toLease(String pool) {
    return new Lease(addressText(), pool, holder.toKey(), user, fence, grantedAt, expiresAt);
  }
}
