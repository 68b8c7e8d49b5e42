package io.vipfarm.gateway;

import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.PoolSpec;
import java.util.List;
import java.util.Map;

/** The body of PUT /api/v1/pools/{name}, read strictly: the name comes from the path only. */
record PoolBody(String cidr, List<String> exclude, Map<String, String> reservations, Integer leaseSeconds) {

  PoolSpec toSpec(String name) {
    if (cidr == null || cidr.isBlank()) {
      throw VipfarmException.invalidField("cidr", "is required, e.g. 127.100.0.0/16");
    }
    if (leaseSeconds != null && leaseSeconds < 1) {
      throw VipfarmException.invalidField("leaseSeconds", "must be at least 1");
    }
    return new PoolSpec(name, cidr, exclude, reservations,
        leaseSeconds == null ? PoolSpec.DEFAULT_LEASE_SECONDS : leaseSeconds);
  }
}
