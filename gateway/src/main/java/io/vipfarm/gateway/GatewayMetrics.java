package io.vipfarm.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;
import io.vipfarm.api.model.PoolView;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway's metrics in one Micrometer Prometheus registry (shared with Vert.x's own HTTP/event-bus
 * metrics when the node enables them):
 * <ul>
 *   <li>{@code vipfarm_http_requests_seconds{operation,method,status}}: latency of every response, as a
 *       histogram, including those refused before any route (operation {@code none});</li>
 *   <li>{@code vipfarm_events_total{type}}: events seen on the bus; events per second is its rate();</li>
 *   <li>{@code vipfarm_event_subscribers{transport}}: open SSE and WebSocket streams;</li>
 *   <li>{@code vipfarm_pool_leases_used/free{pool}}, {@code vipfarm_host_sessions{host}}: refreshed on
 *       every scrape from the allocation service and the agents;</li>
 *   <li>{@code vipfarm_lease_acquire_seconds}: the agent's lease acquire, from the {@code acquireMillis}
 *       an agent puts in {@code session.started} when it measures it (end-to-end session start latency
 *       is {@code vipfarm_http_requests_seconds{operation="startSession"}}).</li>
 * </ul>
 */
final class GatewayMetrics implements PlatformHandler {
  static final String OPERATION_KEY = "vipfarm.operation";

  private final PrometheusMeterRegistry registry;
  private final AtomicInteger sseSubscribers = new AtomicInteger();
  private final AtomicInteger wsSubscribers = new AtomicInteger();
  private final MultiGauge poolUsed;
  private final MultiGauge poolFree;
  private final MultiGauge hostSessions;
  private final Timer acquire;

  GatewayMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry != null ? registry : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Gauge.builder("vipfarm_event_subscribers", sseSubscribers, AtomicInteger::get).tag("transport", "sse")
        .description("Open event streams").register(this.registry);
    Gauge.builder("vipfarm_event_subscribers", wsSubscribers, AtomicInteger::get).tag("transport", "websocket")
        .description("Open event streams").register(this.registry);
    poolUsed = MultiGauge.builder("vipfarm_pool_leases_used").description("Live leases per pool").register(this.registry);
    poolFree = MultiGauge.builder("vipfarm_pool_leases_free").description("Free addresses per pool").register(this.registry);
    hostSessions = MultiGauge.builder("vipfarm_host_sessions").description("Live sessions per host").register(this.registry);
    acquire = Timer.builder("vipfarm_lease_acquire_seconds").description("Lease acquire latency seen by the agent")
        .publishPercentileHistogram().register(this.registry);
  }

  @Override
  public void handle(RoutingContext ctx) {
    long start = System.nanoTime();
    String method = ctx.request().method().name();
    ctx.addHeadersEndHandler(v -> {
      String operation = ctx.get(OPERATION_KEY);
      Timer.builder("vipfarm_http_requests_seconds")
          .description("Gateway response latency")
          .tags("operation", operation == null ? "none" : operation, "method", method,
              "status", Integer.toString(ctx.response().getStatusCode()))
          .publishPercentileHistogram()
          .register(registry)
          .record(Duration.ofNanos(System.nanoTime() - start));
    });
    ctx.next();
  }

  void subscriberOpened(boolean webSocket) {
    (webSocket ? wsSubscribers : sseSubscribers).incrementAndGet();
  }

  void subscriberClosed(boolean webSocket) {
    (webSocket ? wsSubscribers : sseSubscribers).decrementAndGet();
  }

  void eventSeen(String type, Map<String, Object> data) {
    Counter.builder("vipfarm_events_total").tag("type", type).description("Events seen").register(registry).increment();
    if (data.get("acquireMillis") instanceof Number millis) {
      acquire.record(Duration.ofNanos((long) (millis.doubleValue() * 1_000_000)));
    }
  }

  void pools(List<PoolView> pools) {
    poolUsed.register(pools.stream().map(p -> MultiGauge.Row.of(Tags.of("pool", p.name()), p.used())).toList(), true);
    poolFree.register(pools.stream().map(p -> MultiGauge.Row.of(Tags.of("pool", p.name()), p.free())).toList(), true);
  }

  void hosts(Map<String, Integer> sessionsByHost) {
    hostSessions.register(sessionsByHost.entrySet().stream()
        .map(e -> MultiGauge.Row.of(Tags.of("host", e.getKey()), e.getValue())).toList(), true);
  }

  String scrape() {
    return registry.scrape();
  }
}
