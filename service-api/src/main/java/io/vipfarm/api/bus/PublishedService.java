package io.vipfarm.api.bus;

import io.vertx.core.Future;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;

/**
 * A {@link ServiceEndpoint} serving on its event-bus address and announced in Service Discovery,
 * so that it is found only while it answers. Withdrawn as one: the record first, then the consumer.
 */
public final class PublishedService {
  private final ServiceDiscovery discovery;
  private final MessageConsumer<Object> consumer;
  private final Record record;

  private PublishedService(ServiceDiscovery discovery, MessageConsumer<Object> consumer, Record record) {
    this.discovery = discovery;
    this.consumer = consumer;
    this.record = record;
  }

  /**
   * Registers {@code endpoint} on the address named in {@code record} (see
   * {@link ServiceLocator#record}), then publishes the record. If publishing fails the consumer is
   * removed again, so a half-started service is never reachable.
   */
  public static Future<PublishedService> publish(
      ServiceDiscovery discovery, EventBus bus, ServiceEndpoint endpoint, Record record) {
    String address = record.getLocation().getString(Record.ENDPOINT);
    return endpoint.register(bus, address)
        .compose(consumer -> discovery.publish(record)
            .map(published -> new PublishedService(discovery, consumer, published))
            .recover(err -> consumer.unregister().transform(ignored -> Future.failedFuture(err))));
  }

  public String address() {
    return consumer.address();
  }

  /** Unpublishes the record and unregisters the consumer; both are attempted even if one fails. */
  public Future<Void> withdraw() {
    return Future.join(discovery.unpublish(record.getRegistration()), consumer.unregister()).mapEmpty();
  }
}
