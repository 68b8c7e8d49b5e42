package io.vipfarm.gateway;

import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * The gateway's own counters in Prometheus text format (the farm-wide gauges come with Micrometer later).
 * As a root handler it counts every response by method and status, including those the body handler
 * refuses, which is why it is a platform handler (allowed before the body handler).
 */
final class GatewayMetrics implements PlatformHandler {
  private final Map<String, LongAdder> responses = new ConcurrentHashMap<>();
  private final AtomicInteger eventSubscribers = new AtomicInteger();

  @Override
  public void handle(RoutingContext ctx) {
    String method = ctx.request().method().name();
    ctx.addHeadersEndHandler(v ->
        responses.computeIfAbsent(method + " " + ctx.response().getStatusCode(), k -> new LongAdder()).increment());
    ctx.next();
  }

  void subscriberOpened() {
    eventSubscribers.incrementAndGet();
  }

  void subscriberClosed() {
    eventSubscribers.decrementAndGet();
  }

  String scrape() {
    StringBuilder out = new StringBuilder();
    out.append("# HELP vipfarm_gateway_http_responses_total HTTP responses by method and status.\n")
        .append("# TYPE vipfarm_gateway_http_responses_total counter\n");
    new TreeMap<>(responses).forEach((key, count) -> {
      String[] methodAndStatus = key.split(" ");
      out.append("vipfarm_gateway_http_responses_total{method=\"").append(methodAndStatus[0])
          .append("\",status=\"").append(methodAndStatus[1]).append("\"} ").append(count.sum()).append('\n');
    });
    out.append("# HELP vipfarm_gateway_event_subscribers Open Server-Sent Events streams.\n")
        .append("# TYPE vipfarm_gateway_event_subscribers gauge\n")
        .append("vipfarm_gateway_event_subscribers ").append(eventSubscribers.get()).append('\n');
    return out.toString();
  }
}
