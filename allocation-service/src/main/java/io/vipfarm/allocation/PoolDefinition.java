package io.vipfarm.allocation;

import io.vipfarm.api.model.PoolSpec;
import java.util.List;
import java.util.Map;

/**
 * A validated pool: the spec as the admin wrote it (with the lease time defaulted) plus what the
 * allocator needs to decide quickly, all in address bits and ordinals. Built only by
 * {@link PoolValidator}; immutable.
 *
 * <p><b>Usable addresses.</b> For a prefix up to /30 the network address (ordinal 0) and the broadcast
 * address (the last ordinal) are never handed out, as on any real subnet where a VIP must be added to
 * an interface; /31 (RFC 3021 point-to-point) and /32 use every address. Loopback pools under
 * 127.0.0.0/8 follow the same rule, so a /24 always gives 254 addresses. Exclusions come off on top;
 * {@link #size()} is what is left. Reserved addresses count in the size: they are free until their
 * user's session takes them.
 *
 * @param exclude the exclusions as written
 * @param reservations the reservations as written
 * @param leaseSeconds lease time, defaulted
 * @param blocked ordinals never handed out: network/broadcast and the exclusions, merged
 * @param reservedAddressByUser user to reserved address bits
 * @param reservedUserByAddress the same, reversed
 */
public record PoolDefinition(
    String name,
    Ipv4Cidr cidr,
    List<String> exclude,
    Map<String, String> reservations,
    int leaseSeconds,
    OrdinalRanges blocked,
    Map<String, Integer> reservedAddressByUser,
    Map<Integer, String> reservedUserByAddress) {

  public PoolDefinition {
    exclude = List.copyOf(exclude);
    reservations = Map.copyOf(reservations);
    reservedAddressByUser = Map.copyOf(reservedAddressByUser);
    reservedUserByAddress = Map.copyOf(reservedUserByAddress);
  }

  /** The spec as stored: as written, with the CIDR normalized and the lease time defaulted. */
  public PoolSpec spec() {
    return new PoolSpec(name, cidr.toString(), exclude, reservations, leaseSeconds);
  }

  public long leaseMillis() {
    return leaseSeconds * 1000L;
  }

  /** Usable addresses: the CIDR minus network/broadcast (prefix &lt;= /30) minus exclusions. */
  public long size() {
    return cidr.size() - blocked.count();
  }

  /** True when {@code address} is inside the CIDR and neither excluded nor network/broadcast. */
  public boolean isUsable(int address) {
    return cidr.contains(address) && !blocked.contains(cidr.ordinalOf(address));
  }

  /** The first usable ordinal {@code >= from}, or {@code cidr().size()} when there is none. */
  public long firstUsableOrdinalFrom(long from) {
    return Math.min(blocked.firstOutsideFrom(from), cidr.size());
  }

  /** The address reserved for {@code user}, or null (also for a null user). */
  public Integer reservationOf(String user) {
    return user == null ? null : reservedAddressByUser.get(user);
  }

  /** The user {@code address} is reserved for, or null. */
  public String reservedFor(int address) {
    return reservedUserByAddress.get(address);
  }
}
