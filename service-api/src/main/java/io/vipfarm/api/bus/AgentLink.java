package io.vipfarm.api.bus;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.function.Consumer;

/**
 * Everything a host agent needs from the control plane, whatever carries it: this process's event bus
 * and Service Discovery ({@link #eventBus}, for {@code --role all}), or the TLS event-bus bridge for
 * agents that never join the cluster (design.md §8). The agent's logic is the same over both.
 */
public interface AgentLink {

  /** A client of the service published as {@code serviceName} ({@code Addresses.POLICY_SERVICE}, ...). */
  EventBusClient client(String serviceName, long timeoutMs);

  /** Hands an event to the farm's event log; fire-and-forget, never fails the caller. */
  void submit(VipfarmEvent event);

  /** Calls {@code handler} with farm events that concern agents (at least {@code policy.changed}). */
  Future<Void> onEvents(Consumer<JsonObject> handler);

  /**
   * Serves {@code endpoint} as the agent of {@code hostId}, so that the gateway finds it in Service
   * Discovery. Over the bridge the control member publishes the record for the agent and withdraws it
   * when the agent's link is gone.
   */
  Future<Void> serve(String hostId, ServiceEndpoint endpoint);

  /** Stops serving (the record is withdrawn); the link still carries requests and events. */
  Future<Void> withdraw();

  /** Releases the link; nothing is served or carried after it. */
  Future<Void> close();

  static AgentLink eventBus(Vertx vertx) {
    return new EventBusAgentLink(vertx);
  }
}
