package io.vipfarm.api.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The client's bounds, on a real event bus: no service, and an address lookup that never answers. */
class EventBusClientTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private Throwable failureOf(Future<?> call) throws Exception {
    try {
      call.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("the call succeeded");
  }

  @Test
  void aStuckAddressLookupFailsUnavailableWithinTheTimeout() throws Exception {
    Promise<String> never = Promise.promise();
    EventBusClient client = new EventBusClient(vertx, never::future, 300);
    long start = System.nanoTime();
    Throwable failure = failureOf(client.call("get", null, JsonObject.class));
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    VipfarmException e = assertInstanceOf(VipfarmException.class, failure);
    assertEquals(ErrorType.SERVICE_UNAVAILABLE, e.type());
    assertTrue(tookMs >= 250 && tookMs < 4_000, "failed after " + tookMs + " ms");
  }

  @Test
  void noConsumerFailsUnavailableAtOnce() throws Exception {
    EventBusClient client = new EventBusClient(RequestTransport.localEventBus(vertx),
        () -> Future.succeededFuture("nobody.here"), 10_000);
    Throwable failure = failureOf(client.call("get", null, JsonObject.class));
    VipfarmException e = assertInstanceOf(VipfarmException.class, failure);
    assertEquals(ErrorType.SERVICE_UNAVAILABLE, e.type());
  }

  @Test
  void aRememberedAddressIsLookedUpAgainOnceNobodyConsumesThere() throws Exception {
    ServiceDiscovery discovery = ServiceDiscovery.create(vertx);
    ServiceLocator locator = new ServiceLocator(discovery);
    MessageConsumer<Object> first = vertx.eventBus().consumer("svc.a", msg -> msg.reply(new JsonObject().put("at", "a")));
    Record published = await(discovery.publish(ServiceLocator.record("svc", "svc.a", Object.class, new JsonObject())));
    EventBusClient client = new EventBusClient(vertx, locator.remembered("svc"), 2_000);
    assertEquals("a", await(client.call("get", null, JsonObject.class)).getString("at"));

    // the service moves: a's consumer goes, the record now names b
    await(first.unregister());
    await(discovery.unpublish(published.getRegistration()));
    vertx.eventBus().consumer("svc.b", msg -> msg.reply(new JsonObject().put("at", "b")));
    await(discovery.publish(ServiceLocator.record("svc", "svc.b", Object.class, new JsonObject())));
    // the remembered a finds nobody (503), which makes the next request look again
    VipfarmException e = assertInstanceOf(VipfarmException.class, failureOf(client.call("get", null, JsonObject.class)));
    assertEquals(ErrorType.SERVICE_UNAVAILABLE, e.type());
    assertEquals("b", await(client.call("get", null, JsonObject.class)).getString("at"));
    discovery.close();
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }
}
