package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayDeque;
import java.util.Set;

/**
 * One event subscriber, over Server-Sent Events or a WebSocket (see {@link EventChannel}): replays what it missed from the history, then follows the live
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

  /**
   * Which events the subscriber asked for; empty types means all. {@code user} matches the event's
   * {@code data.user} (session and lease events carry it).
   */
  record Filter(Set<String> types, String hostId, String user) {
    boolean accepts(VipfarmEvent event) {
      return (types.isEmpty() || types.contains(event.type()))
          && (hostId == null || hostId.equals(event.hostId()))
          && (user == null || user.equals(event.data().get("user")));
    }
  }

  private final Vertx vertx;
  private final EventLog.Reader history;
  private final EventChannel channel;
  private final Filter filter;
  private final Runnable onClose;
  private final ArrayDeque<VipfarmEvent> pending = new ArrayDeque<>();
  private MessageConsumer<JsonObject> live;
  private long lastSeenId;
  private boolean catchingUp = true;
  private boolean closed;
  private long heartbeatTimer = -1;

  EventSubscription(Vertx vertx, EventLog.Reader history, EventChannel channel, Filter filter,
      Runnable onClose) {
    this.vertx = vertx;
    this.history = history;
    this.channel = channel;
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
    channel.start(this::release, this::close);
    heartbeatTimer = vertx.setPeriodic(HEARTBEAT_MS, id -> {
      if (!closed) {
        channel.heartbeat();
      }
    });
  }

  private void deliverPage(EventLog.Page page, long requestedAfter) {
    if (page.truncated() && requestedAfter > 0) {
      long resumedAt = page.events().isEmpty() ? requestedAfter + 1 : page.events().get(0).id();
      write(() -> channel.truncated(new JsonObject().put("after", requestedAfter).put("resumedAt", resumedAt)));
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
      write(() -> channel.event(event, Json.toJson(event)));
    }
  }

  private void write(Runnable frame) {
    if (closed) {
      return;
    }
    if (channel.writeQueueFull()) {
      close();
      return;
    }
    frame.run();
  }

  private void close() {
    if (!closed) {
      channel.end();
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
