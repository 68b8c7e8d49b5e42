package io.vipfarm.gateway;

import io.vipfarm.api.model.Lease;
import java.time.Instant;

/** One row of GET /api/v1/allocations; {@code expiresAt} is ISO-8601 UTC. */
record AllocationView(
    String address, String pool, String host, String sessionId, String program, String user, String expiresAt) {

  static AllocationView of(Lease lease) {
    return new AllocationView(lease.address(), lease.pool(), lease.key().hostId(), lease.key().sessionId(),
        lease.key().program(), lease.user(), Instant.ofEpochMilli(lease.expiresAt()).toString());
  }

  /** Paging order: pool, then address numerically (IPv4 as a zero-padded number), then the holder. */
  String sortKey() {
    return pool + "\u0000" + addressKey(address) + "\u0000" + host + "\u0000" + sessionId + "\u0000"
        + (program == null ? "" : program);
  }

  private static String addressKey(String address) {
    String[] octets = address.split("\\.");
    if (octets.length != 4) {
      return address;
    }
    long value = 0;
    try {
      for (String octet : octets) {
        value = value * 256 + Integer.parseInt(octet);
      }
    } catch (NumberFormatException e) {
      return address;
    }
    if (value < 0) {
      return String.format("%010d", value);
    }
    // what String.format("%010d", value) gives, without its cost (this runs for every row of a page)
    String digits = Long.toString(value);
    return digits.length() >= 10 ? digits : "0000000000".substring(digits.length()) + digits;
  }
}
