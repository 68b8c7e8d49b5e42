package io.vipfarm.gateway;

import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.PlatformHandler;

/**
 * The body handler for every request but a WebSocket upgrade. An upgrade request is paused instead:
 * access control and validation answer asynchronously, and a request that ended meanwhile (or whose
 * empty body was read) can no longer be upgraded ("request has already been read");
 * {@code toWebSocket()} resumes it.
 */
final class WebSocketAwareBodyHandler implements PlatformHandler {
  private final BodyHandler bodies;

  WebSocketAwareBodyHandler(BodyHandler bodies) {
    this.bodies = bodies;
  }

  @Override
  public void handle(RoutingContext ctx) {
    if ("websocket".equalsIgnoreCase(ctx.request().getHeader(HttpHeaders.UPGRADE))) {
      ctx.request().pause();
      ctx.next();
    } else {
      bodies.handle(ctx);
    }
  }
}
