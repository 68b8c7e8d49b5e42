package io.vipfarm.api.model;

import java.util.List;
import java.util.Map;

/** A pool with its exact utilization, as GET /api/v1/pools/{name} returns it. */
public record PoolView(
    String name,
    String cidr,
    List<String> exclude,
    Map<String, String> reservations,
    int leaseSeconds,
    long size,
    long used,
    long free) {

  public static PoolView of(PoolSpec spec, long size, long used) {
    return new PoolView(spec.name(), spec.cidr(), spec.exclude(), spec.reservations(),
        spec.leaseSeconds(), size, used, size - used);
  }
}
