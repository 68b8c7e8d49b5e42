package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.bus.ServiceLocator;

/**
 * Base of the fakes: a {@link ServiceEndpoint} on an event-bus address, published in Service
 * Discovery like the real service, so the gateway finds it the same way.
 */
abstract class FakeService extends VerticleBase {
  private final String serviceName;
  private final String address;
  private final Class<?> serviceInterface;
  private final JsonObject metadata;
  private ServiceDiscovery discovery;
  private Record published;

  FakeService(String serviceName, String address, Class<?> serviceInterface, JsonObject metadata) {
    this.serviceName = serviceName;
    this.address = address;
    this.serviceInterface = serviceInterface;
    this.metadata = metadata;
  }

  abstract ServiceEndpoint endpoint();

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx);
    return endpoint().register(vertx.eventBus(), address)
        .compose(consumer -> discovery.publish(ServiceLocator.record(serviceName, address, serviceInterface, metadata)))
        .onSuccess(record -> published = record);
  }

  @Override
  public Future<?> stop() {
    Future<Void> unpublished = published == null ? Future.succeededFuture() : discovery.unpublish(published.getRegistration());
    return unpublished.onComplete(done -> discovery.close());
  }
}
