package io.vipfarm.api.bus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.VertxModule;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.LinkedHashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Maps the service-api records to and from Vert.x JSON.
 *
 * <p>Two readers: the wire reader ignores unknown properties (a newer peer may send more), the strict
 * reader is for user input and reports the offending field as an {@code INVALID_FIELD} error.
 */
public final class Json {
  private Json() {}

  /** Knows Vert.x's JsonObject and JsonArray, so that they convert to records without a text round trip. */
  private static final ObjectMapper WIRE =
      new ObjectMapper().registerModule(new VertxModule())
          .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
  private static final ObjectMapper STRICT =
      new ObjectMapper()
          .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
          .configure(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES, true)
          .configure(DeserializationFeature.ACCEPT_FLOAT_AS_INT, false);

  /** A record (or list of records) as JSON: JsonObject for a record, JsonArray for a list, null for null. */
  public static Object encode(Object value) {
    if (value == null) {
      return null;
    }
    if (value instanceof JsonObject || value instanceof JsonArray || value instanceof String
        || value instanceof Number || value instanceof Boolean) {
      return value;
    }
    if (value instanceof List<?> list) {
      List<Object> items = list.stream().map(Json::encode).collect(Collectors.toCollection(ArrayList::new));
      return new JsonArray(items);
    }
    return toJson(value);
  }

  /**
   * A record as a JsonObject. The records of the lease path (a lease, its key, an acquire request, an
   * event with plain data) are mapped by hand, field by field in declaration order, which gives what the
   * generic mapping gives (same names, nulls kept) without its serialize-then-deserialize pass.
   */
  @SuppressWarnings("unchecked")
  public static JsonObject toJson(Object record) {
    JsonObject direct = direct(record);
    return direct != null ? direct : new JsonObject(WIRE.convertValue(record, Map.class));
  }

  /** The hand-mapped records, or null for any other (and for an event whose data is not flat). */
  static JsonObject direct(Object record) {
    if (record instanceof Lease l) {
      Map<String, Object> m = new LinkedHashMap<>(8);
      m.put("address", l.address());
      m.put("pool", l.pool());
      m.put("key", keyMap(l.key()));
      m.put("user", l.user());
      m.put("fence", l.fence());
      m.put("grantedAt", l.grantedAt());
      m.put("expiresAt", l.expiresAt());
      return new JsonObject(m);
    }
    if (record instanceof AcquireRequest r) {
      Map<String, Object> m = new LinkedHashMap<>(4);
      m.put("pool", r.pool());
      m.put("key", keyMap(r.key()));
      m.put("user", r.user());
      return new JsonObject(m);
    }
    if (record instanceof LeaseKey k) {
      return new JsonObject(keyMap(k));
    }
    if (record instanceof VipfarmEvent e) {
      Map<String, Object> data = new LinkedHashMap<>(e.data().size() * 2);
      for (Map.Entry<String, Object> d : e.data().entrySet()) {
        Object v = d.getValue();
        if (!(v == null || v instanceof String || v instanceof Boolean || v instanceof Integer || v instanceof Long)) {
          return null;
        }
        data.put(d.getKey(), v);
      }
      Map<String, Object> m = new LinkedHashMap<>(8);
      m.put("id", e.id());
      m.put("type", e.type());
      m.put("timestamp", e.timestamp());
      m.put("hostId", e.hostId());
      m.put("sessionId", e.sessionId());
      m.put("data", data);
      return new JsonObject(m);
    }
    return null;
  }

  private static Map<String, Object> keyMap(LeaseKey k) {
    if (k == null) {
      return null;
    }
    Map<String, Object> m = new LinkedHashMap<>(6);
    m.put("hostId", k.hostId());
    m.put("bootId", k.bootId());
    m.put("sessionId", k.sessionId());
    m.put("program", k.program());
    return m;
  }

  /**
   * Reads a record from JSON: the lease path's records by hand ({@link #directFrom}), any other (and any
   * value of an unusual type) with one token pass over the JsonObject, no text in between.
   */
  public static <T> T fromJson(JsonObject json, Class<T> type) {
    Object direct = directFrom(json, type);
    if (direct != null) {
      return type.cast(direct);
    }
    try {
      return WIRE.convertValue(json, type);
    } catch (IllegalArgumentException e) {
      Throwable cause = e.getCause() instanceof JsonProcessingException jpe ? jpe : e;
      String detail = cause instanceof JsonProcessingException jpe ? jpe.getOriginalMessage() : e.getMessage();
      throw new IllegalArgumentException("cannot read " + type.getSimpleName() + ": " + detail, cause);
    }
  }

