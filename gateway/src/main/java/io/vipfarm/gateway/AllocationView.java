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
}
