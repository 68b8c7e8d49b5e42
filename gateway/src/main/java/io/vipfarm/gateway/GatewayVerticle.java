package io.vipfarm.gateway;

import static io.vipfarm.gateway.Access.ADMINISTER;
import static io.vipfarm.gateway.Access.OPERATE;
import static io.vipfarm.gateway.Access.READ;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.HttpException;
import io.vertx.ext.web.openapi.router.RequestExtractor;
import io.vertx.ext.web.openapi.router.RouterBuilder;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.HostView;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP API of vipfarm (design.md §6), built from {@code openapi.yaml}: every route is an operation
 * of the contract, checked for access, validated against the contract, then handed to a service found
 * through Service Discovery. The gateway holds no state of its own.
 */
public final class GatewayVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(GatewayVerticle.class);

  static final String CONTRACT = "openapi.yaml";
  static final long BODY_LIMIT_BYTES = 64 * 1024;
  private static final String JSON = "application/json";
  /** Listing hosts asks every agent; one that does not answer this fast is shown as unreachable. */
  private static final long DESCRIBE_TIMEOUT_MS = 2_000;

  private final GatewayConfig config;
  private final GatewayMetrics metrics = new GatewayMetrics();
  private ServiceDiscovery discovery;
  private ServiceLocator locator;
  private PolicyService policies;
  private AllocationService allocations;
  private EventLog.Reader eventHistory;
  private Buffer contractText;
  private HttpServer server;

  public GatewayVerticle(GatewayConfig config) {
    this.config = config;
  }

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx);
    locator = new ServiceLocator(discovery);
    policies = PolicyService.client(serviceClient(Addresses.POLICY_SERVICE));
    allocations = AllocationService.client(serviceClient(Addresses.ALLOCATION_SERVICE));
    eventHistory = new EventLog.Reader(vertx);
    return ContractDocument.load(vertx, CONTRACT)
        .map(document -> {
          contractText = document.text();
          return router(document.contract());
        })
        .compose(router -> vertx.createHttpServer().requestHandler(router).listen(config.port(), config.bindHost()))
        .onSuccess(listening -> {
          server = listening;
          LOG.info("gateway listening on http://{}:{}/", config.bindHost(), listening.actualPort());
        });
  }

  /** The operations of openapi.yaml, each with who may call it and what it does. */
  private void bindOperations(OperationTable api) {
    // Service
    api.bind("health", READ, this::health)
        .bind("getContract", READ, this::serveContract)
        .bind("metrics", READ, this::serveMetrics);
    // Hosts and sessions
    api.bind("listHosts", READ, this::listHosts)
        .bind("listSessions", READ, this::listSessions)
        .bind("startSession", OPERATE, this::startSession)
        .bind("getSession", READ, this::getSession)
        .bind("endSession", OPERATE, this::endSession);
    // Allocations
    api.bind("listAllocations", READ, this::listAllocations);
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
    // Events
    api.bind("streamEvents", READ, this::streamEvents);
  }

  @Override
  public Future<?> stop() {
    Future<Void> closing = server == null ? Future.succeededFuture() : server.close();
    return closing.onComplete(done -> discovery.close());
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
        .rootHandler(BodyHandler.create().setBodyLimit(BODY_LIMIT_BYTES));
    OperationTable api = new OperationTable(builder, new AccessControl(config.adminToken()),
        new RequestValidation(vertx, contract));
    bindOperations(api);
    Router router = api.createRouter();
    router.route().failureHandler(this::sendFailure);
    for (int status : new int[] {400, 404, 405, 413, 500}) {
      router.errorHandler(status, this::sendFailure);
    }
    return router;
  }

  private EventBusClient serviceClient(String serviceName) {
    return new EventBusClient(vertx, () -> locator.address(serviceName), EventBusClient.DEFAULT_TIMEOUT_MS);
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

  private void serveMetrics(RoutingContext ctx) {
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, "text/plain; version=0.0.4").end(metrics.scrape());
  }

  // ---- Hosts and sessions

  private void listHosts(RoutingContext ctx) {
    locator.agents()
        .compose(this::describeAll)
        .onSuccess(hosts -> respond(ctx, 200, hosts))
        .onFailure(ctx::fail);
  }

  private Future<List<HostView>> describeAll(List<Record> agents) {
    List<Future<HostView>> views = agents.stream().map(this::describe).toList();
    return Future.all(views).map(all -> views.stream()
        .map(Future::result)
        .sorted(Comparator.comparing(HostView::hostId))
        .toList());
  }

  private Future<HostView> describe(Record agent) {
    String hostId = agent.getMetadata().getString(Addresses.META_HOST_ID);
    String address = agent.getLocation().getString(Record.ENDPOINT);
    EventBusClient bus = new EventBusClient(vertx, () -> Future.succeededFuture(address), DESCRIBE_TIMEOUT_MS);
    return HostAgentService.client(bus).describe()
        .otherwise(err -> new HostView(hostId, null, "unreachable", 0, 0));
  }

  private void listSessions(RoutingContext ctx) {
    agent(ctx.pathParam("hostId")).listSessions()
        .onSuccess(sessions -> respond(ctx, 200, sessions))
        .onFailure(ctx::fail);
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
    AllocationQuery query = new AllocationQuery(ctx.queryParams().get("host"), ctx.queryParams().get("session"),
        ctx.queryParams().get("user"), ctx.queryParams().get("pool"), ctx.queryParams().get("address"));
    allocations.leases(query)
        .map(leases -> leases.stream().map(AllocationView::of).toList())
        .onSuccess(rows -> respond(ctx, 200, rows))
        .onFailure(ctx::fail);
  }

  // ---- Pools

  private void listPools(RoutingContext ctx) {
    allocations.listPools()
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
    policies.list()
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

  // ---- Events

  private void streamEvents(RoutingContext ctx) {
    EventSubscription.Filter filter = new EventSubscription.Filter(
        new LinkedHashSet<>(commaSeparated(ctx.queryParams().get("types"))), ctx.queryParams().get("host"));
    Long resumeAfter;
    try {
      resumeAfter = resumePoint(ctx);
    } catch (VipfarmException e) {
      ctx.fail(e);
      return;
    }
    metrics.subscriberOpened();
    new EventSubscription(vertx, eventHistory, ctx.request(), filter, metrics::subscriberClosed)
        .open(resumeAfter)
        .onFailure(ctx::fail);
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
      case 401 -> Problem.of(ErrorType.UNAUTHORIZED, "this operation needs 'Authorization: Bearer <admin token>'");
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
