package io.vipfarm.api.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.VertxModule;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The hand-mapped records must give exactly what the generic Jackson mapping gives, on the wire. */
class JsonTest {
  private static final ObjectMapper GENERIC = new ObjectMapper();

  @SuppressWarnings("unchecked")
  private static JsonObject generic(Object record) {
    return new JsonObject(GENERIC.convertValue(record, Map.class));
  }

  private static void sameAsGeneric(Object record) {
    JsonObject direct = Json.direct(record);
    JsonObject expected = generic(record);
    assertEquals(expected.encode(), direct.encode(), "wire text of " + record);
    assertEquals(expected, direct);
    assertEquals(expected.encode(), Json.toJson(record).encode());
  }

  @Test
  void handMappedRecordsEncodeLikeJackson() {
    LeaseKey key = new LeaseKey("h1", "boot", "7", null);
    LeaseKey program = new LeaseKey("h1", "boot", "7", "crm");
    sameAsGeneric(key);
    sameAsGeneric(program);
    sameAsGeneric(new Lease("10.0.0.1", "p", key, "alice", 1L << 40, 1_700_000_000_000L, 1_700_000_300_000L));
    sameAsGeneric(new Lease("10.0.0.1", "p", program, null, 3, 0, 0));
    sameAsGeneric(new Lease(null, null, null, null, 0, 0, 0));
    sameAsGeneric(new AcquireRequest("p", key, "bob"));
    sameAsGeneric(new AcquireRequest("p", null, null));
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("pool", "p");
    data.put("fence", 1L << 40);
    data.put("small", 5L);
    data.put("count", 3);
    data.put("ok", true);
    sameAsGeneric(new VipfarmEvent(0, VipfarmEvent.LEASE_GRANTED, 1_700_000_000_000L, "h1", "7", data));
    sameAsGeneric(new VipfarmEvent(9, VipfarmEvent.HOST_LEFT, 1, "h1", null, null));
  }

  @Test
  void eventsWithNestedDataFallBackToTheGenericMapping() {
    VipfarmEvent event = new VipfarmEvent(1, "x", 2, "h", "s", Map.of("nested", Map.of("a", List.of(1, 2))));
    assertNull(Json.direct(event));
    assertEquals(generic(event).encode(), Json.toJson(event).encode());
  }

  @Test
  void readsRecordsBackAndIgnoresUnknownFields() {
    Lease lease = new Lease("10.0.0.1", "p", new LeaseKey("h1", "boot", "7", "crm"), "alice", 1L << 40, 5, 6);
    assertEquals(lease, Json.fromJson(Json.toJson(lease), Lease.class));
    assertEquals(lease, Json.fromJson(new JsonObject(Json.toJson(lease).encode()), Lease.class));
    JsonObject extra = Json.toJson(lease).put("newerField", new JsonObject().put("x", 1));
    assertEquals(lease, Json.fromJson(extra, Lease.class));
    AllocationQuery query = new AllocationQuery("h", null, "u", "p", null);
    assertEquals(query, Json.fromJson(Json.toJson(query), AllocationQuery.class));
    JsonArray list = (JsonArray) Json.encode(List.of(lease, lease));
    assertEquals(List.of(lease, lease), Json.listFromJson(list, Lease.class));
    assertEquals(List.of(lease), Json.listFromJson(new JsonArray(list.copy().remove(0) instanceof JsonObject o
        ? List.of(o) : List.of()), Lease.class));
  }

  /** What {@link Json#fromJson} did before the hand-read records: the generic mapping only. */
  private static final ObjectMapper GENERIC_WIRE = new ObjectMapper()
      .registerModule(new VertxModule())
      .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  @Test
  void handReadRecordsReadLikeJackson() {
    Random random = new Random(7);
    Object[] values = {null, "", "x", "10.0.0.1", 0, 7, -1, 1L << 40, Long.MAX_VALUE, 2.5, 3.0, true,
        "12", new JsonArray().add(1), new JsonObject().put("hostId", "h"), Map.of("hostId", "m", "sessionId", 4)};
    String[][] fields = {
        {"pool", "key", "user"},
        {"address", "pool", "key", "user", "fence", "grantedAt", "expiresAt"},
        {"hostId", "bootId", "sessionId", "program"}};
    Class<?>[] types = {AcquireRequest.class, Lease.class, LeaseKey.class};
    int direct = 0;
    for (int i = 0; i < 30_000; i++) {
      int t = i % 3;
      JsonObject json = new JsonObject();
      for (String field : fields[t]) {
        int pick = random.nextInt(values.length + 40);
        if (pick < values.length) {
          json.put(field, values[pick]);
        } else if (pick < values.length + 36) {
          // mostly the plain type of the field, to reach the hand-read path often
          json.put(field, plain(field, random));
        } // else absent
      }
      if (random.nextInt(4) == 0) {
        json.put("newerField", random.nextBoolean() ? "v" : new JsonObject().put("x", 1));
      }
      Object expected;
      try {
        expected = GENERIC_WIRE.convertValue(json, types[t]);
      } catch (IllegalArgumentException e) {
        expected = e.getClass();
      }
      Object hand = Json.directFrom(json, types[t]);
      if (hand != null) {
        direct++;
        assertEquals(expected, hand, "hand-read " + types[t].getSimpleName() + " of " + json.encode());
      }
      Object read;
      try {
        read = Json.fromJson(json, types[t]);
      } catch (IllegalArgumentException e) {
        read = e.getClass();
      }
      assertEquals(expected, read, types[t].getSimpleName() + " of " + json.encode());
    }
    assertEquals(true, direct > 5_000, "hand-read cases: " + direct);
  }

  private static Object plain(String field, Random random) {
    return switch (field) {
      case "fence", "grantedAt", "expiresAt" -> random.nextBoolean() ? (Object) random.nextLong() : (Object) random.nextInt();
      case "key" -> random.nextBoolean()
          ? new JsonObject().put("hostId", "h" + random.nextInt(9)).put("bootId", "b").put("sessionId", "s").put("program", random.nextBoolean() ? null : "crm")
          : new LinkedHashMap<>(Map.of("hostId", "h", "bootId", "b", "sessionId", "7"));
      default -> "v" + random.nextInt(100);
    };
  }

  @Test
  void wrongTypesAreIllegalArguments() {
    JsonObject bad = new JsonObject().put("pool", "p").put("fence", "not a number");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.fromJson(bad, Lease.class));
    assertEquals(true, e.getMessage().startsWith("cannot read Lease: "), e.getMessage());
  }
}
