package io.vipfarm.api;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.bus.RecordCodec;
import io.vipfarm.api.model.VipfarmEvent;

/**
 * Submits events to the farm's event log, which gives each a cluster-wide increasing id, keeps a
 * bounded history and publishes it on {@link Addresses#EVENTS}. Fire-and-forget: a lost event log
 * must never fail a session start.
 *
 * <p>Events go as records ({@link RecordCodec}): every lease grant submits one, and as JSON it was a
 * tenth of an acquire's CPU with three members. Agents behind the TCP bridge still submit JSON, so a
 * reader of {@link Addresses#EVENTS_SUBMIT} takes both ({@link #read}).
 */
public final class EventSink {
  private static final String LOCAL_FLAGS = "vipfarm.local";
  private static final String EVENT_LOG_HERE = "event-log";
  private static final DeliveryOptions LOCAL_ONLY = new DeliveryOptions().setLocalOnly(true);

  private final EventBus bus;
  private final LocalMap<String, Boolean> flags;

  public EventSink(Vertx vertx) {
    this.bus = vertx.eventBus();
    this.flags = vertx.sharedData().getLocalMap(LOCAL_FLAGS);
    RecordCodec.register(bus);
  }

  /**
   * To this member's own event log when it runs one (every control member does), else to any member's.
   * A clustered send picks among all members' event logs in turn, so with three members two of three
   * events crossed to another member before reaching the ring buffer, which numbers them all the same.
   */
  public void emit(VipfarmEvent event) {
    if (flags.containsKey(EVENT_LOG_HERE)) {
      bus.send(Addresses.EVENTS_SUBMIT, event, LOCAL_ONLY);
    } else {
      bus.send(Addresses.EVENTS_SUBMIT, event);
    }
  }

  /** Marks whether {@code vertx} runs the event log (its consumer of {@link Addresses#EVENTS_SUBMIT}). */
  public static void eventLogRunsHere(Vertx vertx, boolean runs) {
    LocalMap<String, Boolean> flags = vertx.sharedData().getLocalMap(LOCAL_FLAGS);
    if (runs) {
      flags.put(EVENT_LOG_HERE, true);
    } else {
      flags.remove(EVENT_LOG_HERE);
    }
  }

  /**
   * A submission's body as an event: the record itself, or read from its JSON.
   *
   * @throws IllegalArgumentException when it is neither an event nor JSON that reads as one
   */
  public static VipfarmEvent read(Object body) {
    if (body instanceof VipfarmEvent event) {
      return event;
    }
    if (body instanceof JsonObject json) {
      return Json.fromJson(json, VipfarmEvent.class);
    }
    throw new IllegalArgumentException("an event submission must be an event or a JSON object, not "
        + (body == null ? "nothing" : body.getClass().getSimpleName()));
  }
}
