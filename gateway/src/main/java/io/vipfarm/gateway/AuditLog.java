package io.vipfarm.gateway;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.ringbuffer.OverflowPolicy;
import com.hazelcast.ringbuffer.ReadResultSet;
import com.hazelcast.ringbuffer.Ringbuffer;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vipfarm.api.bus.CompletionStages;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The audit history: every mutation (POST, PUT, PATCH, DELETE), allowed or refused, as who (token id
 * and name, {@code anonymous} without a valid token), what (method, path, outcome status) and when, in
 * the Hazelcast ring buffer {@value #RINGBUFFER} (Hazelcast's default capacity, 10,000 entries, one
 * backup). As a root handler it sees every request, including those refused before any route.
 */
final class AuditLog implements PlatformHandler {
  private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
  static final String RINGBUFFER = "vipfarm-audit";
  private static final Set<HttpMethod> MUTATIONS =
      Set.of(HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE);

  /** One audit entry; {@code id} is the ring-buffer sequence + 1. */
  record Entry(long id, String at, String tokenId, String tokenName, String method, String path, int status) {}

  /** A page of entries, newest first; {@code next} is the cursor of the older ones, null at the oldest kept. */
  record Page(List<Entry> entries, Long next) {}

  private final Ringbuffer<String> ring;

  AuditLog(HazelcastInstance hazelcast) {
    this.ring = hazelcast.getRingbuffer(RINGBUFFER);
  }

  @Override
  public void handle(RoutingContext ctx) {
    if (MUTATIONS.contains(ctx.request().method())) {
      String method = ctx.request().method().name();
      String path = ctx.request().path();
      ctx.addHeadersEndHandler(v -> record(Caller.of(ctx), method, path, ctx.response().getStatusCode()));
    }
    ctx.next();
  }

  private void record(Caller caller, String method, String path, int status) {
    JsonObject entry = new JsonObject()
        .put("at", Instant.now().toString())
        .put("tokenId", caller == null ? "anonymous" : caller.tokenId())
        .put("tokenName", caller == null ? null : caller.tokenName())
        .put("method", method)
        .put("path", path)
        .put("status", status);
    ring.addAsync(entry.encode(), OverflowPolicy.OVERWRITE).whenComplete((seq, err) -> {
      if (err != null) {
        LOG.warn("audit entry {} {} -> {} was not stored", method, path, status, err);
      }
    });
  }

  /**
   * Newest first: up to {@code limit} entries at or before sequence {@code from} (the newest when null).
   */
  Future<Page> page(Long from, int limit, Context context) {
    return context.owner().executeBlocking(() -> new long[] {ring.headSequence(), ring.tailSequence()})
        .compose(bounds -> {
          long head = bounds[0];
          long last = from == null ? bounds[1] : Math.min(from, bounds[1]);
          if (last < head) {
            return Future.succeededFuture(new Page(List.of(), null));
          }
          long first = Math.max(head, last - limit + 1);
          return CompletionStages.onContext(ring.readManyAsync(first, 0, (int) (last - first + 1), null), context)
              .map(result -> new Page(entries(result, last), first > head ? first - 1 : null));
        });
  }

  private static List<Entry> entries(ReadResultSet<String> result, long last) {
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < result.size(); i++) {
      if (result.getSequence(i) > last) {
        break;
      }
      JsonObject json = new JsonObject(result.get(i));
      entries.add(new Entry(result.getSequence(i) + 1, json.getString("at"), json.getString("tokenId"),
          json.getString("tokenName"), json.getString("method"), json.getString("path"), json.getInteger("status")));
    }
    Collections.reverse(entries);
    return entries;
  }
}
