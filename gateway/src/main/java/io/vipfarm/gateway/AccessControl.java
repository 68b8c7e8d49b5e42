package io.vipfarm.gateway;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.security.MessageDigest;

/**
 * Checks {@code Authorization: Bearer <token>}: the bootstrap admin token (compared as SHA-256 digests,
 * so in constant time and without leaking its length) or a token of {@link Tokens}. A missing or unknown
 * token is 401; a token whose role does not reach the operation is 403. The caller is put in the
 * routing context for the audit.
 */
final class AccessControl {
  private static final String BEARER = "Bearer ";

  private final byte[] adminTokenDigest;
  private final Tokens tokens;

  AccessControl(String adminToken, Tokens tokens) {
    this.adminTokenDigest = Tokens.sha256(adminToken);
    this.tokens = tokens;
  }

  /** The first handler of every route: lets the request through or fails it UNAUTHORIZED/FORBIDDEN. */
  Handler<RoutingContext> require(Access access) {
    if (!access.needsToken()) {
      return RoutingContext::next;
    }
    return ctx -> authenticate(ctx, access);
  }

  private void authenticate(RoutingContext ctx, Access access) {
    String authorization = ctx.request().getHeader(HttpHeaders.AUTHORIZATION);
    if (authorization == null || !authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      ctx.fail(new VipfarmException(ErrorType.UNAUTHORIZED, "this operation needs 'Authorization: Bearer <token>'"));
      return;
    }
    String presented = authorization.substring(BEARER.length()).trim();
    if (MessageDigest.isEqual(adminTokenDigest, Tokens.sha256(presented))) {
      admit(ctx, Caller.bootstrap(), access);
      return;
    }
    tokens.authenticate(presented, ctx.vertx().getOrCreateContext())
        .onSuccess(caller -> {
          if (caller == null) {
            ctx.fail(new VipfarmException(ErrorType.UNAUTHORIZED, "the bearer token is not valid"));
          } else {
            admit(ctx, caller, access);
          }
        })
        .onFailure(ctx::fail);
  }

  private static void admit(RoutingContext ctx, Caller caller, Access access) {
    ctx.put(Caller.KEY, caller);
    if (caller.role().permits(access)) {
      ctx.next();
    } else {
      ctx.fail(new VipfarmException(ErrorType.FORBIDDEN, "token '" + caller.tokenName() + "' has role "
          + caller.role().wireName() + ", this operation needs " + needed(access)));
    }
  }

  private static String needed(Access access) {
    return access == Access.ADMINISTER ? "admin" : access == Access.OPERATE ? "operator or admin" : "a token";
  }
}
