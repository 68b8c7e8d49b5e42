package io.vipfarm.gateway;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.CompletionStages;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.net.URI;
import java.net.URISyntaxException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Registered webhooks, in the Hazelcast map {@value #MAP} (id to JSON with the signing secret), and
 * their delivery status in {@value #STATUS_MAP} (written by the member that delivers them, see
 * {@link WebhookDispatcher}).
 *
 * <p>URLs are http or https. By default only loopback receivers (127.0.0.0/8, {@code localhost},
 * {@code [::1]}) are accepted: a webhook makes the control plane send requests into its own network,
 * so reaching anything else is opted into per host with the gateway's allow-list
 * ({@code --webhook-allow host,*.example.com,...}; {@code *} allows every host).
 */
final class Webhooks {
  static final String MAP = "vipfarm-webhooks";
  static final String STATUS_MAP = "vipfarm-webhook-status";
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Pattern LOOPBACK_V4 = Pattern.compile("127(\\.\\d{1,3}){3}");
  private static final Set<String> EVENT_TYPES = Set.of("session.started", "session.ended", "lease.granted",
      "lease.renewed", "lease.released", "lease.expired", "host.joined", "host.left", "policy.changed",
      "pool.exhausted");

  private final IMap<String, String> hooks;
  private final IMap<String, String> status;
  private final List<String> allowedHosts;

  Webhooks(HazelcastInstance hazelcast, List<String> allowedHosts) {
    this.hooks = hazelcast.getMap(MAP);
    this.status = hazelcast.getMap(STATUS_MAP);
    this.allowedHosts = List.copyOf(allowedHosts);
  }

  IMap<String, String> hooks() {
    return hooks;
  }

  IMap<String, String> statusMap() {
    return status;
  }

  /** Validates and stores a webhook; the answer carries its signing secret, shown this once. */
  Future<JsonObject> register(JsonObject body, Caller creator, Context context) {
    String url = body.getString("url");
    checkUrl(url);
    JsonArray types = body.getJsonArray("types", new JsonArray());
    for (int i = 0; i < types.size(); i++) {
      if (!(types.getValue(i) instanceof String type) || !EVENT_TYPES.contains(type)) {
        throw VipfarmException.invalidField("types[" + i + "]", "must be one of " + new java.util.TreeSet<>(EVENT_TYPES));
      }
    }
    byte[] idBytes = new byte[8];
    byte[] secretBytes = new byte[32];
    RANDOM.nextBytes(idBytes);
    RANDOM.nextBytes(secretBytes);
    String id = HexFormat.of().formatHex(idBytes);
    JsonObject stored = new JsonObject()
        .put("id", id)
        .put("url", url)
        .put("types", types)
        .put("secret", Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes))
        .put("createdAt", System.currentTimeMillis())
        .put("createdBy", creator.tokenId());
    return context.owner().executeBlocking(() -> hooks.putIfAbsent(id, stored.encode()))
        .compose(previous -> previous == null ? Future.succeededFuture(stored.copy())
            : Future.failedFuture(new VipfarmException(ErrorType.CONFLICT, "webhook id collision, try again")));
  }

  void checkUrl(String url) {
    if (url == null || url.isBlank()) {
      throw VipfarmException.invalidField("url", "is required");
    }
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw VipfarmException.invalidField("url", "is not a URL");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw VipfarmException.invalidField("url", "must be an http or https URL");
    }
    String host = uri.getHost();
    if (host == null || uri.getUserInfo() != null) {
      throw VipfarmException.invalidField("url", "must name a host and carry no user info");
    }
    if (!isLoopback(host) && !allowed(host.toLowerCase(Locale.ROOT))) {
      throw VipfarmException.invalidField("url", "host '" + host + "' is not loopback and not in the gateway's "
          + "webhook allow-list (--webhook-allow)");
    }
  }

  private static boolean isLoopback(String host) {
    return host.equalsIgnoreCase("localhost") || host.equals("[::1]") || LOOPBACK_V4.matcher(host).matches();
  }

  private boolean allowed(String host) {
    for (String entry : allowedHosts) {
      String rule = entry.toLowerCase(Locale.ROOT);
      if (rule.equals("*") || rule.equals(host) || (rule.startsWith("*.") && host.endsWith(rule.substring(1)))) {
        return true;
      }
    }
    return false;
  }

  /** The webhook without its secret, plus its delivery status. */
  Future<JsonObject> get(String id, Context context) {
    return CompletionStages.onContext(hooks.getAsync(id), context)
        .compose(text -> text == null ? Future.failedFuture(notFound(id))
            : CompletionStages.onContext(status.getAsync(id), context)
                .map(statusText -> view(new JsonObject(text), statusText == null ? null : new JsonObject(statusText))));
  }

  Future<List<JsonObject>> list(Context context) {
    return context.owner().executeBlocking(() -> {
      List<JsonObject> views = new ArrayList<>();
      for (var entry : hooks.entrySet()) {
        String statusText = status.get(entry.getKey());
        views.add(view(new JsonObject(entry.getValue()), statusText == null ? null : new JsonObject(statusText)));
      }
      return views;
    });
  }

  Future<Void> delete(String id, Context context) {
    return CompletionStages.onContext(hooks.removeAsync(id), context)
        .compose(removed -> removed == null ? Future.failedFuture(notFound(id))
            : CompletionStages.onContext(status.removeAsync(id), context).<Void>mapEmpty());
  }

  private static JsonObject view(JsonObject stored, JsonObject deliveryStatus) {
    JsonObject view = stored.copy();
    view.remove("secret");
    view.put("status", deliveryStatus != null ? deliveryStatus : WebhookDispatcher.emptyStatus());
    return view;
  }

  private static VipfarmException notFound(String id) {
    return new VipfarmException(ErrorType.NOT_FOUND, "no webhook with id '" + id + "'");
  }
}
