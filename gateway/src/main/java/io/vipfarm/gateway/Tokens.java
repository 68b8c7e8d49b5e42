package io.vipfarm.gateway;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.CompletionStages;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * API tokens, kept in the Hazelcast map {@value #MAP} as JSON by token id; only a SHA-256 of each
 * secret is stored and the secret is shown once, when created.
 *
 * <p>A secret is {@code vf_<id>_<43 chars>}: 256 random bits after the id. The id lets a request find
 * its record with one map lookup; the digest comparison is constant-time. A plain SHA-256 suffices:
 * salts and slow KDFs exist to make guessing low-entropy secrets (passwords) from a stolen digest
 * expensive, but a 256-bit random secret cannot be guessed or precomputed at all, and a fast hash keeps
 * checking a token on every request cheap.
 */
final class Tokens {
  static final String MAP = "vipfarm-tokens";
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}");
  private static final Pattern SECRET = Pattern.compile("vf_([0-9a-f]{16})_[A-Za-z0-9_-]{43}");
  private static final SecureRandom RANDOM = new SecureRandom();

  /** A stored token, without its secret. */
  record TokenView(String id, String name, String role, long createdAt, String createdBy) {
    static TokenView of(JsonObject stored) {
      return new TokenView(stored.getString("id"), stored.getString("name"), stored.getString("role"),
          stored.getLong("createdAt"), stored.getString("createdBy"));
    }
  }

  /** What POST /api/v1/tokens answers: the token and, this once, its secret. */
  record Created(String id, String name, String role, long createdAt, String createdBy, String token) {}

  private final IMap<String, String> map;

  Tokens(HazelcastInstance hazelcast) {
    this.map = hazelcast.getMap(MAP);
  }

  Future<Created> create(String name, TokenRole role, Caller creator, Context context) {
    if (name == null || !NAME.matcher(name).matches()) {
      return Future.failedFuture(VipfarmException.invalidField("name",
          "must be 1-64 letters, digits, spaces or ._@- starting with a letter or digit"));
    }
    byte[] idBytes = new byte[8];
    byte[] secretBytes = new byte[32];
    RANDOM.nextBytes(idBytes);
    RANDOM.nextBytes(secretBytes);
    String id = HexFormat.of().formatHex(idBytes);
    String secret = "vf_" + id + "_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
    long now = System.currentTimeMillis();
    JsonObject stored = new JsonObject().put("id", id).put("name", name).put("role", role.wireName())
        .put("createdAt", now).put("createdBy", creator.tokenId()).put("sha256", hex(sha256(secret)));
    return context.owner().executeBlocking(() -> map.putIfAbsent(id, stored.encode()))
        .compose(previous -> previous == null ? Future.succeededFuture(
                new Created(id, name, role.wireName(), now, creator.tokenId(), secret))
            : Future.failedFuture(new VipfarmException(ErrorType.CONFLICT, "token id collision, try again")));
  }

  /** The caller a secret belongs to, or null when it is no (longer a) token. */
  Future<Caller> authenticate(String secret, Context context) {
    var matcher = SECRET.matcher(secret);
    if (!matcher.matches()) {
      return Future.succeededFuture(null);
    }
    byte[] digest = sha256(secret);
    return CompletionStages.onContext(map.getAsync(matcher.group(1)), context).map(text -> {
      if (text == null) {
        return null;
      }
      JsonObject stored = new JsonObject(text);
      byte[] expected = HexFormat.of().parseHex(stored.getString("sha256"));
      return MessageDigest.isEqual(expected, digest)
          ? new Caller(stored.getString("id"), stored.getString("name"), TokenRole.parse(stored.getString("role")))
          : null;
    });
  }

  Future<List<TokenView>> list(Context context) {
    return context.owner().executeBlocking(() -> {
      List<TokenView> views = new ArrayList<>();
      for (String text : map.values()) {
        views.add(TokenView.of(new JsonObject(text)));
      }
      return views;
    });
  }

  Future<Void> revoke(String id, Context context) {
    return CompletionStages.onContext(map.removeAsync(id), context).compose(removed -> removed == null
        ? Future.failedFuture(new VipfarmException(ErrorType.NOT_FOUND, "no token with id '" + id + "'"))
        : Future.<Void>succeededFuture());
  }

  static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM provides SHA-256", e);
    }
  }

  private static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
