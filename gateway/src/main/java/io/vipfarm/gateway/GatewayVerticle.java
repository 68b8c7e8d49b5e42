package io.vipfarm.gateway;

import static io.vipfarm.gateway.Access.ADMINISTER;
import static io.vipfarm.gateway.Access.OPERATE;
import static io.vipfarm.gateway.Access.PUBLIC;
import static io.vipfarm.gateway.Access.READ;

import com.hazelcast.cluster.ClusterState;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.Unpooled;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.HttpException;
import io.vertx.ext.web.openapi.router.RequestExtractor;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.bus.CompletionStages;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.RequestTransport;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.HostView;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PoolView;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VipfarmEvent;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API of vipfarm (design.md §6), built from {@code openapi.yaml}: every route is an operation
 * of the contract, checked for access, validated against the contract, then handed to a service found
 * through Service Discovery. The gateway keeps no state in its own memory: tokens, the audit history,
 * webhooks and hosts' last heartbeats live in Hazelcast, so every gateway of a farm answers alike.
 */
public final class GatewayVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayVerticle.class);

  static final String CONTRACT = "openapi.yaml";
  static final long BODY_LIMIT_BYTES = 64 * 1024;
  private static final String JSON = "application/json";
  /** Listing hosts asks every agent; one that does not answer this fast is shown as unreachable. */
  private static final long DESCRIBE_TIMEOUT_MS = 2_000;
  /** Hazelcast map: host id to the epoch millis of its agent's last answer to any gateway or ping through the bridge. */
  public static final String HOST_SEEN_MAP = "vipfarm-host-seen";
  /** Hazelcast multimap: host id to the ids of its running sessions, kept by the agent bridge. */
  public static final String HOST_SESSIONS_MAP = "vipfarm-agent-sessions";

  private final GatewayConfig config;
  private final HazelcastInstance hazelcast;
  private final GatewayMetrics metrics;
  private Tokens tokens;
  private AuditLog audit;
  private Webhooks webhooks;
  private WebhookDispatcher dispatcher;
  private IMap<String, Long> hostSeen;
  private MessageConsumer<JsonObject> eventCounter;
  private ServiceDiscovery discovery;
  private ServiceLocator locator;
  private PolicyService policies;
  private AllocationService allocations;
  private EventLog.Reader eventHistory;
  private Buffer contractText;
  private HttpServer server;

  /**
   * @param hazelcast a member of the farm's cluster: tokens, audit, webhooks and host heartbeats live there
   * @param registry where /metrics comes from (shared with Vert.x's metrics), or null for a private one
   */
  public GatewayVerticle(GatewayConfig config, HazelcastInstance hazelcast, PrometheusMeterRegistry registry) {
    this.config = config;
    this.hazelcast = hazelcast;
    this.metrics = new GatewayMetrics(registry);
  }

  public GatewayVerticle(GatewayConfig config, HazelcastInstance hazelcast) {
    this(config, hazelcast, null);
  }

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx);
    locator = new ServiceLocator(discovery);
    policies = PolicyService.client(localService(Addresses.POLICY_SERVICE));
    allocations = AllocationService.client(localService(Addresses.ALLOCATION_SERVICE));
    eventHistory = new EventLog.Reader(vertx);
    tokens = new Tokens(hazelcast);
    audit = new AuditLog(hazelcast);
    webhooks = new Webhooks(hazelcast, config.webhookAllow());
    hostSeen = hazelcast.getMap(HOST_SEEN_MAP);
    dispatcher = new WebhookDispatcher(vertx, context, hazelcast, webhooks, config.webhookMaxAttempts(),
        config.webhookBackoffMs());
    eventCounter = vertx.eventBus().consumer(Addresses.EVENTS, msg -> {
      VipfarmEvent event = Json.fromJson(msg.body(), VipfarmEvent.class);
      metrics.eventSeen(event.type(), event.data());
    });
    return eventCounter.completion()
        .compose(v -> dispatcher.start())
        .compose(v -> ContractDocument.load(vertx, CONTRACT))
        .map(document -> {
          contractText = document.text();
          return router(document.contract());
        })
        .compose(router -> vertx.createHttpServer(serverOptions()).requestHandler(router)
            .listen(config.port(), config.bindHost()))
        .onSuccess(listening -> {
          server = listening;
          LOG.info("gateway listening on {}://{}:{}/", config.tls() ? "https" : "http", config.bindHost(),
              listening.actualPort());
        });
  }

  private HttpServerOptions serverOptions() {
    HttpServerOptions options = new HttpServerOptions();
    if (config.tls()) {
      options.setSsl(true).setKeyCertOptions(new PemKeyCertOptions()
          .setCertPath(config.tlsCert().toString())
          .setKeyPath(config.tlsKey().toString()));
    }
    return options;
  }

  /** The operations of openapi.yaml, each with who may call it and what it does. */
  private void bindOperations(OperationTable api) {
    // Service
    api.bind("health", PUBLIC, this::health)
        .bind("ready", PUBLIC, this::ready)
        .bind("getContract", PUBLIC, this::serveContract)
        .bind("metrics", READ, this::serveMetrics);
    // Hosts and sessions
    api.bind("listHosts", READ, this::listHosts)
        .bind("findSessions", READ, this::findSessions)
        .bind("listSessions", READ, this::listSessions)
        .bind("startSession", OPERATE, this::startSession)
        .bind("getSession", READ, this::getSession)
        .bind("endSession", OPERATE, this::endSession);
    // Allocations
    api.bind("listAllocations", READ, this::listAllocations)
        .bind("checkAllocations", ADMINISTER, this::checkAllocations);
    // Pools
    api.bind("listPools", READ, this::listPools)
        .bind("getPool", READ, this::getPool)
        .bind("putPool", ADMINISTER, this::putPool)
        .bind("deletePool", ADMINISTER, this::deletePool);
    // Policies
    api.bind("listPolicies", READ, this::listPolicies)
        .bind("effectivePolicy", READ, this::effectivePolicy)
        .bind("getPolicy", READ, this::getPolicy)
        .bind("putPolicy", ADMINISTER, this::putPolicy)
        .bind("deletePolicy", ADMINISTER, this::deletePolicy);
    // Access: tokens and the audit history
    api.bind("listTokens", ADMINISTER, this::listTokens)
        .bind("createToken", ADMINISTER, this::createToken)
        .bind("revokeToken", ADMINISTER, this::revokeToken)
        .bind("listAudit", ADMINISTER, this::listAudit);
    // Webhooks
    api.bind("listWebhooks", ADMINISTER, this::listWebhooks)
        .bind("createWebhook", ADMINISTER, this::createWebhook)
        .bind("getWebhook", ADMINISTER, this::getWebhook)
        .bind("deleteWebhook", ADMINISTER, this::deleteWebhook);
    // Events
    api.bind("streamEvents", READ, this::streamEvents)
        .bind("eventsWebSocket", READ, this::eventsWebSocket);
  }

  @Override
  public Future<?> stop() {
    Future<Void> closing = server == null ? Future.succeededFuture() : server.close();
    return closing
        .transform(v -> dispatcher == null ? Future.succeededFuture() : dispatcher.stop())
        .transform(v -> eventCounter == null ? Future.succeededFuture() : eventCounter.unregister())
        .onComplete(done -> discovery.close());
  }

  /** The port the gateway listens on; valid once started. */
  public int actualPort() {
    if (server == null) {
      throw new IllegalStateException("the gateway is not listening yet");
    }
    return server.actualPort();
  }

  private Router router(OpenAPIContract contract) {
    RouterBuilder builder = RouterBuilder.create(vertx, contract, RequestExtractor.withBodyHandler())
        .rootHandler(metrics)
        .rootHandler(audit)
        .rootHandler(new WebSocketAwareBodyHandler(BodyHandler.create().setBodyLimit(BODY_LIMIT_BYTES)));
    OperationTable api = new OperationTable(builder, new AccessControl(config.adminToken(), tokens),
        new RequestValidation(vertx, contract));
    bindOperations(api);
    Router router = api.createRouter();
    router.route().failureHandler(this::sendFailure);
    for (int status : new int[] {400, 401, 403, 404, 405, 413, 500}) {
      router.errorHandler(status, this::sendFailure);
    }
    return router;
  }

  private EventBusClient localService(String serviceName) {
    // policy and allocation run on every member with a gateway: ask this member's own, at the address
    // its discovery record names, remembered rather than looked up on every request
    return new EventBusClient(RequestTransport.localEventBus(vertx), locator.remembered(serviceName),
        EventBusClient.DEFAULT_TIMEOUT_MS);
  }

  private HostAgentService agent(String hostId) {
    return HostAgentService.client(
        new EventBusClient(vertx, () -> locator.agentAddress(hostId), EventBusClient.DEFAULT_TIMEOUT_MS));
  }

  // ---- Service

  private void health(RoutingContext ctx) {
    respond(ctx, 200, new JsonObject().put("status", "UP"));
  }

  private void serveContract(RoutingContext ctx) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "application/yaml").end(contractText);
  }

  /**
   * 200 when this gateway can serve: the Hazelcast cluster is active with at least
   * {@link GatewayConfig#minClusterMembers()} members, the policy and allocation services are published
   * in Service Discovery, and the event log answers. Otherwise 503 naming the failed checks.
   */
  private void ready(RoutingContext ctx) {
    Map<String, Future<String>> checks = new LinkedHashMap<>();
    checks.put("cluster", vertx.executeBlocking(() -> {
      ClusterState state = hazelcast.getCluster().getClusterState();
      int members = hazelcast.getCluster().getMembers().size();
      if (state != ClusterState.ACTIVE || members < config.minClusterMembers()) {
        throw new IllegalStateException("cluster " + state + " with " + members + " of at least "
            + config.minClusterMembers() + " members");
      }
      return members + " members, " + state;
    }));
    checks.put("policyService", locator.address(Addresses.POLICY_SERVICE).map(a -> "found"));
    checks.put("allocationService", locator.address(Addresses.ALLOCATION_SERVICE).map(a -> "found"));
    checks.put("eventLog", eventHistory.newestId().map(id -> "newest event " + id));
    Future.join(new ArrayList<>(checks.values())).onComplete(done -> {
      JsonObject results = new JsonObject();
      List<String> failed = new ArrayList<>();
      checks.forEach((name, check) -> {
        if (check.succeeded()) {
          results.put(name, new JsonObject().put("ok", true).put("detail", check.result()));
        } else {
          failed.add(name);
          String detail = check.cause() instanceof VipfarmException e ? e.detail() : String.valueOf(check.cause().getMessage());
          results.put(name, new JsonObject().put("ok", false).put("detail", detail));
        }
      });
      if (failed.isEmpty()) {
        respond(ctx, 200, new JsonObject().put("status", "READY").put("checks", results));
      } else {
        ctx.response().setStatusCode(503).putHeader(HttpHeaders.CONTENT_TYPE, Problem.CONTENT_TYPE)
            .end(Problem.of(ErrorType.SERVICE_UNAVAILABLE, "not ready: " + String.join(", ", failed) + " failed")
                .toJson().put("checks", results).encode());
      }
    });
  }

  /** Refreshes the farm gauges (pools from the allocation service, sessions from the agents), then scrapes. */
  private void serveMetrics(RoutingContext ctx) {
    Future<Void> pools = allocations.listPools().onSuccess(metrics::pools).<Void>mapEmpty().otherwiseEmpty();
    Future<Void> hosts = locator.agents().compose(this::describeAll).onSuccess(all -> {
      Map<String, Integer> sessions = new LinkedHashMap<>();
      all.stream().filter(HostState::reachable).forEach(h -> sessions.put(h.hostId(), h.sessions()));
      metrics.hosts(sessions);
    }).<Void>mapEmpty().otherwiseEmpty();
    Future.join(pools, hosts).onComplete(done ->
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")
            .end(metrics.scrape()));
  }

  // ---- Hosts and sessions

  private void listHosts(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    locator.agents()
        .compose(this::describeAll)
        .map(hosts -> Paging.page(ctx, page, hosts, HostState::hostId))
        .onSuccess(hosts -> respond(ctx, 200, hosts))
        .onFailure(ctx::fail);
  }

  private Future<List<HostState>> describeAll(List<Record> agents) {
    List<Future<HostState>> views = agents.stream().map(this::describe).toList();
    return Future.all(views).map(all -> views.stream()
        .map(Future::result)
        .sorted(Comparator.comparing(HostState::hostId))
        .toList());
  }

  /**
   * Asks the agent; an answer is the host's heartbeat, recorded in {@link #HOST_SEEN_MAP} for every
   * gateway. A host that does not answer shows as unreachable with the last heartbeat any gateway saw.
   */
  private Future<HostState> describe(Record agent) {
    String hostId = agent.getMetadata().getString(Addresses.META_HOST_ID);
    String address = agent.getLocation().getString(Record.ENDPOINT);
    EventBusClient bus = new EventBusClient(vertx, () -> Future.succeededFuture(address), DESCRIBE_TIMEOUT_MS);
    return HostAgentService.client(bus).describe()
        .map(view -> {
          long now = System.currentTimeMillis();
          hostSeen.setAsync(hostId, now);
          return HostState.of(view, now);
        })
        .recover(err -> CompletionStages.onContext(hostSeen.getAsync(hostId), context)
            .otherwiseEmpty()
            .compose(seen -> knownSessions(hostId).map(sessions -> HostState.unreachable(hostId, seen, sessions))));
  }

  /**
   * How many sessions an agent that does not answer was running, as the agent bridge last knew them
   * ({@link #HOST_SESSIONS_MAP}); 0 for agents of this process's own event bus, which the bridge never sees.
   */
  private Future<Integer> knownSessions(String hostId) {
    return vertx.executeBlocking(() -> hazelcast.<String, String>getMultiMap(HOST_SESSIONS_MAP).valueCount(hostId), false)
        .otherwise(0);
  }

  private void listSessions(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    agent(ctx.pathParam("hostId")).listSessions()
        .map(sessions -> Paging.page(ctx, page, sessions, GatewayVerticle::sessionKey))
        .onSuccess(sessions -> respond(ctx, 200, sessions))
        .onFailure(ctx::fail);
  }

  /**
   * Sessions across the farm: of one host ({@code host=}) or of every host, asking each agent; filtered
   * by {@code user=}. Hosts that did not answer are named in {@code X-Unreachable-Hosts}.
   */
  private void findSessions(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    String host = blankToNull(ctx.queryParams().get("host"));
    String user = blankToNull(ctx.queryParams().get("user"));
    Future<List<Record>> agents = host == null ? locator.agents()
        : locator.agentAddress(host).compose(found -> locator.agents())
            .map(all -> all.stream().filter(r -> host.equals(r.getMetadata().getString(Addresses.META_HOST_ID))).toList());
    agents.compose(records -> {
      List<String> unreachable = new ArrayList<>();
      List<Future<List<SessionView>>> asked = records.stream().map(record -> {
        String hostId = record.getMetadata().getString(Addresses.META_HOST_ID);
        String address = record.getLocation().getString(Record.ENDPOINT);
        EventBusClient bus = new EventBusClient(vertx, () -> Future.succeededFuture(address), DESCRIBE_TIMEOUT_MS);
        return HostAgentService.client(bus).listSessions().recover(err -> {
          unreachable.add(hostId);
          return Future.succeededFuture(List.<SessionView>of());
        });
      }).toList();
      return Future.all(asked).map(all -> {
        if (!unreachable.isEmpty()) {
          ctx.response().putHeader("X-Unreachable-Hosts", String.join(",", unreachable.stream().sorted().toList()));
        }
        return asked.stream().flatMap(f -> f.result().stream())
            .filter(s -> user == null || user.equals(s.user()))
            .toList();
      });
    })
        .map(sessions -> Paging.page(ctx, page, sessions, GatewayVerticle::sessionKey))
        .onSuccess(sessions -> respond(ctx, 200, sessions))
        .onFailure(ctx::fail);
  }

  private static String sessionKey(SessionView session) {
    return session.hostId() + "\u0000" + session.sessionId();
  }

  private static String blankToNull(String text) {
    return text == null || text.isBlank() ? null : text;
  }

  private void startSession(RoutingContext ctx) {
    String hostId = ctx.pathParam("hostId");
    readBody(ctx, SessionRequest.class)
        .map(GatewayVerticle::checkSessionRequest)
        .compose(request -> agent(hostId).startSession(request))
        .onSuccess(session -> respondCreated(ctx, sessionLocation(hostId, session), session))
        .onFailure(ctx::fail);
  }

  private static SessionRequest checkSessionRequest(SessionRequest request) {
    if (request.sessionId() == null || request.sessionId().isBlank()) {
      throw VipfarmException.invalidField("sessionId", "is required and must not be blank");
    }
    if (request.user() == null || request.user().isBlank()) {
      throw VipfarmException.invalidField("user", "is required and must not be blank");
    }
    return request;
  }

  private static String sessionLocation(String hostId, SessionView session) {
    return "/api/v1/hosts/" + pathSegment(hostId) + "/sessions/" + pathSegment(session.sessionId());
  }

  private void getSession(RoutingContext ctx) {
    agent(ctx.pathParam("hostId")).getSession(ctx.pathParam("sessionId"))
        .onSuccess(session -> respond(ctx, 200, session))
        .onFailure(ctx::fail);
  }

  private void endSession(RoutingContext ctx) {
    agent(ctx.pathParam("hostId")).endSession(ctx.pathParam("sessionId"))
        .onSuccess(ended -> respondNoContent(ctx))
        .onFailure(ctx::fail);
  }

  // ---- Allocations

  private void listAllocations(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    AllocationQuery query = new AllocationQuery(ctx.queryParams().get("host"), ctx.queryParams().get("session"),
        ctx.queryParams().get("user"), ctx.queryParams().get("pool"), ctx.queryParams().get("address"));
    // the service pages and encodes the rows: only the page crosses the bus, as UTF-8 bytes, which
    // the response sends as they are (wrapped, not copied)
    allocations.leasePage(AllocationCursor.request(query, page))
        .onSuccess(rows -> {
          String next = AllocationCursor.next(rows);
          if (next != null) {
            Paging.setNext(ctx, Paging.cursorOf(next));
          }
          ctx.response().setStatusCode(200).putHeader(HttpHeaders.CONTENT_TYPE, JSON)
              .end(BufferInternal.buffer(Unpooled.wrappedBuffer(rows.rows())));
        })
        .onFailure(ctx::fail);
  }

  private void checkAllocations(RoutingContext ctx) {
    allocations.check()
        .onSuccess(report -> respond(ctx, 200, report))
        .onFailure(ctx::fail);
  }

  // ---- Pools

  private void listPools(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    allocations.listPools()
        .map(pools -> Paging.page(ctx, page, pools, PoolView::name))
        .onSuccess(pools -> respond(ctx, 200, pools))
        .onFailure(ctx::fail);
  }

  private void getPool(RoutingContext ctx) {
    allocations.getPool(ctx.pathParam("name"))
        .onSuccess(pool -> respond(ctx, 200, pool))
        .onFailure(ctx::fail);
  }

  private void putPool(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    readBody(ctx, PoolBody.class)
        .map(body -> body.toSpec(name))
        .compose(allocations::putPool)
        .onSuccess(pool -> respond(ctx, 200, pool))
        .onFailure(ctx::fail);
  }

  private void deletePool(RoutingContext ctx) {
    allocations.deletePool(ctx.pathParam("name"))
        .onSuccess(deleted -> respondNoContent(ctx))
        .onFailure(ctx::fail);
  }

  // ---- Policies

  private void listPolicies(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    policies.list()
        .map(all -> Paging.page(ctx, page, all, PolicyDocument::name))
        .onSuccess(all -> respond(ctx, 200, all))
        .onFailure(ctx::fail);
  }

  private void effectivePolicy(RoutingContext ctx) {
    policies.effective(ctx.queryParams().get("host"), ctx.queryParams().get("user"),
            commaSeparated(ctx.queryParams().get("groups")))
        .onSuccess(effective -> respond(ctx, 200, effective))
        .onFailure(ctx::fail);
  }

  private void getPolicy(RoutingContext ctx) {
    policies.get(ctx.pathParam("name"))
        .onSuccess(policy -> respond(ctx, 200, policy))
        .onFailure(ctx::fail);
  }

  private void putPolicy(RoutingContext ctx) {
    String name = ctx.pathParam("name");
    readBody(ctx, PolicyDocument.class)
        .map(document -> namedFromPath(document, name))
        .compose(policies::put)
        .onSuccess(policy -> respond(ctx, 200, policy))
        .onFailure(ctx::fail);
  }

  private static PolicyDocument namedFromPath(PolicyDocument document, String name) {
    if (document.name() != null && !document.name().equals(name)) {
      throw VipfarmException.invalidField("name", "must equal the name in the path ('" + name + "') or be left out");
    }
    return document.withName(name);
  }

  private void deletePolicy(RoutingContext ctx) {
    policies.delete(ctx.pathParam("name"))
        .onSuccess(deleted -> respondNoContent(ctx))
        .onFailure(ctx::fail);
  }

  // ---- Tokens and audit

  private void listTokens(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    tokens.list(context)
        .map(all -> Paging.page(ctx, page, all, Tokens.TokenView::id))
        .onSuccess(all -> respond(ctx, 200, all))
        .onFailure(ctx::fail);
  }

  private void createToken(RoutingContext ctx) {
    JsonObject body = ctx.body().asJsonObject();
    TokenRole role;
    try {
      role = TokenRole.parse(body.getValue("role") instanceof String text ? text : null);
    } catch (VipfarmException e) {
      ctx.fail(e);
      return;
    }
    tokens.create(body.getValue("name") instanceof String name ? name : null, role, Caller.of(ctx), context)
        .onSuccess(created -> respondCreated(ctx, "/api/v1/tokens/" + created.id(), created))
        .onFailure(ctx::fail);
  }

  private void revokeToken(RoutingContext ctx) {
    tokens.revoke(ctx.pathParam("id"), context)
        .onSuccess(revoked -> respondNoContent(ctx))
        .onFailure(ctx::fail);
  }

  /** Newest first; the cursor continues with older entries. */
  private void listAudit(RoutingContext ctx) {
    int limit = Paging.limit(ctx);
    String cursor = Paging.cursorKey(ctx.queryParams().get("cursor"));
    Long from;
    try {
      from = cursor == null ? null : Long.parseLong(cursor);
    } catch (NumberFormatException e) {
      ctx.fail(VipfarmException.invalidField("cursor", "is not a cursor this API returned"));
      return;
    }
    audit.page(from, limit, context)
        .onSuccess(page -> {
          if (page.next() != null) {
            Paging.setNext(ctx, Paging.cursorOf(Long.toString(page.next())));
          }
          respond(ctx, 200, page.entries());
        })
        .onFailure(ctx::fail);
  }

  // ---- Webhooks

  private void listWebhooks(RoutingContext ctx) {
    Paging.Request page = Paging.Request.of(ctx);
    webhooks.list(context)
        .map(all -> Paging.page(ctx, page, all, hook -> hook.getString("id")))
        .onSuccess(all -> respond(ctx, 200, new JsonArray(new ArrayList<>(all))))
        .onFailure(ctx::fail);
  }

  private void createWebhook(RoutingContext ctx) {
    Future<JsonObject> created;
    try {
      created = webhooks.register(ctx.body().asJsonObject(), Caller.of(ctx), context);
    } catch (VipfarmException e) {
      created = Future.failedFuture(e);
    }
    created.onSuccess(hook -> respondCreated(ctx, "/api/v1/webhooks/" + hook.getString("id"), hook))
        .onFailure(ctx::fail);
  }

  private void getWebhook(RoutingContext ctx) {
    webhooks.get(ctx.pathParam("id"), context)
        .onSuccess(hook -> respond(ctx, 200, hook))
        .onFailure(ctx::fail);
  }

  private void deleteWebhook(RoutingContext ctx) {
    webhooks.delete(ctx.pathParam("id"), context)
        .onSuccess(deleted -> respondNoContent(ctx))
        .onFailure(ctx::fail);
  }

  // ---- Events

  private void streamEvents(RoutingContext ctx) {
    EventSubscription.Filter filter;
    Long resumeAfter;
    try {
      filter = eventFilter(ctx);
      resumeAfter = resumePoint(ctx);
    } catch (VipfarmException e) {
      ctx.fail(e);
      return;
    }
    metrics.subscriberOpened(false);
    new EventSubscription(vertx, eventHistory, EventChannel.serverSentEvents(ctx.request()), filter,
        () -> metrics.subscriberClosed(false))
        .open(resumeAfter)
        .onFailure(ctx::fail);
  }

  /** The same stream as a WebSocket: one text message per event; resume with {@code ?after=}. */
  private void eventsWebSocket(RoutingContext ctx) {
    EventSubscription.Filter filter;
    Long resumeAfter;
    try {
      filter = eventFilter(ctx);
      resumeAfter = resumePoint(ctx);
    } catch (VipfarmException e) {
      ctx.fail(e);
      return;
    }
    if (!"websocket".equalsIgnoreCase(ctx.request().getHeader(HttpHeaders.UPGRADE))) {
      ctx.fail(VipfarmException.invalidField("Upgrade", "this endpoint needs a WebSocket upgrade ('Upgrade: websocket')"));
      return;
    }
    ctx.request().toWebSocket().onSuccess(socket -> {
      metrics.subscriberOpened(true);
      new EventSubscription(vertx, eventHistory, EventChannel.webSocket(socket), filter,
          () -> metrics.subscriberClosed(true))
          .open(resumeAfter)
          .onFailure(err -> socket.close((short) 1011, "the event history is unavailable"));
    }).onFailure(ctx::fail);
  }

  private static EventSubscription.Filter eventFilter(RoutingContext ctx) {
    return new EventSubscription.Filter(new LinkedHashSet<>(commaSeparated(ctx.queryParams().get("types"))),
        blankToNull(ctx.queryParams().get("host")), blankToNull(ctx.queryParams().get("user")));
  }

  /** Last-Event-ID wins over ?after=; null when the subscriber starts fresh. */
  private static Long resumePoint(RoutingContext ctx) {
    String header = ctx.request().getHeader("Last-Event-ID");
    if (header != null && !header.isBlank()) {
      return eventId("Last-Event-ID", header);
    }
    String after = ctx.queryParams().get("after");
    return after == null || after.isBlank() ? null : eventId("after", after);
  }

  private static long eventId(String field, String text) {
    try {
      long id = Long.parseLong(text.trim());
      if (id >= 0) {
        return id;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw VipfarmException.invalidField(field, "must be an event id (a non-negative integer)");
  }

  // ---- Continuations shared by every operation

  private static <T> Future<T> readBody(RoutingContext ctx, Class<T> type) {
    try {
      return Future.succeededFuture(Json.readStrict(ctx.body().asString(), type));
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
  }

  private static void respond(RoutingContext ctx, int status, Object value) {
    ctx.response()
        .setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, JSON)
        .end(String.valueOf(Json.encode(value)));
  }

  private static void respondCreated(RoutingContext ctx, String location, Object value) {
    ctx.response().putHeader(HttpHeaders.LOCATION, location);
    respond(ctx, 201, value);
  }

  private static void respondNoContent(RoutingContext ctx) {
    ctx.response().setStatusCode(204).end();
  }

  /** The one failure exit of every route: a problem+json naming what was wrong. */
  private void sendFailure(RoutingContext ctx) {
    Problem problem = problemOf(ctx);
    if (problem.status() >= 500 && problem.status() != 503) {
      LOG.error("{} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
    }
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    if (problem.status() == 401) {
      ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"vipfarm\"");
    }
    ctx.response()
        .setStatusCode(problem.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, Problem.CONTENT_TYPE)
        .end(problem.toJson().encode());
  }

  private static Problem problemOf(RoutingContext ctx) {
    Throwable failure = ctx.failure();
    if (failure instanceof VipfarmException e) {
      return Problem.of(e);
    }
    int status = failure instanceof HttpException http ? http.getStatusCode() : ctx.statusCode();
    String method = ctx.request().method().name();
    String path = ctx.request().path();
    return switch (status) {
      case 400 -> Problem.of(VipfarmException.invalidField("body", "the request could not be read"));
      case 401 -> Problem.of(ErrorType.UNAUTHORIZED, "this operation needs 'Authorization: Bearer <token>'");
      case 403 -> Problem.of(ErrorType.FORBIDDEN, "the token's role does not allow " + method + " " + path);
      case 404 -> Problem.of(ErrorType.NOT_FOUND, "no resource at " + path);
      case 405 -> Problem.methodNotAllowed(method, path);
      case 413 -> Problem.payloadTooLarge(BODY_LIMIT_BYTES);
      default -> Problem.of(ErrorType.INTERNAL, "the gateway failed to handle " + method + " " + path);
    };
  }

  private static List<String> commaSeparated(String text) {
    if (text == null || text.isBlank()) {
      return List.of();
    }
    Set<String> items = Arrays.stream(text.split(","))
        .map(String::trim)
        .filter(item -> !item.isEmpty())
        .collect(Collectors.toCollection(LinkedHashSet::new));
    return List.copyOf(items);
  }

  private static String pathSegment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
