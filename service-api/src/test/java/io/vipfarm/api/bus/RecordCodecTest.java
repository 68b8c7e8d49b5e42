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
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.Addresses;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
  void pagesOfAllocationsSurviveTheWireAndJson() {
    for (AllocationPageRequest request : List.of(
        new AllocationPageRequest(new AllocationQuery("h-ä", "7", "bob", "p", "127.100.0.1"), 500, "p", "127.100.0.9"),
        AllocationPageRequest.first(AllocationQuery.all(), 1))) {
      assertEquals(request, wireRoundTrip(new RecordCodec.AllocationPageRequestCodec(), request));
    }
    byte[] rows = "[{\"address\":\"127.100.0.1\",\"user\":\"✓\"}]".getBytes(StandardCharsets.UTF_8);
    for (AllocationPage page : List.of(new AllocationPage(rows, 1, "p", "127.100.0.1", true),
        new AllocationPage("[]".getBytes(StandardCharsets.UTF_8), 0, null, null, false))) {
      for (AllocationPage back : List.of(wireRoundTrip(new RecordCodec.AllocationPageCodec(), page),
          Json.fromBody(Json.encode(page), AllocationPage.class))) {
        assertEquals(page, back); // by the rows' content, not the array's identity
        assertEquals(page.rowsText(), back.rowsText());
        assertEquals(List.of(page.count(), String.valueOf(page.lastPool()), String.valueOf(page.lastAddress()), page.more()),
            List.of(back.count(), String.valueOf(back.lastPool()), String.valueOf(back.lastAddress()), back.more()));
      }
    }
  }

  @Test
  void eventsSurviveTheWireAndMapToTheSameJson() {
    List<VipfarmEvent> flat = List.of(
        VipfarmEvent.submit(VipfarmEvent.LEASE_GRANTED, "host-ä", "7", Map.of("pool", "p", "address", "127.100.0.1",
            "fence", 1L << 40, "expiresAt", 1_700_000_000_000L, "bootId", "b", "user", "✓")),
        new VipfarmEvent(42, VipfarmEvent.SESSION_STARTED, -1, "h", null, Map.of("count", 3, "sticky", true, "empty", "")),
        new VipfarmEvent(0, null, 0, null, null, Map.of()));
    for (VipfarmEvent event : flat) {
      assertEquals(event, wireRoundTrip(new RecordCodec.EventCodec(), event)); // the very values and types
    }
    // not flat: travels as JSON text and comes back as the JSON types, so it maps to the same JSON
    VipfarmEvent nested = VipfarmEvent.submit(VipfarmEvent.POLICY_CHANGED, null, null, Map.of("name", "x",
        "ratio", 0.5, "list", List.of(1, "two", Map.of("three", 3L)), "nested", Map.of("a", Map.of("b", false))));
    assertEquals(Json.toJson(nested), Json.toJson(wireRoundTrip(new RecordCodec.EventCodec(), nested)));
    Map<String, Object> ints = new LinkedHashMap<>();
    ints.put("int", Integer.MIN_VALUE);
    ints.put("long", Long.MIN_VALUE);
    VipfarmEvent typed = new VipfarmEvent(1, "t", 2, "h", "s", ints);
    VipfarmEvent back = wireRoundTrip(new RecordCodec.EventCodec(), typed);
    assertInstanceOf(Integer.class, back.data().get("int"));
    assertInstanceOf(Long.class, back.data().get("long"));
  }

  @Test
  void theEventLogReadsASubmissionInEitherForm() throws Exception {
    VipfarmEvent event = VipfarmEvent.submit(VipfarmEvent.HOST_LEFT, "h1", null, Map.of("reason", "gone"));
    AtomicReference<Object> received = new AtomicReference<>();
    await(vertx.eventBus().consumer(Addresses.EVENTS_SUBMIT, msg -> received.set(msg.body())).completion());
    new EventSink(vertx).emit(event);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (received.get() == null && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertSame(event, received.get()); // in this process: the record itself
    assertEquals(event, EventSink.read(received.get()));
    assertEquals(event, EventSink.read(Json.toJson(event))); // what a bridged agent sends
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EventSink.read("text"));
    assertTrue(e.getMessage().contains("String"), e.getMessage());
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
