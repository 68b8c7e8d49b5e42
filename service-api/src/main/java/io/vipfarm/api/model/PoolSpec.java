package io.vipfarm.api.model;

import java.util.List;
import java.util.Map;

/**
 * An address pool as an administrator defines it (PUT /api/v1/pools/{name}).
 *
 * @param name pool name (from the URL path)
 * @param cidr IPv4 CIDR, e.g. {@code 127.100.0.0/16}
 * @param exclude addresses or CIDRs never handed out
 * @param reservations user name to the fixed address that user's sessions get
 * @param leaseSeconds lease time to live; the agent renews well before it ends
 */
public record PoolSpec(
    String name, String cidr, List<String> exclude, Map<String, String> reservations, int leaseSeconds) {

  public static final int DEFAULT_LEASE_SECONDS = 300;

  public PoolSpec {
    exclude = exclude == null ? List.of() : List.copyOf(exclude);
    reservations = reservations == null ? Map.of() : Map.copyOf(reservations);
  }
}
