package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.ReleaseResult;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An allocation service over a tiny in-memory list of addresses (one pool, any name): acquire,
 * renew and release with the real contract's errors, and a record of what the agent asked.
 * {@link #revoke} takes a lease away behind the agent's back, as an expiry or a reclaim would.
 */
final class FakeAllocationService extends VerticleBase {
  private final List<String> addresses;
  private final long leaseMillis;
  private final Map<String, Lease> leasesByKey = new ConcurrentHashMap<>();
  private final AtomicLong fences = new AtomicLong();
  final List<AcquireRequest> acquires = new CopyOnWriteArrayList<>();
  final List<LeaseRef> releases = new CopyOnWriteArrayList<>();
  final AtomicInteger renewals = new AtomicInteger();
  /** How many of the next acquires are refused as unavailable, as during a member's join. */
  final AtomicInteger unavailableAcquires = new AtomicInteger();
  private ServiceDiscovery discovery;

  FakeAllocationService(List<String> addresses, long leaseMillis) {
    this.addresses = List.copyOf(addresses);
    this.leaseMillis = leaseMillis;
  }

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx);
    String address = "test.allocation." + deploymentID();
    return new ServiceEndpoint()
        .on(AllocationService.Actions.ACQUIRE, AcquireRequest.class, this::acquire)
        .on(AllocationService.Actions.RENEW, LeaseRef.class, this::renew)
        .on(AllocationService.Actions.RELEASE, LeaseRef.class, this::release)
        .register(vertx.eventBus(), address)
        .compose(consumer -> discovery.publish(
            ServiceLocator.record(Addresses.ALLOCATION_SERVICE, address, AllocationService.class, new JsonObject())));
  }

  @Override
  public Future<?> stop() {
    discovery.close();
    return Future.succeededFuture();
  }

  /** The live leases. */
  List<Lease> leases() {
    return List.copyOf(leasesByKey.values());
  }

  Optional<Lease> leaseOf(String address) {
    return leasesByKey.values().stream().filter(l -> l.address().equals(address)).findFirst();
  }

  /** Forgets the lease on {@code address}: the agent's next renewal gets UNKNOWN_LEASE. */
  void revoke(String address) {
    leasesByKey.values().removeIf(l -> l.address().equals(address));
  }

  /** Gives the address of a lease to another key: the holder's renewal gets UNKNOWN_LEASE, the address is taken. */
  void giveToAnother(String address) {
    Lease lease = leaseOf(address).orElseThrow();
    leasesByKey.remove(lease.key().asString());
    LeaseKey other = new LeaseKey("another-host", "another-boot", "1", null);
    leasesByKey.put(other.asString(), new Lease(address, lease.pool(), other, "mallory", fences.incrementAndGet(),
        lease.grantedAt(), lease.expiresAt()));
  }

  private Future<Lease> acquire(AcquireRequest request) {
    acquires.add(request);
    if (unavailableAcquires.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
      return Future.failedFuture(VipfarmException.unavailable("allocation store unavailable: backup acks missed"));
    }
    Lease existing = leasesByKey.get(request.key().asString());
    if (existing != null) {
      return Future.succeededFuture(existing);
    }
    Optional<String> free = addresses.stream()
        .filter(a -> leasesByKey.values().stream().noneMatch(l -> l.address().equals(a)))
        .findFirst();
    if (free.isEmpty()) {
      return Future.failedFuture(VipfarmException.poolExhausted(request.pool()));
    }
    long now = System.currentTimeMillis();
    Lease lease = new Lease(free.get(), request.pool(), request.key(), request.user(), fences.incrementAndGet(), now,
        now + leaseMillis);
    leasesByKey.put(request.key().asString(), lease);
    return Future.succeededFuture(lease);
  }

  private Future<Lease> renew(LeaseRef ref) {
    renewals.incrementAndGet();
    Lease lease = leasesByKey.get(ref.key().asString());
    if (lease == null) {
      return Future.failedFuture(new VipfarmException(ErrorType.UNKNOWN_LEASE, "no such lease"));
    }
    if (lease.fence() != ref.fence()) {
      return Future.failedFuture(VipfarmException.staleLease("fence " + ref.fence() + " is stale"));
    }
    long now = System.currentTimeMillis();
    Lease renewed = new Lease(lease.address(), lease.pool(), lease.key(), lease.user(), lease.fence(), now,
        now + leaseMillis);
    leasesByKey.put(ref.key().asString(), renewed);
    return Future.succeededFuture(renewed);
  }

  private Future<ReleaseResult> release(LeaseRef ref) {
    releases.add(ref);
    Lease lease = leasesByKey.get(ref.key().asString());
    if (lease == null || lease.fence() != ref.fence()) {
      return Future.succeededFuture(new ReleaseResult(lease == null ? null : lease.address(), false));
    }
    leasesByKey.remove(ref.key().asString());
    return Future.succeededFuture(new ReleaseResult(lease.address(), true));
  }
}
