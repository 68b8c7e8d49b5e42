package io.vipfarm.api.bus;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.VipfarmException;
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

  private static final ObjectMapper WIRE =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
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

  @SuppressWarnings("unchecked")
  public static JsonObject toJson(Object record) {
    return new JsonObject(WIRE.convertValue(record, Map.class));
  }

  public static <T> T fromJson(JsonObject json, Class<T> type) {
    try {
      return WIRE.readValue(json.encode(), type);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot read " + type.getSimpleName() + ": " + e.getOriginalMessage(), e);
    }
  }

  public static <T> List<T> listFromJson(JsonArray json, Class<T> type) {
    JavaType listType = WIRE.getTypeFactory().constructCollectionType(List.class, type);
    try {
      return WIRE.readValue(json.encode(), listType);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("cannot read list of " + type.getSimpleName(), e);
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
