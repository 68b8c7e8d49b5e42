package io.vipfarm.gateway;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.ringbuffer.OverflowPolicy;
import com.hazelcast.ringbuffer.ReadResultSet;
import com.hazelcast.ringbuffer.Ringbuffer;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.CompletionStages;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.bus.RecordCodec;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Numbers and keeps the farm's events: takes submitted events from {@link Addresses#EVENTS_SUBMIT},
 * appends each to the {@link EventLog#RINGBUFFER} ring buffer, and publishes it on
 * {@link Addresses#EVENTS} with id = sequence + 1. Also answers history reads on
 * {@link EventLog#HISTORY_ADDRESS}.
 *
 * <p>Appends from one instance go one at a time, so it publishes its events in id order. Events
 * appended through different members may still be published out of order; readers that need exact
 * order fill gaps from the history (see {@link EventSubscription}).
 */
public final class EventLogVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(EventLogVerticle.class);

  private final HazelcastInstance hazelcast;
  private Ringbuffer<String> ring;
  private int pageSize;
  private Future<?> lastAppend = Future.succeededFuture();

  public EventLogVerticle(HazelcastInstance hazelcast) {
    this.hazelcast = hazelcast;
  }

  @Override
  public Future<?> start() {
    ServiceEndpoint history = new ServiceEndpoint()
        .on(EventLog.READ, this::read)
        .on(EventLog.NEWEST, ignored -> newestId());
    return vertx.executeBlocking(() -> hazelcast.<String>getRingbuffer(EventLog.RINGBUFFER))
        .compose(ringbuffer -> {
          ring = ringbuffer;
          pageSize = (int) Math.min(EventLog.PAGE_SIZE, ringbuffer.capacity());
          RecordCodec.register(vertx.eventBus());
          var submissions = vertx.eventBus().<Object>consumer(Addresses.EVENTS_SUBMIT, this::append);
          return Future.all(submissions.completion(), history.register(vertx.eventBus(), EventLog.HISTORY_ADDRESS));
        })
        .onSuccess(registered -> EventSink.eventLogRunsHere(vertx, true));
  }

  @Override
  public Future<?> stop() {
    // before the consumer goes: this member's sinks submit to another member's log from here on
    EventSink.eventLogRunsHere(vertx, false);
    return Future.succeededFuture();
  }

  private void append(Message<Object> submission) {
    VipfarmEvent event;
    try {
      event = EventSink.read(submission.body()).withId(0);
    } catch (IllegalArgumentException | NullPointerException e) {
      LOG.warn("dropped an unreadable event submission: {}", e.getMessage());
      return;
    }
    JsonObject json = Json.toJson(event);
    String stored = json.encode();
    lastAppend = lastAppend
        .transform(previous -> CompletionStages.onContext(ring.addAsync(stored, OverflowPolicy.OVERWRITE), context))
        .onSuccess(sequence -> publishNumbered(submission, json.put("id", sequence + 1)))
        .onFailure(err -> LOG.warn("event {} of host {} was not stored", event.type(), event.hostId(), err));
  }

  /** {@code numbered}: the stored JSON with its id (one mapping per event, not one per use). */
  private void publishNumbered(Message<Object> submission, JsonObject numbered) {
    vertx.eventBus().publish(Addresses.EVENTS, numbered);
    if (submission.replyAddress() != null) {
      submission.reply(numbered);
    }
  }

  private Future<EventLog.Page> read(JsonObject request) {
    long after = request == null ? 0 : request.getLong("after", 0L);
    if (after < 0) {
      return Future.failedFuture(VipfarmException.invalidField("after", "must not be negative"));
    }
    return CompletionStages.onContext(ring.readManyAsync(after, 0, pageSize, null), context)
        .recover(err -> Future.failedFuture(rootCause(err) instanceof IllegalArgumentException
            ? VipfarmException.invalidField("after", "event " + after + " is newer than the newest event")
            : err))
        .map(result -> page(after, result, pageSize));
  }

  private static Throwable rootCause(Throwable err) {
    return err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
  }

  private static EventLog.Page page(long after, ReadResultSet<String> result, int pageSize) {
    List<VipfarmEvent> events = new ArrayList<>(result.size());
    for (int i = 0; i < result.size(); i++) {
      events.add(Json.fromJson(new JsonObject(result.get(i)), VipfarmEvent.class).withId(result.getSequence(i) + 1));
    }
    long firstSequence = result.size() > 0 ? result.getSequence(0) : result.getNextSequenceToReadFrom();
    return new EventLog.Page(events, firstSequence > after, result.size() == pageSize);
  }

  private Future<EventLog.Newest> newestId() {
    return vertx.executeBlocking(() -> new EventLog.Newest(ring.tailSequence() + 1));
  }
}
