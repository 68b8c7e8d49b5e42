package io.vipfarm.api;

import io.vertx.core.eventbus.EventBus;
import io.vertx.core.json.JsonObject;
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
  private final EventBus bus;

  public EventSink(EventBus bus) {
    this.bus = bus;
    RecordCodec.register(bus);
  }

  public void emit(VipfarmEvent event) {
    bus.send(Addresses.EVENTS_SUBMIT, event);
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
