package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * One Server-Sent Events subscriber: replays what it missed from the history, then follows the live
 * publish on {@link Addresses#EVENTS}.
 *
 * <p>Exactly once and in order: live events are subscribed to before the history is read and queued
 * while catching up; an event is written only when its id is the next one after the last id seen
 * (written or filtered out). A gap (an event published out of order through another member) is
 * filled from the history before going on. A subscriber too slow to keep up is disconnected, and so
 * is every subscriber when the gateway shuts down; either resumes from its Last-Event-ID without loss.
 */
final class EventSubscription {
  static final long HEARTBEAT_MS = 15_000;
  static final String TRUNCATED_EVENT = "history.truncated";

  /** Which events the subscriber asked for; empty types means all. */
  record Filter(Set<String> types, String hostId) {
    boolean accepts(VipfarmEvent event) {
      return (types.isEmpty() || types.contains(event.type()))
          && (hostId == null || hostId.equals(event.hostId()));
    }
  }

  private final Vertx vertx;
  private final EventLog.Reader history;
  private final HttpServerResponse response;
  private final HttpConnection connection;
  private final Filter filter;
  private final Runnable onClose;
  private final ArrayDeque<VipfarmEvent> pending = new ArrayDeque<>();
  private MessageConsumer<JsonObject> live;
  private long lastSeenId;
  private boolean catchingUp = true;
  private boolean closed;
  private long heartbeatTimer = -1;

  EventSubscription(Vertx vertx, EventLog.Reader history, HttpServerRequest request, Filter filter,
      Runnable onClose) {
    this.vertx = vertx;
    this.history = history;
    this.response = request.response();
    this.connection = request.connection();
    this.filter = filter;
    this.onClose = onClose;
  }

  /**
   * Subscribes and reads the first page of history; the stream's headers are written only when that
   * worked, so a failure here can still be answered as a problem.
   *
   * @param resumeAfter the subscriber's last event id, or null to start with the next live event
   */
  Future<Void> open(Long resumeAfter) {
    live = vertx.eventBus().consumer(Addresses.EVENTS, msg -> onLive(msg.body()));
    return live.completion()
        .compose(v -> resumeAfter != null ? Future.succeededFuture(resumeAfter) : history.newestId())
        .compose(after -> history.after(after).map(page -> {
          startStream(after);
          deliverPage(page, after);
          return null;
        }))
        .<Void>mapEmpty()
        .onFailure(err -> release());
  }

  private void startStream(long after) {
    lastSeenId = after;
    response.setChunked(true)
        .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
        .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
        .putHeader("X-Accel-Buffering", "no");
    response.closeHandler(v -> release());
    connection.shutdownHandler(v -> close());
    response.write(":ok\n\n");
    heartbeatTimer = vertx.setPeriodic(HEARTBEAT_MS, id -> write(":keepalive\n\n"));
  }

  private void deliverPage(EventLog.Page page, long requestedAfter) {
    if (page.truncated() && requestedAfter > 0) {
      long resumedAt = page.events().isEmpty() ? requestedAfter + 1 : page.events().get(0).id();
      write("event: " + TRUNCATED_EVENT + "\ndata: "
          + new JsonObject().put("after", requestedAfter).put("resumedAt", resumedAt).encode() + "\n\n");
    }
    page.events().forEach(this::deliver);
    if (page.full()) {
      catchUp();
    } else {
      catchingUp = false;
      drainPending();
    }
  }

  private void catchUp() {
    catchingUp = true;
    long after = lastSeenId;
    history.after(after)
        .onSuccess(page -> {
          if (!closed) {
            deliverPage(page, after);
          }
        })
        .onFailure(err -> close());
  }

  private void onLive(JsonObject json) {
    if (closed) {
      return;
    }
    pending.add(Json.fromJson(json, VipfarmEvent.class));
    if (!catchingUp) {
      drainPending();
    }
  }

  private void drainPending() {
    while (!pending.isEmpty() && !closed) {
      VipfarmEvent next = pending.peek();
      if (next.id() <= lastSeenId + 1) {
        pending.poll();
        deliver(next);
      } else {
        catchUp();
        return;
      }
    }
  }

  private void deliver(VipfarmEvent event) {
    if (event.id() <= lastSeenId) {
      return;
    }
    lastSeenId = event.id();
    if (filter.accepts(event)) {
      write("id: " + event.id() + "\nevent: " + event.type() + "\ndata: " + Json.toJson(event).encode() + "\n\n");
    }
  }

  private void write(String frame) {
    if (closed) {
      return;
    }
    if (response.writeQueueFull()) {
      close();
      return;
    }
    response.write(frame);
  }

  private void close() {
    if (!closed) {
      response.end();
      release();
    }
  }

  private void release() {
    if (closed) {
      return;
    }
    closed = true;
    if (heartbeatTimer >= 0) {
      vertx.cancelTimer(heartbeatTimer);
    }
    if (live != null) {
      live.unregister();
    }
    pending.clear();
    onClose.run();
  }
}
