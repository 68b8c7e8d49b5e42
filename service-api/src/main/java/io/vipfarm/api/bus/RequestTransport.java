package io.vipfarm.api.bus;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vipfarm.api.Addresses;

/**
 * How {@link EventBusClient} carries one request to a service and its reply back: over this process's
 * (clustered) event bus, or over the TCP event-bus bridge for agents outside the cluster. A service's
 * failure must come back as a {@link io.vertx.core.eventbus.ReplyException} with the service's failure
 * code, so that the client restores the {@link io.vipfarm.api.VipfarmException} whatever the transport.
 */
@FunctionalInterface
public interface RequestTransport {

  /**
   * Sends {@code body} (JSON, null, or, when {@link #carriesRecords}, a record of {@link RecordCodec})
   * with {@code action} in the action header; completes with the reply body.
   */
  Future<Object> request(String address, String action, Object body, long timeoutMs);

  /** Whether {@link #request} takes the records of {@link RecordCodec} as they are (else JSON only). */
  default boolean carriesRecords() {
    return false;
  }

  /** The event bus of {@code vertx}. */
  static RequestTransport eventBus(Vertx vertx) {
    return new EventBusTransport(vertx, false);
  }

  /**
   * This process's own consumers only, for services every control member runs (what the gateway calls):
   * the member's own service answers, so a request never waits on the stale registration of a member that
   * just left the cluster.
   */
  static RequestTransport localEventBus(Vertx vertx) {
    return new EventBusTransport(vertx, true);
  }

  /** Over the event bus, records and all: the codecs are registered on it here. */
  final class EventBusTransport implements RequestTransport {
    private final Vertx vertx;
    private final boolean localOnly;

    private EventBusTransport(Vertx vertx, boolean localOnly) {
      this.vertx = vertx;
      this.localOnly = localOnly;
      RecordCodec.register(vertx.eventBus());
    }

    @Override
    public Future<Object> request(String address, String action, Object body, long timeoutMs) {
      return vertx.eventBus()
          .request(address, body, new DeliveryOptions().addHeader(Addresses.ACTION_HEADER, action)
              .setSendTimeout(timeoutMs).setLocalOnly(localOnly))
          .map(Message::body);
    }

    @Override
    public boolean carriesRecords() {
      return true;
    }
  }
}
