package io.vipfarm.deploy.bridge;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.AgentLink;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.function.Consumer;

/**
 * A host agent's link to the control plane through the TLS event-bus bridge: the agent's process is a
 * plain (non-clustered) Vert.x and holds no cluster data. Services are addressed directly (the bridge
 * permits exactly their addresses); the control member the agent is connected to publishes the agent's
 * Service Discovery record for it.
 */
public final class BridgeAgentLink implements AgentLink {
  private final Vertx vertx;
  private final BridgeClient client;
  private String servedAddress;
  private MessageConsumer<Object> localConsumer;

  /** @param vertx the agent process's own (non-clustered) Vert.x: local session sources reach the agent on it */
  public BridgeAgentLink(Vertx vertx, BridgeClient client) {
    this.vertx = vertx;
    this.client = client;
  }

  @Override
  public EventBusClient client(String serviceName, long timeoutMs) {
    String address = switch (serviceName) {
      case Addresses.POLICY_SERVICE -> Addresses.POLICY;
      case Addresses.ALLOCATION_SERVICE -> Addresses.ALLOCATION;
      default -> throw new IllegalArgumentException("agents reach no '" + serviceName + "' service");
    };
    return new EventBusClient(client::request, () -> Future.succeededFuture(address), timeoutMs);
  }

  @Override
  public void submit(VipfarmEvent event) {
    client.send(Addresses.EVENTS_SUBMIT, Json.toJson(event));
  }

  /** Completes once connected to a control member (the agent's start waits for the control plane here). */
  @Override
  public Future<Void> onEvents(Consumer<JsonObject> handler) {
    client.register(Addresses.POLICY_CHANGES, frame -> {
      if (frame.getValue("body") instanceof JsonObject event) {
        handler.accept(event);
      }
    });
    return client.start();
  }

  @Override
  public Future<Void> serve(String hostId, ServiceEndpoint endpoint) {
    servedAddress = Addresses.agent(hostId);
    client.register(servedAddress, frame -> {
      String replyAddress = frame.getString("replyAddress");
      JsonObject headers = frame.getJsonObject("headers", new JsonObject());
      Object body = frame.getValue("body");
      endpoint.handle(headers.getString(Addresses.ACTION_HEADER), body instanceof JsonObject json ? json : null)
          .onComplete(ar -> {
            if (replyAddress == null) {
              return;
            }
            if (ar.succeeded()) {
              client.reply(replyAddress, ar.result());
            } else {
              VipfarmException e = (VipfarmException) ar.cause();
              client.fail(replyAddress, e.type().code(), ServiceEndpoint.failureMessage(e));
            }
          });
    });
    // the same endpoint in this process (logind / PAM session sources talk to the agent locally)
    return endpoint.register(vertx.eventBus(), servedAddress).onSuccess(c -> localConsumer = c).mapEmpty();
  }

  @Override
  public Future<Void> withdraw() {
    if (servedAddress != null) {
      client.unregister(servedAddress);
      servedAddress = null;
    }
    MessageConsumer<Object> local = localConsumer;
    localConsumer = null;
    return local == null ? Future.succeededFuture() : local.unregister();
  }

  @Override
  public Future<Void> close() {
    return client.close();
  }
}
