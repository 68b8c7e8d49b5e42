package io.vipfarm.gateway;

import com.hazelcast.config.Config;
import com.hazelcast.config.RingbufferConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.List;

/**
 * The farm's bounded event history: a Hazelcast ring buffer written by {@link EventLogVerticle}. An
 * event's id is its ring-buffer sequence + 1, so ids increase cluster-wide and the history can be read
 * back from any id still kept.
 *
 * <p>Readers ask the event log over the event bus ({@link #HISTORY_ADDRESS}), so a gateway needs no
 * Hazelcast handle of its own.
 */
public final class EventLog {
  private EventLog() {}

  public static final String RINGBUFFER = "vipfarm-events";
  public static final int DEFAULT_CAPACITY = 10_000;
  /** Request/reply address of the history reader (actions {@link #READ}, {@link #NEWEST}). */
  public static final String HISTORY_ADDRESS = "vipfarm.events.history";
  /** Events after {@code after}, at most {@link #PAGE_SIZE}: replies a {@link Page}. */
  static final String READ = "read";
  /** The id of the newest event, 0 when there is none: replies a {@link Newest}. */
  static final String NEWEST = "newest";
  static final int PAGE_SIZE = 1000;

  /** Adds the ring buffer's configuration (capacity {@value #DEFAULT_CAPACITY}, one backup) to a member's config. */
  public static Config configure(Config config) {
    return configure(config, DEFAULT_CAPACITY);
  }

  static Config configure(Config config, int capacity) {
    return config.addRingBufferConfig(new RingbufferConfig(RINGBUFFER).setCapacity(capacity).setBackupCount(1));
  }

  /**
   * One page of history.
   *
   * @param truncated the events right after the requested id are gone: the page starts at the oldest kept
   * @param full the page is as long as a page can be: more may follow
   */
  record Page(List<VipfarmEvent> events, boolean truncated, boolean full) {}

  /** The id of the newest event kept, 0 when there is none. */
  record Newest(long id) {}

  /** The client side of the history reader. */
  static final class Reader {
    private final EventBusClient bus;

    Reader(Vertx vertx) {
      this.bus = EventBusClient.fixed(vertx, HISTORY_ADDRESS);
    }

    Future<Page> after(long id) {
      return bus.call(READ, new JsonObject().put("after", id), Page.class);
    }

    Future<Long> newestId() {
      return bus.call(NEWEST, null, Newest.class).map(Newest::id);
    }
  }
}
