package io.vipfarm.gateway;

import static io.vipfarm.gateway.GatewayClient.ADMIN_TOKEN;
import static io.vipfarm.gateway.GatewayClient.await;
import static io.vipfarm.gateway.GatewayClient.awaitOn;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The event log on a real standalone Hazelcast member (127.0.0.1 only, joins nobody), and SSE on top. */
@ExtendWith(VertxExtension.class)
class EventLogTest {
  private static final int CAPACITY = 5;
  private static HazelcastInstance hazelcast;

  private Vertx vertx;
  private GatewayVerticle gateway;

  @BeforeAll
  static void startMember() {
    hazelcast = TestMember.start(CAPACITY);
  }

  @AfterAll
  static void stopMember() {
    hazelcast.shutdown();
  }

  @BeforeEach
  void deploy(Vertx vertx) {
    this.vertx = vertx;
    await(vertx.deployVerticle(new EventLogVerticle(hazelcast)));
    gateway = new GatewayVerticle(new GatewayConfig("127.0.0.1", 0, ADMIN_TOKEN), hazelcast);
    await(vertx.deployVerticle(gateway));
  }

  @AfterEach
  void forgetHistory() {
    hazelcast.getRingbuffer(EventLog.RINGBUFFER).destroy();
  }

  private VipfarmEvent submit(String type, String hostId) {
    JsonObject reply = await(vertx.eventBus().<JsonObject>request(Addresses.EVENTS_SUBMIT,
        Json.toJson(VipfarmEvent.submit(type, hostId, "7", Map.of("user", "alice"))))).body();
    return Json.fromJson(reply, VipfarmEvent.class);
  }

  @Test
  @DisplayName("each submitted event gets the next id and is published numbered, in order")
  void idsIncrease() {
    List<Long> published = new CopyOnWriteArrayList<>();
    await(vertx.eventBus().<JsonObject>consumer(Addresses.EVENTS, msg -> published.add(msg.body().getLong("id")))
        .completion());

    VipfarmEvent first = submit(VipfarmEvent.SESSION_STARTED, "h1");
    VipfarmEvent second = submit(VipfarmEvent.LEASE_GRANTED, "h1");
    VipfarmEvent third = submit(VipfarmEvent.SESSION_ENDED, "h1");

    assertThat(List.of(first.id(), second.id(), third.id())).containsExactly(1L, 2L, 3L);
    assertThat(third.type()).isEqualTo(VipfarmEvent.SESSION_ENDED);
    waitUntil(() -> published.size() == 3);
    assertThat(published).containsExactly(1L, 2L, 3L);
  }

  @Test
  @DisplayName("the history reads back what followed an id, and says so when older events were dropped")
  void history() {
    EventLog.Reader reader = new EventLog.Reader(vertx);
    for (int i = 0; i < 3; i++) {
      submit(VipfarmEvent.SESSION_STARTED, "h1");
    }
    EventLog.Page page = await(reader.after(1));
    assertThat(page.events()).extracting(VipfarmEvent::id).containsExactly(2L, 3L);
    assertThat(page.truncated()).isFalse();
    assertThat(await(reader.newestId())).isEqualTo(3L);

    for (int i = 0; i < 5; i++) {
      submit(VipfarmEvent.SESSION_ENDED, "h1");
    }
    EventLog.Page truncated = await(reader.after(1));
    assertThat(truncated.truncated()).isTrue();
    assertThat(truncated.events()).extracting(VipfarmEvent::id).containsExactly(4L, 5L, 6L, 7L, 8L);
  }

  @Test
  @DisplayName("SSE: a subscriber resuming with Last-Event-ID gets what it missed, then live events, once each")
  void resumeThenLive() {
    submit(VipfarmEvent.SESSION_STARTED, "h1");
    submit(VipfarmEvent.LEASE_GRANTED, "h1");
    submit(VipfarmEvent.SESSION_ENDED, "h1");

    EventStreamReader stream = subscribe("/api/v1/events", "1");
    waitUntil(() -> stream.ids().size() == 2);
    submit(VipfarmEvent.SESSION_STARTED, "h2");
    waitUntil(() -> stream.ids().size() == 3);

    assertThat(stream.ids()).containsExactly(2L, 3L, 4L);
    assertThat(stream.types()).containsExactly(VipfarmEvent.LEASE_GRANTED, VipfarmEvent.SESSION_ENDED,
        VipfarmEvent.SESSION_STARTED);
    assertThat(stream.contentType).startsWith("text/event-stream");
  }

