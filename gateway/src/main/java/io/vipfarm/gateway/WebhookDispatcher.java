package io.vipfarm.gateway;

import com.hazelcast.core.EntryEvent;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.listener.EntryAddedListener;
import com.hazelcast.map.listener.EntryRemovedListener;
import com.hazelcast.map.listener.EntryUpdatedListener;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.CompletionStages;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.VipfarmEvent;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers events to webhooks. Every gateway sees every event, but a webhook is delivered only by the
 * member that owns its id's Hazelcast partition, so each event reaches a receiver once per attempt
 * sequence; when that member leaves, the new owner takes over for the events that follow.
 *
 * <p>A delivery is {@code POST <url>} with the event's JSON as body and headers
 * {@code X-Vipfarm-Signature: sha256=<hex HMAC-SHA256 of the body with the webhook's secret>},
 * {@code X-Vipfarm-Event: <type>}, {@code X-Vipfarm-Event-Id: <id>}, {@code X-Vipfarm-Webhook: <id>}.
 * A 2xx answer delivers it; anything else (or no answer within 10 s) is retried after
 * {@code backoff x 2^(attempt-1)} (capped at 5 minutes) up to {@code maxAttempts} attempts, then
 * counted as failed. The status (counters and the last {@value #KEPT_DELIVERIES} deliveries) is kept
 * in {@link Webhooks#STATUS_MAP}.
 */
final class WebhookDispatcher {
  private static final Logger LOG = LoggerFactory.getLogger(WebhookDispatcher.class);
  static final int KEPT_DELIVERIES = 20;
  private static final long ATTEMPT_TIMEOUT_MS = 10_000;
  private static final long MAX_BACKOFF_MS = 300_000;

  private final Vertx vertx;
  private final Context context;
  private final HazelcastInstance hazelcast;
  private final Webhooks webhooks;
  private final int maxAttempts;
  private final long backoffMs;
  private final Map<String, JsonObject> hooks = new ConcurrentHashMap<>();
  private final Map<String, JsonObject> statuses = new ConcurrentHashMap<>();
  private HttpClient client;
  private MessageConsumer<JsonObject> consumer;
  private UUID listener;

  WebhookDispatcher(Vertx vertx, Context context, HazelcastInstance hazelcast, Webhooks webhooks, int maxAttempts,
      long backoffMs) {
    this.vertx = vertx;
    this.context = context;
    this.hazelcast = hazelcast;
    this.webhooks = webhooks;
    this.maxAttempts = maxAttempts;
    this.backoffMs = backoffMs;
  }

  static JsonObject emptyStatus() {
    return new JsonObject().put("delivered", 0).put("failed", 0).put("retrying", 0).put("deliveries", new JsonArray());
  }

  Future<Void> start() {
    client = vertx.createHttpClient(new HttpClientOptions().setConnectTimeout(5_000).setKeepAlive(false));
    return vertx.executeBlocking(() -> {
      listener = webhooks.hooks().addEntryListener(new Listener(), true);
      webhooks.hooks().forEach((id, text) -> hooks.put(id, new JsonObject(text)));
      return null;
    }).compose(v -> {
      consumer = vertx.eventBus().consumer(Addresses.EVENTS, msg -> onEvent(msg.body()));
      return consumer.completion();
    });
  }

  Future<Void> stop() {
    Future<Void> unregistered = consumer == null ? Future.succeededFuture() : consumer.unregister();
    return unregistered.compose(v -> vertx.<Void>executeBlocking(() -> {
      if (listener != null) {
        webhooks.hooks().removeEntryListener(listener);
      }
      return null;
    })).compose(v -> client == null ? Future.succeededFuture() : client.close());
  }

  private final class Listener implements EntryAddedListener<String, String>, EntryUpdatedListener<String, String>,
      EntryRemovedListener<String, String> {
    @Override
    public void entryAdded(EntryEvent<String, String> event) {
      hooks.put(event.getKey(), new JsonObject(event.getValue()));
    }

    @Override
    public void entryUpdated(EntryEvent<String, String> event) {
      hooks.put(event.getKey(), new JsonObject(event.getValue()));
    }

    @Override
    public void entryRemoved(EntryEvent<String, String> event) {
      hooks.remove(event.getKey());
      statuses.remove(event.getKey());
    }
  }

  private void onEvent(JsonObject json) {
    VipfarmEvent event = Json.fromJson(json, VipfarmEvent.class);
    for (JsonObject hook : hooks.values()) {
      JsonArray types = hook.getJsonArray("types", new JsonArray());
      if ((types.isEmpty() || types.contains(event.type())) && ownedHere(hook.getString("id"))) {
        Buffer body = json.toBuffer();
        attempt(hook, event, body, 1);
      }
    }
  }

  private boolean ownedHere(String hookId) {
    var owner = hazelcast.getPartitionService().getPartition(hookId).getOwner();
    return owner != null && owner.localMember();
  }

  private void attempt(JsonObject hook, VipfarmEvent event, Buffer body, int attempt) {
    String id = hook.getString("id");
    if (!hooks.containsKey(id)) {
      return;
    }
    RequestOptions request = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(hook.getString("url"))
        .setTimeout(ATTEMPT_TIMEOUT_MS)
        .putHeader("Content-Type", "application/json")
        .putHeader("User-Agent", "vipfarm-webhooks")
        .putHeader("X-Vipfarm-Signature", "sha256=" + sign(hook.getString("secret"), body))
        .putHeader("X-Vipfarm-Event", event.type())
        .putHeader("X-Vipfarm-Event-Id", Long.toString(event.id()))
        .putHeader("X-Vipfarm-Webhook", id);
    client.request(request)
        .compose(req -> req.send(body))
        .compose(response -> response.body().map(ignored -> response.statusCode()))
        .onComplete(done -> {
          int status = done.succeeded() ? done.result() : 0;
          String error = done.succeeded() ? (status / 100 == 2 ? null : "HTTP " + status) : done.cause().toString();
          if (error == null) {
            record(id, event, attempt, "delivered", status, null);
          } else if (attempt < maxAttempts) {
            record(id, event, attempt, "retrying", status, error);
            long delay = Math.min(MAX_BACKOFF_MS, backoffMs << Math.min(20, attempt - 1));
            vertx.setTimer(delay, t -> attempt(hook, event, body, attempt + 1));
          } else {
            LOG.warn("webhook {}: event {} not delivered after {} attempts: {}", id, event.id(), attempt, error);
            record(id, event, attempt, "failed", status, error);
          }
        });
  }

  /** Updates the webhook's status: one row per event (its latest attempt), newest first. */
  private void record(String hookId, VipfarmEvent event, int attempt, String outcome, int httpStatus, String error) {
    loadStatus(hookId).onSuccess(status -> {
      JsonArray deliveries = status.getJsonArray("deliveries");
      JsonObject row = null;
      for (int i = 0; i < deliveries.size(); i++) {
        if (deliveries.getJsonObject(i).getLong("eventId") == event.id()) {
          row = deliveries.getJsonObject(i);
          break;
        }
      }
      String previous = row == null ? null : row.getString("outcome");
      if (row == null) {
        row = new JsonObject().put("eventId", event.id()).put("type", event.type());
        deliveries.add(0, row);
        while (deliveries.size() > KEPT_DELIVERIES) {
          deliveries.remove(deliveries.size() - 1);
        }
      }
      row.put("attempts", attempt).put("outcome", outcome).put("at", Instant.now().toString())
          .put("httpStatus", httpStatus == 0 ? null : httpStatus).put("error", error);
      if ("retrying".equals(previous)) {
        status.put("retrying", status.getInteger("retrying") - 1);
      }
      status.put(outcome, status.getInteger(outcome) + 1);
      if (error != null) {
        status.put("lastError", error).put("lastErrorAt", Instant.now().toString());
      }
      webhooks.statusMap().setAsync(hookId, status.encode());
    });
  }

  private Future<JsonObject> loadStatus(String hookId) {
    JsonObject cached = statuses.get(hookId);
    if (cached != null) {
      return Future.succeededFuture(cached);
    }
    return CompletionStages.onContext(webhooks.statusMap().getAsync(hookId), context).map(text -> {
      JsonObject loaded = text == null ? emptyStatus() : new JsonObject(text);
      JsonObject raced = statuses.putIfAbsent(hookId, loaded);
      return raced != null ? raced : loaded;
    });
  }

  static String sign(String secret, Buffer body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(body.getBytes()));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("every JVM provides HmacSHA256", e);
    }
  }
}
