package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.EffectivePolicy;

/**
 * A policy service that answers the one question the agent asks, {@code effective}, with whatever
 * policy the test set. Real event bus, real discovery record.
 */
final class FakePolicyService extends VerticleBase {
  private volatile EffectivePolicy policy = EffectivePolicy.none();
  private ServiceDiscovery discovery;

  void answer(EffectivePolicy newPolicy) {
    this.policy = newPolicy;
  }

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx);
    String address = "test.policy." + deploymentID();
    return new ServiceEndpoint()
        .on(PolicyService.Actions.EFFECTIVE, query -> Future.succeededFuture(policy))
        .register(vertx.eventBus(), address)
        .compose(consumer -> discovery.publish(
            ServiceLocator.record(Addresses.POLICY_SERVICE, address, PolicyService.class, new JsonObject())));
  }

  @Override
  public Future<?> stop() {
    discovery.close();
    return Future.succeededFuture();
  }
}
