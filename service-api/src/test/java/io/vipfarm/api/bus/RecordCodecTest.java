package io.vipfarm.api.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The acquire path's records on the event bus: as they are locally, a few fields on the wire, JSON for the rest. */
class RecordCodecTest {
  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static <T> T wireRoundTrip(RecordCodec<T> codec, T record) {
    Buffer buffer = Buffer.buffer().appendString("what the message header wrote first");
    int at = buffer.length();
    codec.encodeToWire(buffer, record);
    buffer.appendString("trailing bytes a reader must not need");
    return codec.decodeFromWire(at, buffer);
  }

  @Test
  void recordsSurviveTheWire() {
    LeaseKey key = new LeaseKey("host-ä", "boot", "7", null);
    List<Lease> leases = List.of(
        new Lease("127.100.0.1", "p", key, "alice", 1L << 40, 1_700_000_000_000L, Long.MAX_VALUE),
        new Lease("127.100.0.2", "pool-ü", new LeaseKey("h", "b", "s", "crm ✓"), null, -1, 0, Long.MIN_VALUE),
        new Lease(null, null, null, null, 0, 0, 0),
        new Lease("", "", new LeaseKey(null, null, null, null), "", 3, 4, 5));
    for (Lease lease : leases) {
      assertEquals(lease, wireRoundTrip(new RecordCodec.LeaseCodec(), lease));
    }
    for (AcquireRequest request : List.of(new AcquireRequest("p", key, "bob"), new AcquireRequest(null, null, null),
        new AcquireRequest("p", new LeaseKey("h", "b", "s", "prog"), null))) {
      assertEquals(request, wireRoundTrip(new RecordCodec.AcquireRequestCodec(), request));
    }
  }

  @Test
  void anUnknownWireFormatFailsTheMessage() {
    Buffer buffer = Buffer.buffer();
    new RecordCodec.LeaseCodec().encodeToWire(buffer, new Lease("a", "p", null, null, 1, 2, 3));
    buffer.setByte(4, (byte) 9);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> new RecordCodec.LeaseCodec().decodeFromWire(0, buffer));
    assertTrue(e.getMessage().contains("unknown wire format 9"), e.getMessage());
  }

  @Test
  void overTheEventBusTheRecordsAreNotCopiedAndJsonStillWorks() throws Exception {
    AtomicReference<AcquireRequest> received = new AtomicReference<>();
    Lease lease = new Lease("127.100.0.9", "p", new LeaseKey("h", "b", "s", null), "u", 5, 6, 7);
    ServiceEndpoint endpoint = new ServiceEndpoint().on("acquire", AcquireRequest.class, request -> {
      received.set(request);
      return Future.succeededFuture(lease);
    });
    await(endpoint.register(vertx.eventBus(), "svc"));
    AcquireRequest request = new AcquireRequest("p", new LeaseKey("h", "b", "s", null), "u");

    // the event-bus client: the very instances, both ways
    EventBusClient client = EventBusClient.fixed(vertx, "svc");
    assertSame(lease, await(client.call("acquire", request, Lease.class)));
    assertSame(request, received.get());

    // a transport that carries only JSON (as the agents' bridge): equal records, through JSON both ways
    RequestTransport jsonOnly = (address, action, body, timeoutMs) -> {
      assertInstanceOf(JsonObject.class, body);
      return RequestTransport.eventBus(vertx).request(address, action, body, timeoutMs);
    };
    EventBusClient jsonClient = new EventBusClient(jsonOnly, () -> Future.succeededFuture("svc"), 5_000);
    Lease viaJson = await(jsonClient.call("acquire", request, Lease.class));
    assertEquals(lease, viaJson);
    assertEquals(request, received.get());
    // what the bridge's endpoint call gives: JSON
    assertEquals(Json.toJson(lease), await(endpoint.handle("acquire", Json.toJson(request))));
  }
}
