package io.vipfarm.gateway;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Checks {@code Authorization: Bearer <token>} against the admin token. Both sides are hashed first so
 * that {@link MessageDigest#isEqual} compares equal-length values in constant time and the token's
 * length does not leak either.
 */
final class AccessControl {
  private static final String BEARER = "Bearer ";

  private final byte[] adminTokenDigest;

  AccessControl(String adminToken) {
    this.adminTokenDigest = sha256(adminToken);
  }

  /** The first handler of every route: lets the request through or fails it UNAUTHORIZED. */
  Handler<RoutingContext> require(Access access) {
    if (!access.needsToken()) {
      return RoutingContext::next;
    }
    return this::requireAdminToken;
  }

  private void requireAdminToken(RoutingContext ctx) {
    String authorization = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (isAdminToken(authorization)) {
      ctx.next();
    } else {
      ctx.fail(new VipfarmException(ErrorType.UNAUTHORIZED,
          authorization == null ? "this operation needs 'Authorization: Bearer <admin token>'"
              : "the bearer token is not valid for this operation"));
    }
  }

  private boolean isAdminToken(String authorization) {
    if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      return false;
    }
    String presented = authorization.substring(BEARER.length()).trim();
    return MessageDigest.isEqual(adminTokenDigest, sha256(presented));
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM provides SHA-256", e);
    }
  }
}
