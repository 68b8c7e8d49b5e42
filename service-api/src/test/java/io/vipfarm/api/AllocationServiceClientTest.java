package io.vipfarm.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.ConsistencyReport;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The event-bus client of the allocation service, against a real consumer that answers slowly. */
class AllocationServiceClientTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void theCheckWaitsLongerThanTheClientsUsualBound() throws Exception {
    ConsistencyReport report = new ConsistencyReport(1L, 1, 2L, 3L, List.of());
    // every answer takes 600 ms, three times the client's bound for ordinary requests
    vertx.eventBus().consumer("alloc.slow", msg -> vertx.setTimer(600, t -> msg.reply(
        AllocationService.Actions.CHECK.equals(msg.headers().get(Addresses.ACTION_HEADER))
            ? Json.encode(report) : new JsonArray())));
    AllocationService client = AllocationService.client(
        new EventBusClient(vertx, () -> Future.succeededFuture("alloc.slow"), 200));

    try {
      client.listPools().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      throw new AssertionError("listPools waited past its bound");
    } catch (ExecutionException e) {
      assertEquals(ErrorType.SERVICE_UNAVAILABLE, assertInstanceOf(VipfarmException.class, e.getCause()).type());
    }
    assertEquals(report, client.check().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS));
  }
}
