package io.vipfarm.api.model;

/**
 * One page of the allocations query: at most {@code limit} live leases matching {@code query}, in the
 * order of {@link AllocationRows} (pool name, then address numerically), starting after the lease at
 * ({@code afterPool}, {@code afterAddress}); both null for the first page.
 */
public record AllocationPageRequest(AllocationQuery query, int limit, String afterPool, String afterAddress) {

  public static AllocationPageRequest first(AllocationQuery query, int limit) {
    return new AllocationPageRequest(query, limit, null, null);
  }
}
