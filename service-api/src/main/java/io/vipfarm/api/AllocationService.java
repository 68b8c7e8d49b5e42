package io.vipfarm.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.AllocationRows;
import io.vipfarm.api.model.ConsistencyReport;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import io.vipfarm.api.model.ReleaseResult;
import java.util.List;

/**
 * Address pools and leases, shared by the whole farm. One address is never held by two live leases.
 * Failures are {@link VipfarmException}s.
 */
public interface AllocationService {

  /**
   * Creates or replaces a pool. Validates it whole first (INVALID_FIELD naming the field), refuses
   * overlap with another pool (POOL_OVERLAP) and a change that would drop a live lease (POOL_IN_USE);
   * on any failure nothing changes.
   */
  Future<PoolView> putPool(PoolSpec spec);

  /** The pool with exact utilization; UNKNOWN_POOL when there is none. */
  Future<PoolView> getPool(String name);

  /** UNKNOWN_POOL when there is none; POOL_IN_USE while it has live leases. */
  Future<Void> deletePool(String name);

  Future<List<PoolView>> listPools();

  /**
   * Leases an address. Idempotent: the same key gets the same live lease back (renewed). A user with
   * a reservation gets the reserved address. POOL_EXHAUSTED when nothing is free; UNKNOWN_POOL.
   */
  Future<Lease> acquire(AcquireRequest request);

  /** Extends a lease by the pool's lease time. UNKNOWN_LEASE if gone; STALE_LEASE if the fence differs. */
  Future<Lease> renew(LeaseRef ref);

  /**
   * Frees a lease. Releasing what is already free is not an error ({@code released=false});
   * STALE_LEASE if the address is now held under another fence.
   */
  Future<ReleaseResult> release(LeaseRef ref);

  /** Live leases matching the query. */
  Future<List<Lease>> leases(AllocationQuery query);

  /**
   * One page of the live leases matching the request's query, as the gateway's rows
   * ({@link AllocationRows}), in pool, then address order. The default pages {@link #leases}; an
   * implementation with many leases reads only what the page needs.
   */
  default Future<AllocationPage> leasePage(AllocationPageRequest request) {
    return leases(request.query()).map(all -> AllocationRows.page(all, request));
  }

  /**
   * Checks every lease against its pool and the rules, and the bookkeeping against the leases; reads
   * only. The default refuses, for implementations that hold no leases of their own.
   */
  default Future<ConsistencyReport> check() {
    return Future.failedFuture(new VipfarmException(ErrorType.INTERNAL, "this allocation service cannot check itself"));
  }

  /**
   * How long a client waits for {@link #check}: it reads every lease of the farm, about 1.5 s per 100,000
   * on a 2-CPU member, so a large farm needs far longer than the other requests' bound.
   */
  long CHECK_TIMEOUT_MS = 300_000;

  /** Action names on {@link Addresses#ALLOCATION}. */
  interface Actions {
    String PUT_POOL = "putPool";
    String GET_POOL = "getPool";
    String DELETE_POOL = "deletePool";
    String LIST_POOLS = "listPools";
    String ACQUIRE = "acquire";
    String RENEW = "renew";
    String RELEASE = "release";
    String LEASES = "leases";
    String LEASE_PAGE = "leasePage";
    String CHECK = "check";
  }

  static AllocationService client(EventBusClient bus) {
    return new AllocationService() {
      @Override
      public Future<PoolView> putPool(PoolSpec spec) {
        return bus.call(Actions.PUT_POOL, spec, PoolView.class);
      }

      @Override
      public Future<PoolView> getPool(String name) {
        return bus.call(Actions.GET_POOL, new JsonObject().put("name", name), PoolView.class);
      }

      @Override
      public Future<Void> deletePool(String name) {
        return bus.callVoid(Actions.DELETE_POOL, new JsonObject().put("name", name));
      }

      @Override
      public Future<List<PoolView>> listPools() {
        return bus.callList(Actions.LIST_POOLS, null, PoolView.class);
      }

      @Override
      public Future<Lease> acquire(AcquireRequest request) {
        return bus.call(Actions.ACQUIRE, request, Lease.class);
      }

      @Override
      public Future<Lease> renew(LeaseRef ref) {
        return bus.call(Actions.RENEW, ref, Lease.class);
      }

      @Override
      public Future<ReleaseResult> release(LeaseRef ref) {
        return bus.call(Actions.RELEASE, ref, ReleaseResult.class);
      }

      @Override
      public Future<List<Lease>> leases(AllocationQuery query) {
        return bus.callList(Actions.LEASES, query, Lease.class);
      }

      @Override
      public Future<AllocationPage> leasePage(AllocationPageRequest request) {
        return bus.call(Actions.LEASE_PAGE, request, AllocationPage.class);
      }

      @Override
      public Future<ConsistencyReport> check() {
        return bus.withTimeout(Math.max(bus.timeoutMs(), CHECK_TIMEOUT_MS)).call(Actions.CHECK, null, ConsistencyReport.class);
      }
    };
  }
}