  /**
   * The records that {@link #direct} writes by hand, read back by hand: what the generic mapping reads
   * when every field is absent, null or of its plain type (strings, integral numbers, an object for the
   * key); null otherwise, and for other types, so that the generic mapping decides (its coercions and
   * its errors). The generic pass (JsonObject to tokens to record) was a sixth of an acquire's CPU.
   */
  static Object directFrom(JsonObject json, Class<?> type) {
    if (type == AcquireRequest.class) {
      Object key = json.getValue("key");
      LeaseKey leaseKey = key == null ? null : readKey(key);
      if (plainStrings(json, "pool", "user") && (key == null || leaseKey != null)) {
        return new AcquireRequest(json.getString("pool"), leaseKey, json.getString("user"));
      }
      return null;
    }
    if (type == Lease.class) {
      Object key = json.getValue("key");
      LeaseKey leaseKey = key == null ? null : readKey(key);
      if (plainStrings(json, "address", "pool", "user") && (key == null || leaseKey != null)
          && plainLongs(json, "fence", "grantedAt", "expiresAt")) {
        return new Lease(json.getString("address"), json.getString("pool"), leaseKey, json.getString("user"),
            longOf(json, "fence"), longOf(json, "grantedAt"), longOf(json, "expiresAt"));
      }
      return null;
    }
    if (type == LeaseKey.class) {
      return readKey(json);
    }
    return null;
  }

  private static LeaseKey readKey(Object value) {
    if (value instanceof JsonObject k && plainStrings(k, "hostId", "bootId", "sessionId", "program")) {
      return new LeaseKey(k.getString("hostId"), k.getString("bootId"), k.getString("sessionId"), k.getString("program"));
    }
    return null;
  }

  private static boolean plainStrings(JsonObject json, String... names) {
    for (String name : names) {
      Object v = json.getValue(name);
      if (v != null && !(v instanceof String)) {
        return false;
      }
    }
    return true;
  }

  private static boolean plainLongs(JsonObject json, String... names) {
    for (String name : names) {
      Object v = json.getValue(name);
      if (v != null && !(v instanceof Long || v instanceof Integer)) {
        return false;
      }
    }
    return true;
  }

  /** An absent or null number reads as 0, as the generic mapping reads a primitive. */
  private static long longOf(JsonObject json, String name) {
    Object v = json.getValue(name);
    return v == null ? 0 : ((Number) v).longValue();
  }

  /**
   * A message body as {@code type}: the record itself when it came as one ({@link RecordCodec}),
   * else read from its JSON; null stays null.
   */
  public static <T> T fromBody(Object body, Class<T> type) {
    if (body == null || type.isInstance(body)) {
      return type.cast(body);
    }
    if (type == JsonObject.class) {
      return type.cast(toJson(body));
    }
    return fromJson(body instanceof JsonObject json ? json : toJson(body), type);
  }

  public static <T> List<T> listFromJson(JsonArray json, Class<T> type) {
    JavaType listType = WIRE.getTypeFactory().constructCollectionType(List.class, type);
    try {
      return WIRE.convertValue(json, listType);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot read list of " + type.getSimpleName(), e.getCause() == null ? e : e.getCause());
    }
  }

  /**
   * Reads user input strictly.
   *
   * @throws VipfarmException INVALID_FIELD naming the offending field (dotted path), for unknown
   *     fields, wrong types and unreadable JSON
   */
  public static <T> T readStrict(String body, Class<T> type) {
    if (body == null || body.isBlank()) {
      throw VipfarmException.invalidField("body", "a JSON object is required");
    }
    try {
      T value = STRICT.readValue(body, type);
      if (value == null) {
        throw VipfarmException.invalidField("body", "a JSON object is required");
      }
      return value;
    } catch (UnrecognizedPropertyException e) {
      String path = path(e);
      throw VipfarmException.invalidField(path, "unknown field");
    } catch (JsonMappingException e) {
      String path = path(e);
      throw VipfarmException.invalidField(path.isEmpty() ? "body" : path, "invalid value: " + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      throw VipfarmException.invalidField("body", "malformed JSON: " + e.getOriginalMessage());
    }
  }

  private static String path(JsonMappingException e) {
    StringBuilder sb = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        sb.append('[').append(ref.getIndex()).append(']');
      }
    }
    return sb.toString();
  }
}
