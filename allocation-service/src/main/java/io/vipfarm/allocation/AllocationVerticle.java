package io.vipfarm.allocation;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.AllocationService.Actions;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.bus.PublishedService;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The allocation service on the event bus: binds every {@link Actions} action on
 * {@link Addresses#ALLOCATION} to a {@link HazelcastAllocationService}, publishes the
 * {@link Addresses#ALLOCATION_SERVICE} discovery record, and sweeps expired leases every second.
 * Deploy one per control member; the Hazelcast instance should be configured with
 * {@link AllocationMaps#configure}.
 */
public final class AllocationVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(AllocationVerticle.class);
  public static final long SWEEP_PERIOD_MS = 1_000;

  private final HazelcastInstance hazelcast;
  private final LongSupplier clock;
  private final long sweepPeriodMs;

  private HazelcastAllocationService service;
  private ServiceDiscovery discovery;
  private PublishedService published;
  private long sweepTimer = -1;
  private boolean sweeping;

  public AllocationVerticle(HazelcastInstance hazelcast) {
    this(hazelcast, System::currentTimeMillis, SWEEP_PERIOD_MS);
  }

  /** For tests: a controllable clock (epoch millis) and sweep period. */
  AllocationVerticle(HazelcastInstance hazelcast, LongSupplier clock, long sweepPeriodMs) {
    this.hazelcast = hazelcast;
    this.clock = clock;
    this.sweepPeriodMs = sweepPeriodMs;
  }

  @Override
  public Future<?> start() {
    if (!hazelcast.getConfig().getSerializationConfig().getDataSerializableFactories()
        .containsKey(AllocationSerialization.FACTORY_ID)) {
      // without it every block operation fails later with an obscure serialization error
      return Future.failedFuture(new IllegalStateException(
          "this Hazelcast member was created without AllocationMaps.configure(config): the allocation"
              + " service cannot store leases on it"));
    }
    EventSink events = new EventSink(vertx);
    service = new HazelcastAllocationService(vertx, hazelcast, events::emit, clock);
    ServiceEndpoint endpoint = new ServiceEndpoint()
        .on(Actions.PUT_POOL, PoolSpec.class, service::putPool)
        .on(Actions.GET_POOL, body -> service.getPool(name(body)))
        .on(Actions.DELETE_POOL, body -> service.deletePool(name(body)))
        .on(Actions.LIST_POOLS, body -> service.listPools())
        .on(Actions.ACQUIRE, AcquireRequest.class, service::acquire)
        .on(Actions.RENEW, LeaseRef.class, service::renew)
        .on(Actions.RELEASE, LeaseRef.class, service::release)
        .on(Actions.LEASES, AllocationQuery.class, service::leases)
        .on(Actions.LEASE_PAGE, AllocationPageRequest.class, service::leasePage)
        .on(Actions.CHECK, body -> service.check());
    discovery = ServiceDiscovery.create(vertx);
    return PublishedService.publish(discovery, vertx.eventBus(), endpoint, ServiceLocator.record(
            Addresses.ALLOCATION_SERVICE, Addresses.ALLOCATION, AllocationService.class, new JsonObject()))
        .onSuccess(service -> {
          published = service;
          sweepTimer = vertx.setPeriodic(sweepPeriodMs, id -> sweep());
        });
  }

  @Override
  public Future<?> stop() {
    if (sweepTimer >= 0) {
      vertx.cancelTimer(sweepTimer);
    }
    Future<Void> withdrawn = published == null ? Future.succeededFuture() : published.withdraw();
    return withdrawn.eventually(() -> {
      service.close();
      discovery.close();
      return Future.succeededFuture();
    });
  }

  /** One sweep at a time: a slow sweep makes the next tick skip rather than pile up. */
  private void sweep() {
    if (sweeping) {
      return;
    }
    sweeping = true;
    service.sweepExpired()
        .onFailure(err -> LOG.warn("expiry sweep failed: {}", err.toString()))
        .onComplete(done -> sweeping = false);
  }

  private static String name(JsonObject body) {
    return body == null ? null : body.getString("name");
  }
}
