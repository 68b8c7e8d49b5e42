package io.vipfarm.api.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.HostAgentService;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Host agents as Service Discovery lists them, on a real discovery. */
class ServiceLocatorTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static Record agent(String hostId, String member) {
    return ServiceLocator.record(Addresses.HOST_AGENT_SERVICE, Addresses.agent(hostId), HostAgentService.class,
        new JsonObject().put(Addresses.META_HOST_ID, hostId).put("bridgeMember", member));
  }

  @Test
  void aHostWithTwoRecordsIsListedOnce() throws Exception {
    ServiceDiscovery discovery = ServiceDiscovery.create(vertx);
    // h1 moving between members: the new member's record is published before the old one is withdrawn
    await(discovery.publish(agent("h1", "m1")));
    await(discovery.publish(agent("h1", "m2")));
    await(discovery.publish(agent("h2", "m1")));
    List<Record> agents = await(new ServiceLocator(discovery).agents());
    assertEquals(List.of("h1", "h2"), agents.stream()
        .map(r -> r.getMetadata().getString(Addresses.META_HOST_ID)).sorted().toList());
    discovery.close();
  }
}
