package io.vipfarm.api.bus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

  @Test
  void wrongTypesAreIllegalArguments() {
    JsonObject bad = new JsonObject().put("pool", "p").put("fence", "not a number");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.fromJson(bad, Lease.class));
    assertEquals(true, e.getMessage().startsWith("cannot read Lease: "), e.getMessage());
  }
}
