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

  /** Sends {@code body} (JSON or null) with {@code action} in the action header; completes with the reply body. */
  Future<Object> request(String address, String action, Object body, long timeoutMs);

  /** The event bus of {@code vertx}. */
  static RequestTransport eventBus(Vertx vertx) {
    return (address, action, body, timeoutMs) -> vertx.eventBus()
        .request(address, body, new DeliveryOptions().addHeader(Addresses.ACTION_HEADER, action).setSendTimeout(timeoutMs))
        .map(Message::body);
  }

  /**
   * This process's own consumers only, for services every control member runs (what the gateway calls):
   * the member's own service answers, so a request never waits on the stale registration of a member that
   * just left the cluster.
   */
  static RequestTransport localEventBus(Vertx vertx) {
    return (address, action, body, timeoutMs) -> vertx.eventBus()
        .request(address, body, new DeliveryOptions().addHeader(Addresses.ACTION_HEADER, action)
            .setSendTimeout(timeoutMs).setLocalOnly(true))
        .map(Message::body);
  }
}
