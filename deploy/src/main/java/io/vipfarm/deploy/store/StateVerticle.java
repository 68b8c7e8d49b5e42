package io.vipfarm.deploy.store;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.ServiceLocator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores the configuration state when a control member starts (see {@link StateRestore}): one pass
 * before the start completes, then again every {@link #RETRY_MS} while some entries had to wait for the
 * cluster (typically for the quorum of {@code --expected-members} to join); and every {@link #SYNC_MS}
 * it merges the members' copies. Deploy it after the policy
 * and allocation services. Does nothing on a member that keeps no state copy.
 */
public final class StateVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(StateVerticle.class);
  static final long RETRY_MS = 2_000;
  /** How often the members' copies are merged, repairing one that missed a row. */
  static final long SYNC_MS = 30_000;

  private final HazelcastInstance hazelcast;
  private ServiceDiscovery discovery;
  private StateRestore restore;
  private long timer = -1;
  private long syncTimer = -1;
  private java.util.UUID listener;

  public StateVerticle(HazelcastInstance hazelcast) {
    this.hazelcast = hazelcast;
  }

  @Override
  public Future<?> start() {
    if (DurableState.of(hazelcast) == null) {
      return Future.succeededFuture();
    }
    discovery = ServiceDiscovery.create(vertx);
    ServiceLocator locator = new ServiceLocator(discovery);
    restore = new StateRestore(vertx, hazelcast,
        AllocationService.client(new EventBusClient(vertx, () -> locator.address(Addresses.ALLOCATION_SERVICE), EventBusClient.DEFAULT_TIMEOUT_MS)),
        PolicyService.client(new EventBusClient(vertx, () -> locator.address(Addresses.POLICY_SERVICE), EventBusClient.DEFAULT_TIMEOUT_MS)));
    StateDatabase database = DurableState.of(hazelcast);
    // listen before the first merge: a row stored meanwhile is then either heard or merged
    return vertx.executeBlocking(() -> hazelcast.<StateRow>getTopic(DurableState.ROWS_TOPIC)
            .addMessageListener(message -> database.offer(message.getMessageObject())), false)
        .compose(registration -> {
          listener = registration;
          return runPass();
        })
        .onSuccess(v -> syncTimer = vertx.setPeriodic(SYNC_MS, id -> restore.syncCopies()
            .onFailure(err -> LOG.debug("merging the state copies failed: {}", err.toString()))));
  }

  private Future<Void> runPass() {
    return restore.pass()
        .recover(err -> {
          LOG.warn("restoring the configuration state failed, trying again: {}", err.toString());
          return Future.succeededFuture(1);
        })
        .map(waiting -> {
          if (waiting > 0) {
            timer = vertx.setTimer(RETRY_MS, id -> runPass());
          } else {
            LOG.info("configuration state restored");
          }
          return null;
        });
  }

  /** A clean stop merges the copies once more, so the members that stay hold every row this one has. */
  @Override
  public Future<?> stop() {
    vertx.cancelTimer(timer);
    vertx.cancelTimer(syncTimer);
    if (restore == null) {
      return Future.succeededFuture();
    }
    return restore.syncCopies()
        .recover(err -> {
          LOG.warn("could not merge the state copies before stopping: {}", err.toString());
          return Future.succeededFuture();
        })
        .compose(v -> vertx.executeBlocking(() -> {
          if (listener != null) {
            hazelcast.getTopic(DurableState.ROWS_TOPIC).removeMessageListener(listener);
          }
          return null;
        }, false))
        .onComplete(done -> discovery.close());
  }
}
