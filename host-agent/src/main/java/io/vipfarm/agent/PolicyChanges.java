package io.vipfarm.agent;

import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.model.VipfarmEvent;

/**
 * Turns the farm's {@code policy.changed} events (published on {@link Addresses#EVENTS}) into a call, so
 * that the agent re-resolves its live sessions' policies. Other events are ignored. A consumer registered
 * from a verticle is unregistered when the verticle is undeployed.
 */
final class PolicyChanges {
  private PolicyChanges() {}

  static MessageConsumer<Object> listen(EventBus bus, Runnable onChange) {
    return bus.consumer(Addresses.EVENTS, msg -> {
      if (msg.body() instanceof JsonObject event && VipfarmEvent.POLICY_CHANGED.equals(event.getString("type"))) {
        onChange.run();
      }
    });
  }
}
