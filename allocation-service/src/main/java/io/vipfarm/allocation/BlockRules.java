package io.vipfarm.allocation;

import java.util.Arrays;

/**
 * What a pool definition says about the 64 addresses of one block, precomputed so that allocation
 * never looks at the (possibly large) definition: which ordinals are usable, which are reserved and
 * for whom, and the lease time.
 *
 * @param usable bit {@code i} set when the block's ordinal {@code i} may be leased at all
 * @param reservedFor the user each ordinal is reserved for, or null when the block has no reservation
 */
public record BlockRules(long usable, String[] reservedFor, int leaseSeconds) {

  public BlockRules {
    if (reservedFor != null && reservedFor.length != AddressBlock.SIZE) {
      throw new IllegalArgumentException("reservedFor must have " + AddressBlock.SIZE + " slots");
    }
  }

  /** The rules of block {@code number} (address bits {@code >>> 6}) under {@code definition}. */
  public static BlockRules of(PoolDefinition definition, int number) {
    long usable = 0;
    String[] reserved = null;
    Ipv4Cidr cidr = definition.cidr();
    int first = number << AddressBlock.BITS;
    // blocks and CIDRs are both aligned, so one contains the other or they are disjoint
    boolean overlaps = cidr.size() >= AddressBlock.SIZE ? cidr.contains(first) : (cidr.base() >>> AddressBlock.BITS) == number;
    if (!overlaps) {
      return new BlockRules(0, null, definition.leaseSeconds());
    }
    for (int i = 0; i < AddressBlock.SIZE; i++) {
      int address = first + i;
      if (definition.isUsable(address)) {
        usable |= 1L << i;
        String user = definition.reservedFor(address);
        if (user != null) {
          if (reserved == null) {
            reserved = new String[AddressBlock.SIZE];
          }
          reserved[i] = user;
        }
      }
    }
    return new BlockRules(usable, reserved, definition.leaseSeconds());
  }

  public boolean isUsable(int ordinal) {
    return (usable & (1L << ordinal)) != 0;
  }

  /** The user {@code ordinal} is reserved for, or null. */
  public String reservedFor(int ordinal) {
    return reservedFor == null ? null : reservedFor[ordinal];
  }

  /** Usable and not reserved for anyone but {@code user} (null: reserved for nobody). */
  public boolean allows(int ordinal, String user) {
    if (!isUsable(ordinal)) {
      return false;
    }
    String reserved = reservedFor(ordinal);
    return reserved == null || reserved.equals(user);
  }

  /** Usable ordinals reserved for nobody, as a mask. */
  public long unreservedMask() {
    long mask = usable;
    if (reservedFor != null) {
      for (int i = 0; i < AddressBlock.SIZE; i++) {
        if (reservedFor[i] != null) {
          mask &= ~(1L << i);
        }
      }
    }
    return mask;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BlockRules r && usable == r.usable && leaseSeconds == r.leaseSeconds
        && Arrays.equals(reservedFor, r.reservedFor);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(usable) * 31 + Arrays.hashCode(reservedFor) + leaseSeconds;
  }

  @Override
  public String toString() {
    return "BlockRules[usable=" + Long.toHexString(usable) + ", reserved=" + Arrays.toString(reservedFor)
        + ", leaseSeconds=" + leaseSeconds + "]";
  }
}
