package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.bus.AgentLink;
import io.vipfarm.api.model.VipfarmEvent;

/**
 * Turns the farm's {@code policy.changed} events (published on {@link Addresses#EVENTS}, relayed to agents
 * behind the bridge) into a call, so that the agent re-resolves its live sessions' policies. Other events are
 * ignored. The subscription ends when the link is closed.
 */
final class PolicyChanges {
  private PolicyChanges() {}

  static Future<Void> listen(AgentLink link, Runnable onChange) {
    return link.onEvents(event -> {
      if (VipfarmEvent.POLICY_CHANGED.equals(event.getString("type"))) {
        onChange.run();
      }
    });
  }
}
