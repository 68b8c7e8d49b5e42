package io.vipfarm.gateway;

import io.vertx.ext.web.RoutingContext;

/** Who made a request, as access control established it; kept in the routing context for the audit. */
record Caller(String tokenId, String tokenName, TokenRole role) {
  static final String KEY = "vipfarm.caller";
  static final String BOOTSTRAP_ID = "bootstrap";

  static Caller bootstrap() {
    return new Caller(BOOTSTRAP_ID, "bootstrap admin token", TokenRole.ADMIN);
  }

  static Caller of(RoutingContext ctx) {
    return ctx.get(KEY);
  }
}
