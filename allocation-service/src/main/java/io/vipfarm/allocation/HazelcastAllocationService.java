package io.vipfarm.allocation;

import com.hazelcast.core.HazelcastException;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceNotActiveException;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.map.IMap;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vipfarm.allocation.PoolEntryProcessors.AcquireLease;
import io.vipfarm.allocation.PoolEntryProcessors.DefinePool;
import io.vipfarm.allocation.PoolEntryProcessors.Definitions;
import io.vipfarm.allocation.PoolEntryProcessors.ExpireDue;
import io.vipfarm.allocation.PoolEntryProcessors.QueryLeases;
import io.vipfarm.allocation.PoolEntryProcessors.ReadSnapshot;
import io.vipfarm.allocation.PoolEntryProcessors.ReleaseLease;
import io.vipfarm.allocation.PoolEntryProcessors.RenewLease;
import io.vipfarm.allocation.PoolEntryProcessors.RetirePool;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.PoolView;
import io.vipfarm.api.model.ReleaseResult;
import io.vipfarm.api.model.VipfarmEvent;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link AllocationService} on Hazelcast: each pool is one {@link AllocationMaps#POOLS} entry changed
 * by entry processors (see {@link PoolEntryProcessors}), so acquire, renew and release are atomic on
 * the pool's partition from any member, without a cluster-wide lock, and never block an event loop
 * (they use {@code submitToKey}).
 *
 * <p><b>Pool definitions</b> need one check that spans pools: no two pools overlap. Creating or
 * redefining a pool therefore takes the {@link AllocationMaps#ADMIN_LOCKS} lock, reads every pool's
 * definition, and applies the change with one entry processor that also refuses it atomically when a
 * live lease would be lost. Pool changes are rare admin actions, so one lock for them costs nothing,
 * while lease traffic never touches it; the lock is owned by the calling thread, so the whole
 * sequence runs in one worker task. If a member dies holding it, Hazelcast releases it; a member
 * that stalls longer than {@link #ADMIN_LOCK_LEASE_MS} loses it. Deleting needs no lock: the delete
 * processor alone decides atomically that the pool has no live lease.
 *
 * <p>{@code now} comes from the injected clock once per request and travels inside the processor.
 * Events go to {@code events} after the change, fire-and-forget.
 */
public final class HazelcastAllocationService implements AllocationService {
  private static final Logger LOG = LoggerFactory.getLogger(HazelcastAllocationService.class);

  static final long ADMIN_LOCK_WAIT_MS = 10_000;
  static final long ADMIN_LOCK_LEASE_MS = 60_000;

  private final Vertx vertx;
  private final IMap<String, PoolLeases> pools;
  private final IMap<String, Boolean> adminLocks;
  private final Consumer<VipfarmEvent> events;
  private final LongSupplier clock;

  /**
   * @param events receives lease and pool events; must not throw (failures are logged and ignored)
   * @param clock epoch millis
   */
  public HazelcastAllocationService(
      Vertx vertx, HazelcastInstance hazelcast, Consumer<VipfarmEvent> events, LongSupplier clock) {
    this.vertx = vertx;
    this.pools = hazelcast.getMap(AllocationMaps.POOLS);
    this.adminLocks = hazelcast.getMap(AllocationMaps.ADMIN_LOCKS);
    this.events = events;
    this.clock = clock;
  }

  @Override
  public Future<PoolView> putPool(PoolSpec spec) {
    PoolDefinition definition;
    try {
      definition = PoolValidator.validate(spec);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    long now = clock.getAsLong();
    return blocking(() -> withAdminLock(() -> {
          refuseOverlap(definition);
          return pools.executeOnKey(definition.name(), new DefinePool(definition, now));
        }))
        .compose(change -> settle(definition.name(), change))
        .map(PoolSnapshot::toView);
  }

  @Override
  public Future<PoolView> getPool(String name) {
    return checkedName("name", name)
        .compose(n -> submit(n, new ReadSnapshot(clock.getAsLong())))
        .compose(snapshot -> snapshot == null
            ? Future.failedFuture(VipfarmException.unknownPool(name))
            : Future.succeededFuture(snapshot.toView()));
  }

  @Override
  public Future<Void> deletePool(String name) {
    return checkedName("name", name)
        .compose(n -> submit(n, new RetirePool(clock.getAsLong())))
        .compose(change -> change == null
            ? Future.failedFuture(VipfarmException.unknownPool(name))
            : settle(name, change))
        .mapEmpty();
  }

  @Override
  public Future<List<PoolView>> listPools() {
    long now = clock.getAsLong();
    return blocking(() -> pools.executeOnEntries(new ReadSnapshot(now)))
        .map(byName -> new TreeMap<>(byName).values().stream().map(PoolSnapshot::toView).toList());
  }

  @Override
  public Future<Lease> acquire(AcquireRequest request) {
    LeaseHolder holder;
    try {
      if (request == null) {
        throw VipfarmException.invalidField("body", "an acquire request is required");
      }
      PoolValidator.checkName("pool", request.pool());
      holder = checkedHolder(request.key());
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    String pool = request.pool();
    return submit(pool, new AcquireLease(holder, request.user(), clock.getAsLong()))
        .compose(change -> {
          if (change == null) {
            return Future.failedFuture(VipfarmException.unknownPool(pool));
          }
          if (!change.succeeded() && change.failure().type() == ErrorType.POOL_EXHAUSTED) {
            emit(LeaseEvents.poolExhausted(pool, holder, request.user()));
          }
          return settle(pool, change);
        })
        .map(grant -> {
          String type = grant.renewed() ? VipfarmEvent.LEASE_RENEWED : VipfarmEvent.LEASE_GRANTED;
          emit(LeaseEvents.lease(type, pool, grant.lease()));
          return grant.lease().toLease(pool);
        });
  }

  @Override
  public Future<Lease> renew(LeaseRef ref) {
    LeaseHolder holder;
    try {
      holder = checkedRef(ref);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    String pool = ref.pool();
    return submit(pool, new RenewLease(holder, ref.fence(), clock.getAsLong()))
        .compose(change -> change == null
            ? Future.failedFuture(new VipfarmException(ErrorType.UNKNOWN_LEASE,
                "pool '" + pool + "' no longer exists, so neither does the lease of " + holder))
            : settle(pool, change))
        .map(lease -> {
          emit(LeaseEvents.lease(VipfarmEvent.LEASE_RENEWED, pool, lease));
          return lease.toLease(pool);
        });
  }

  /** Also skipped ({@code released=false}, no address) when the pool no longer exists. */
  @Override
  public Future<ReleaseResult> release(LeaseRef ref) {
    LeaseHolder holder;
    try {
      holder = checkedRef(ref);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    String pool = ref.pool();
    return submit(pool, new ReleaseLease(holder, ref.fence(), clock.getAsLong()))
        .compose(change -> change == null
            ? Future.succeededFuture(new Release(null, false))
            : settle(pool, change))
        .map(release -> {
          if (release.released()) {
            emit(LeaseEvents.lease(VipfarmEvent.LEASE_RELEASED, pool, release.lease()));
          }
          return new ReleaseResult(release.lease() == null ? null : release.lease().addressText(), release.released());
        });
  }

  /** Live leases, ordered by pool name, then address. */
  @Override
  public Future<List<Lease>> leases(AllocationQuery query) {
    LeaseFilter filter = LeaseFilter.of(query);
    long now = clock.getAsLong();
    if (query != null && query.pool() != null) {
      String pool = query.pool();
      return submit(pool, new QueryLeases(filter, now))
          .map(found -> found == null ? List.of() : found.stream().map(l -> l.toLease(pool)).toList());
    }
    return blocking(() -> pools.executeOnEntries(new QueryLeases(filter, now)))
        .map(byPool -> {
          List<Lease> out = new ArrayList<>();
          new TreeMap<>(byPool).forEach((pool, found) -> found.forEach(l -> out.add(l.toLease(pool))));
          return out;
        });
  }

  /**
   * Frees the expired leases of the pools whose primary copy lives on this member and emits
   * {@code lease.expired} for each; every member sweeps its own pools, so no pool is swept twice.
   *
   * @return how many leases expired
   */
  public Future<Integer> sweepExpired() {
    long now = clock.getAsLong();
    return blocking(() -> {
          Set<String> local = pools.localKeySet();
          return local.isEmpty() ? Map.<String, ArrayList<HeldLease>>of() : pools.executeOnKeys(local, new ExpireDue(now));
        })
        .map(byPool -> {
          int count = 0;
          for (Map.Entry<String, ArrayList<HeldLease>> e : new TreeMap<>(byPool).entrySet()) {
            emitExpired(e.getKey(), e.getValue());
            count += e.getValue().size();
          }
          return count;
        });
  }

  private void refuseOverlap(PoolDefinition definition) {
    List<PoolDefinition> others = new ArrayList<>(pools.project(new Definitions()));
    others.sort(Comparator.comparing(PoolDefinition::name));
    for (PoolDefinition other : others) {
      if (!other.name().equals(definition.name()) && other.cidr().overlaps(definition.cidr())) {
        throw new VipfarmException(ErrorType.POOL_OVERLAP,
            definition.cidr() + " overlaps pool '" + other.name() + "' (" + other.cidr() + ")", "cidr");
      }
    }
  }

  private <T> T withAdminLock(Callable<T> action) throws Exception {
    String key = AllocationMaps.POOL_DEFINITIONS_LOCK;
    boolean locked;
    try {
      locked = adminLocks.tryLock(key, ADMIN_LOCK_WAIT_MS, TimeUnit.MILLISECONDS, ADMIN_LOCK_LEASE_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw VipfarmException.unavailable("interrupted while waiting to change pools");
    }
    if (!locked) {
      throw new VipfarmException(ErrorType.TOO_MANY_RETRIES,
          "another pool change held the pool lock for more than " + ADMIN_LOCK_WAIT_MS + " ms; try again");
    }
    try {
      return action.call();
    } finally {
      adminLocks.unlock(key);
    }
  }

  /** Emits the expiries, then turns a refusal into a failed future. */
  private <T extends Serializable> Future<T> settle(String pool, Change<T> change) {
    emitExpired(pool, change.expired());
    return change.succeeded()
        ? Future.succeededFuture(change.value())
        : Future.failedFuture(change.failure().toException());
  }

  private void emitExpired(String pool, List<HeldLease> expired) {
    for (HeldLease lease : expired) {
      emit(LeaseEvents.lease(VipfarmEvent.LEASE_EXPIRED, pool, lease));
    }
  }

  private void emit(VipfarmEvent event) {
    try {
      events.accept(event);
    } catch (RuntimeException e) {
      LOG.warn("could not emit {} event: {}", event.type(), e.toString());
    }
  }

  private <R> Future<R> submit(String pool, EntryProcessor<String, PoolLeases, R> processor) {
    try {
      return Future.fromCompletionStage(pools.submitToKey(pool, processor), vertx.getOrCreateContext())
          .recover(HazelcastAllocationService::translate);
    } catch (RuntimeException e) {
      return translate(e);
    }
  }

  private <R> Future<R> blocking(Callable<R> work) {
    return vertx.executeBlocking(work, false).recover(HazelcastAllocationService::translate);
  }

  /** Hazelcast trouble (member shutting down, cluster not reachable) is the service being unavailable. */
  private static <R> Future<R> translate(Throwable err) {
    Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    if (cause instanceof HazelcastInstanceNotActiveException || cause instanceof HazelcastException) {
      return Future.failedFuture(VipfarmException.unavailable("allocation store unavailable: " + cause.getMessage()));
    }
    return Future.failedFuture(cause);
  }

  private static Future<String> checkedName(String field, String name) {
    try {
      PoolValidator.checkName(field, name);
      return Future.succeededFuture(name);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
  }

  private static LeaseHolder checkedRef(LeaseRef ref) {
    if (ref == null) {
      throw VipfarmException.invalidField("body", "a lease reference is required");
    }
    PoolValidator.checkName("pool", ref.pool());
    return checkedHolder(ref.key());
  }

  private static LeaseHolder checkedHolder(LeaseKey key) {
    if (key == null) {
      throw VipfarmException.invalidField("key", "a lease key is required");
    }
    requireText("key.hostId", key.hostId());
    requireText("key.bootId", key.bootId());
    requireText("key.sessionId", key.sessionId());
    if (key.program() != null) {
      requireText("key.program", key.program());
    }
    return LeaseHolder.of(key);
  }

  private static void requireText(String field, String value) {
    if (value == null || value.isBlank()) {
      throw VipfarmException.invalidField(field, "must not be empty");
    }
  }
}
