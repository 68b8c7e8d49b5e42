package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.AllocationRows;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Pools in a map (every pool has 256 addresses) and a fixed list of leases; remembers the last query. */
final class FakeAllocationService extends FakeService {
  final Map<String, PoolSpec> pools = new ConcurrentHashMap<>();
  final List<Lease> leases = new CopyOnWriteArrayList<>();
  volatile AllocationQuery lastQuery;

  FakeAllocationService() {
    super(Addresses.ALLOCATION_SERVICE, "test.allocation." + System.nanoTime(), AllocationService.class, null);
  }

  @Override
  ServiceEndpoint endpoint() {
    return new ServiceEndpoint()
        .on(AllocationService.Actions.PUT_POOL, PoolSpec.class, this::putPool)
        .on(AllocationService.Actions.GET_POOL, json -> getPool(json.getString("name")))
        .on(AllocationService.Actions.DELETE_POOL, json -> deletePool(json.getString("name")))
        .on(AllocationService.Actions.LIST_POOLS,
            json -> Future.succeededFuture(pools.values().stream().map(FakeAllocationService::view).toList()))
        .on(AllocationService.Actions.LEASES, AllocationQuery.class, this::query)
        .on(AllocationService.Actions.LEASE_PAGE, AllocationPageRequest.class,
            request -> query(request.query()).map(leases -> AllocationRows.page(leases, request)));
  }

  private Future<PoolView> putPool(PoolSpec spec) {
    if (!spec.cidr().contains("/")) {
      return Future.failedFuture(VipfarmException.invalidField("cidr", "is not a CIDR"));
    }
    pools.put(spec.name(), spec);
    return Future.succeededFuture(view(spec));
  }

  private Future<PoolView> getPool(String name) {
    PoolSpec spec = pools.get(name);
    return spec == null ? Future.failedFuture(VipfarmException.unknownPool(name)) : Future.succeededFuture(view(spec));
  }

  private Future<Void> deletePool(String name) {
    return pools.remove(name) == null ? Future.failedFuture(VipfarmException.unknownPool(name))
        : Future.succeededFuture();
  }

  private Future<List<Lease>> query(AllocationQuery query) {
    lastQuery = query;
    return Future.succeededFuture(new ArrayList<>(leases.stream().filter(query::matches).toList()));
  }

  private static PoolView view(PoolSpec spec) {
    return PoolView.of(spec, 256, 1);
  }
}
