package io.vipfarm.api.bus;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.VipfarmException;

/** The failure message a service replies with: the detail and the field, as a small JSON text. */
record ErrorEnvelope(String detail, String field) {

  static String of(VipfarmException e) {
    JsonObject json = new JsonObject().put("detail", e.detail());
    if (e.field() != null) {
      json.put("field", e.field());
    }
    return json.encode();
  }

  static ErrorEnvelope parse(String message) {
    if (message != null && message.startsWith("{")) {
      try {
        JsonObject json = new JsonObject(message);
        return new ErrorEnvelope(json.getString("detail"), json.getString("field"));
      } catch (DecodeException ignored) {
        // not ours: fall through and keep the raw text
      }
    }
    return new ErrorEnvelope(message, null);
  }
}
