package io.vipfarm.api.bus;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.function.Consumer;

/** An agent in a process that is on the farm's event bus itself: services found through Service Discovery. */
final class EventBusAgentLink implements AgentLink {
  private final Vertx vertx;
  private final ServiceDiscovery discovery;
  private final ServiceLocator locator;
  private final EventSink sink;
  private MessageConsumer<Object> events;
  private PublishedService published;

  EventBusAgentLink(Vertx vertx) {
    this.vertx = vertx;
    this.discovery = ServiceDiscovery.create(vertx);
    this.locator = new ServiceLocator(discovery);
    this.sink = new EventSink(vertx);
  }

  @Override
  public EventBusClient client(String serviceName, long timeoutMs) {
    return new EventBusClient(vertx, () -> locator.address(serviceName), timeoutMs);
  }

  @Override
  public void submit(VipfarmEvent event) {
    sink.emit(event);
  }

  @Override
  public Future<Void> onEvents(Consumer<JsonObject> handler) {
    events = vertx.eventBus().consumer(Addresses.EVENTS, msg -> {
      if (msg.body() instanceof JsonObject event) {
        handler.accept(event);
      }
    });
    return events.completion();
  }

  @Override
  public Future<Void> serve(String hostId, ServiceEndpoint endpoint) {
    return PublishedService.publish(discovery, vertx.eventBus(), endpoint, ServiceLocator.record(
            Addresses.HOST_AGENT_SERVICE, Addresses.agent(hostId), HostAgentService.class,
            new JsonObject().put(Addresses.META_HOST_ID, hostId)))
        .onSuccess(service -> published = service)
        .mapEmpty();
  }

  @Override
  public Future<Void> withdraw() {
    PublishedService service = published;
    published = null;
    return service == null ? Future.succeededFuture() : service.withdraw();
  }

  @Override
  public Future<Void> close() {
    Future<Void> unregistered = events == null ? Future.succeededFuture() : events.unregister();
    return unregistered.otherwiseEmpty().onComplete(ar -> discovery.close());
  }
}