  @Test
  @DisplayName("SSE: a new subscriber starts with the next event; types and host filter what it gets")
  void freshAndFiltered() {
    submit(VipfarmEvent.SESSION_STARTED, "h1");
    EventStreamReader stream = subscribe("/api/v1/events?types=session.ended,lease.granted&host=h2", null);
    submit(VipfarmEvent.SESSION_ENDED, "h1");
    submit(VipfarmEvent.SESSION_STARTED, "h2");
    submit(VipfarmEvent.SESSION_ENDED, "h2");
    submit(VipfarmEvent.LEASE_GRANTED, "h2");
    waitUntil(() -> stream.ids().size() == 2);

    assertThat(stream.ids()).containsExactly(4L, 5L);
    assertThat(stream.types()).containsExactly(VipfarmEvent.SESSION_ENDED, VipfarmEvent.LEASE_GRANTED);
  }

  @Test
  @DisplayName("SSE: resuming from an id already dropped is told so, then gets what is left")
  void truncatedResume() {
    for (int i = 0; i < CAPACITY + 3; i++) {
      submit(VipfarmEvent.LEASE_RENEWED, "h1");
    }
    EventStreamReader stream = subscribe("/api/v1/events", "2");
    waitUntil(() -> stream.ids().size() == CAPACITY, stream.text);

    assertThat(stream.text.toString()).contains("event: " + EventSubscription.TRUNCATED_EVENT);
    assertThat(stream.ids()).containsExactly(4L, 5L, 6L, 7L, 8L);
  }

  @Test
  @DisplayName("SSE: a malformed Last-Event-ID is a 400 naming it")
  void badLastEventId() {
    EventStreamReader stream = subscribe("/api/v1/events", "yesterday");
    assertThat(stream.status).isEqualTo(400);
    waitUntil(() -> stream.text.toString().contains("Last-Event-ID"));
    assertThat(new JsonObject(stream.text.toString()).getString("field")).isEqualTo("Last-Event-ID");
  }

  private EventStreamReader subscribe(String uri, String lastEventId) {
    HttpClient client = vertx.createHttpClient();
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1")
        .setPort(gateway.actualPort()).setURI(uri).putHeader("Authorization", "Bearer " + ADMIN_TOKEN);
    if (lastEventId != null) {
      options.putHeader("Last-Event-ID", lastEventId);
    }
    // on a Vert.x context, so that the reader is in place before the first frame (GatewayClient.awaitOn)
    return awaitOn(vertx.getOrCreateContext(),
        () -> client.request(options).compose(request -> request.send()).map(EventStreamReader::reading));
  }

  /** Collects the raw stream; ids and types are parsed from the frames received so far. */
  static final class EventStreamReader {
    private static final Pattern FRAME = Pattern.compile("id: (\\d+)\nevent: ([\\w.]+)\n");
    final int status;
    final String contentType;
    final StringBuffer text = new StringBuffer();

    EventStreamReader(int status, String contentType) {
      this.status = status;
      this.contentType = contentType;
    }

    /** Starts collecting on the event loop as the headers arrive, so no early chunk is missed. */
    static EventStreamReader reading(HttpClientResponse response) {
      EventStreamReader reader = new EventStreamReader(response.statusCode(), response.getHeader("Content-Type"));
      response.handler(chunk -> reader.text.append(chunk.toString()));
      return reader;
    }

    List<Long> ids() {
      List<Long> ids = new ArrayList<>();
      Matcher m = FRAME.matcher(text);
      while (m.find()) {
        ids.add(Long.parseLong(m.group(1)));
      }
      return ids;
    }

    List<String> types() {
      List<String> types = new ArrayList<>();
      Matcher m = FRAME.matcher(text);
      while (m.find()) {
        types.add(m.group(2));
      }
      return types;
    }
  }

  /** Polls a condition until it holds or 10 s pass; never a fixed sleep standing in for a condition. */
  private static void waitUntil(BooleanSupplier condition) {
    waitUntil(condition, "");
  }

  private static void waitUntil(BooleanSupplier condition, Object seen) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 10 s; seen: " + seen);
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
