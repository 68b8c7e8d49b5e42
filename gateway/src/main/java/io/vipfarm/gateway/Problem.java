package io.vipfarm.gateway;

import io.vertx.core.json.JsonObject;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.util.Locale;

/**
 * An RFC 9457 problem as the gateway sends it:
 * {@code {"type":"urn:vipfarm:problem:<kind>","title","status","detail","field"?}}.
 * Service failures keep their {@link ErrorType}; the few HTTP-level problems no service raises
 * (wrong method, oversized body) get their own kind in the same namespace.
 */
record Problem(String kind, String title, int status, String detail, String field) {

  static final String CONTENT_TYPE = "application/problem+json";
  private static final String TYPE_PREFIX = "urn:vipfarm:problem:";

  static Problem of(VipfarmException e) {
    ErrorType type = e.type();
    return new Problem(type.name().toLowerCase(Locale.ROOT), type.title(), type.httpStatus(), e.detail(), e.field());
  }

  static Problem of(ErrorType type, String detail) {
    return of(new VipfarmException(type, detail));
  }

  static Problem methodNotAllowed(String method, String path) {
    return new Problem("method_not_allowed", "Method not allowed", 405,
        method + " is not allowed on " + path, null);
  }

  static Problem payloadTooLarge(long limitBytes) {
    return new Problem("payload_too_large", "Payload too large", 413,
        "request bodies are limited to " + limitBytes + " bytes", "body");
  }

  String type() {
    return TYPE_PREFIX + kind;
  }

  JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("type", type())
        .put("title", title)
        .put("status", status)
        .put("detail", detail);
    if (field != null) {
      json.put("field", field);
    }
    return json;
  }
}
