package io.vipfarm.api.model;

import java.util.List;

/**
 * What the allocation consistency check found (GET /api/v1/allocations/check, {@code vipfarm check}).
 *
 * @param checkedAt epoch millis of the check
 * @param pools pools checked
 * @param blocks address blocks read
 * @param leases live leases checked
 * @param anomalies what is wrong; empty when everything is consistent
 */
public record ConsistencyReport(long checkedAt, int pools, long blocks, long leases, List<Anomaly> anomalies) {

  public ConsistencyReport {
    anomalies = anomalies == null ? List.of() : List.copyOf(anomalies);
  }

  /** Kinds of anomaly (the {@code type} of an {@link Anomaly}). */
  public static final String DUPLICATE_ADDRESS = "duplicate-address";
  public static final String OUTSIDE_POOL = "lease-outside-pool";
  public static final String EXCLUDED_ADDRESS = "lease-on-excluded-address";
  public static final String RESERVED_FOR_OTHER = "reserved-address-held-by-other-user";
  public static final String INDEX_MISMATCH = "index-lease-mismatch";
  public static final String USED_COUNT_MISMATCH = "used-count-mismatch";

  /**
   * One inconsistency.
   *
   * @param type one of the constants of {@link ConsistencyReport}
   * @param pool the pool concerned
   * @param address the address concerned, or null
   * @param detail what exactly is wrong
   */
  public record Anomaly(String type, String pool, String address, String detail) {}

  public boolean isClean() {
    return anomalies.isEmpty();
  }
}
