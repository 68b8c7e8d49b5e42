package io.vipfarm.api.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
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
}
