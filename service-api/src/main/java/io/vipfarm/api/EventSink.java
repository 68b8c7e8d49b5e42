package io.vipfarm.api;

import io.vertx.core.eventbus.EventBus;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.VipfarmEvent;

/**
 * Submits events to the farm's event log, which gives each a cluster-wide increasing id, keeps a
 * bounded history and publishes it on {@link Addresses#EVENTS}. Fire-and-forget: a lost event log
 * must never fail a session start.
 */
public final class EventSink {
  private final EventBus bus;

  public EventSink(EventBus bus) {
    this.bus = bus;
  }

  public void emit(VipfarmEvent event) {
    bus.send(Addresses.EVENTS_SUBMIT, Json.toJson(event));
  }
}
