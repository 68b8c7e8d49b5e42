package io.vipfarm.gateway;

import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.model.VipfarmEvent;

/** Where an {@link EventSubscription} writes: a Server-Sent Events response or a WebSocket. */
interface EventChannel {

  /**
   * Opens the stream (called once the first page of history was read).
   *
   * @param onClosed the peer went away
   * @param onShutdown the server is shutting down: end the stream
   */
  void start(Runnable onClosed, Runnable onShutdown);

  void event(VipfarmEvent event, JsonObject json);

  /** The events right after the requested id are gone; {@code detail} has {@code after} and {@code resumedAt}. */
  void truncated(JsonObject detail);

  void heartbeat();

  boolean writeQueueFull();

  void end();

  /** {@code id:} + {@code event:} + JSON {@code data:} frames; heartbeats are comment lines. */
  static EventChannel serverSentEvents(HttpServerRequest request) {
    HttpServerResponse response = request.response();
    return new EventChannel() {
      @Override
      public void start(Runnable onClosed, Runnable onShutdown) {
        response.setChunked(true)
            .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
            .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
            .putHeader("X-Accel-Buffering", "no");
        response.closeHandler(v -> onClosed.run());
        request.connection().shutdownHandler(v -> onShutdown.run());
        response.write(":ok\n\n");
      }

      @Override
      public void event(VipfarmEvent event, JsonObject json) {
        response.write("id: " + event.id() + "\nevent: " + event.type() + "\ndata: " + json.encode() + "\n\n");
      }

      @Override
      public void truncated(JsonObject detail) {
        response.write("event: " + EventSubscription.TRUNCATED_EVENT + "\ndata: " + detail.encode() + "\n\n");
      }

      @Override
      public void heartbeat() {
        response.write(":keepalive\n\n");
      }

      @Override
      public boolean writeQueueFull() {
        return response.writeQueueFull();
      }

      @Override
      public void end() {
        response.end();
      }
    };
  }

  /**
   * One text message per event: the event's JSON (with {@code id} and {@code type}); a truncation is
   * {@code {"type":"history.truncated","after":..,"resumedAt":..}}; heartbeats are ping frames.
   */
  static EventChannel webSocket(ServerWebSocket socket) {
    return new EventChannel() {
      @Override
      public void start(Runnable onClosed, Runnable onShutdown) {
        socket.closeHandler(v -> onClosed.run());
        socket.shutdownHandler(v -> onShutdown.run());
      }

      @Override
      public void event(VipfarmEvent event, JsonObject json) {
        socket.writeTextMessage(json.encode());
      }

      @Override
      public void truncated(JsonObject detail) {
        socket.writeTextMessage(detail.copy().put("type", EventSubscription.TRUNCATED_EVENT).encode());
      }

      @Override
      public void heartbeat() {
        socket.writePing(io.vertx.core.buffer.Buffer.buffer("keepalive"));
      }

      @Override
      public boolean writeQueueFull() {
        return socket.writeQueueFull();
      }

      @Override
      public void end() {
        socket.close();
      }
    };
  }
}
