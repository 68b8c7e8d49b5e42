package io.vipfarm.gateway;

import static io.vipfarm.gateway.GatewayClient.ADMIN_TOKEN;
import static io.vipfarm.gateway.GatewayClient.await;
import static io.vipfarm.gateway.GatewayClient.awaitOn;
import static io.vipfarm.gateway.GatewayClient.problem;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Issue 5 on one gateway: roles, audit, paging, lookups, webhooks, WebSocket, TLS, readiness. */
@ExtendWith(VertxExtension.class)
class GatewayProductTest {
  private static final String SESSION = "{\"sessionId\":\"%s\",\"user\":\"%s\"}";
  private static HazelcastInstance hazelcast;

  private Vertx vertx;
  private FakeHostAgent agent;
  private FakeAllocationService allocation;
  private GatewayVerticle gateway;
  private GatewayClient http;

  @BeforeAll
  static void startMember() {
    hazelcast = TestMember.start(EventLog.DEFAULT_CAPACITY);
  }

  @AfterAll
  static void stopMember() {
    hazelcast.shutdown();
  }

  @BeforeEach
  void deploy(Vertx vertx) {
    this.vertx = vertx;
    hazelcast.getMap(Webhooks.MAP).clear();
    hazelcast.getMap(Webhooks.STATUS_MAP).clear();
    hazelcast.getRingbuffer(EventLog.RINGBUFFER).destroy();
    agent = new FakeHostAgent("h1");
    allocation = new FakeAllocationService();
    await(vertx.deployVerticle(agent));
    await(vertx.deployVerticle(new FakeHostAgent("h2")));
    await(vertx.deployVerticle(allocation));
    await(vertx.deployVerticle(new FakePolicyService()));
    await(vertx.deployVerticle(new EventLogVerticle(hazelcast)));
    gateway = deployGateway(new GatewayConfig("127.0.0.1", 0, ADMIN_TOKEN).withWebhooks(List.of(), 4, 50));
    http = client(gateway, false, null);
  }

  private GatewayVerticle deployGateway(GatewayConfig config) {
    GatewayVerticle verticle = new GatewayVerticle(config, hazelcast);
    await(vertx.deployVerticle(verticle));
    return verticle;
  }

  private GatewayClient client(GatewayVerticle verticle, boolean tls, Path trusted) {
    WebClientOptions options = new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(verticle.actualPort());
    if (tls) {
      options.setSsl(true).setTrustOptions(new PemTrustOptions().addCertPath(trusted.toString()));
    }
    return new GatewayClient(vertx, options);
  }

  private String createToken(String name, String role) {
    HttpResponse<Buffer> created = http.admin(HttpMethod.POST, "/api/v1/tokens",
        new JsonObject().put("name", name).put("role", role).encode());
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    return created.bodyAsJsonObject().getString("token");
  }

  @Test
  @DisplayName("roles: reader GETs only, operator runs sessions, admin the rest; 403 changes nothing; revoked is 401")
  void roles() {
    String reader = "Bearer " + createToken("dashboards", "reader");
    String operator = "Bearer " + createToken("broker", "operator");

    assertThat(http.send(HttpMethod.GET, "/api/v1/hosts/h1/sessions", reader, null).statusCode()).isEqualTo(200);
    problem(http.send(HttpMethod.POST, "/api/v1/hosts/h1/sessions", reader, SESSION.formatted("7", "alice")), 403,
        "forbidden");
    assertThat(agent.sessions).isEmpty();
    assertThat(http.send(HttpMethod.POST, "/api/v1/hosts/h1/sessions", operator, SESSION.formatted("7", "alice"))
        .statusCode()).isEqualTo(201);
    problem(http.send(HttpMethod.PUT, "/api/v1/pools/p", operator, "{\"cidr\":\"127.100.0.0/24\"}"), 403, "forbidden");
    problem(http.send(HttpMethod.GET, "/api/v1/tokens", operator, null), 403, "forbidden");
    assertThat(allocation.pools).isEmpty();

    JsonArray tokens = http.get("/api/v1/tokens").bodyAsJsonArray();
    assertThat(tokens.stream().map(t -> ((JsonObject) t).getString("name"))).contains("dashboards", "broker");
    assertThat(tokens.encode()).doesNotContain("vf_", "sha256", "\"token\"");

    String readerId = tokens.stream().map(t -> (JsonObject) t)
        .filter(t -> t.getString("name").equals("dashboards")).findFirst().orElseThrow().getString("id");
    assertThat(http.admin(HttpMethod.DELETE, "/api/v1/tokens/" + readerId, null).statusCode()).isEqualTo(204);
    problem(http.send(HttpMethod.GET, "/api/v1/hosts", reader, null), 401, "unauthorized");
    problem(http.admin(HttpMethod.DELETE, "/api/v1/tokens/" + readerId, null), 404, "not_found");
    // A forged secret with a real id is no token.
    problem(http.send(HttpMethod.GET, "/api/v1/hosts", operator.substring(0, operator.length() - 3) + "AAA", null),
        401, "unauthorized");
  }

  @Test
  @DisplayName("a bad token request is a 400 naming the field and creates nothing")
  void badTokenRequests() {
    int before = http.get("/api/v1/tokens").bodyAsJsonArray().size();
    assertThat(problem(http.admin(HttpMethod.POST, "/api/v1/tokens", "{\"name\":\"x\",\"role\":\"root\"}"), 400,
        "invalid_field").getString("field")).isEqualTo("role");
    assertThat(problem(http.admin(HttpMethod.POST, "/api/v1/tokens", "{\"role\":\"reader\"}"), 400,
        "invalid_field").getString("field")).isEqualTo("name");
    assertThat(problem(http.admin(HttpMethod.POST, "/api/v1/tokens", "{\"name\":\"\\u0000\",\"role\":\"reader\"}"), 400,
        "invalid_field").getString("field")).isEqualTo("name");
    assertThat(http.get("/api/v1/tokens").bodyAsJsonArray()).hasSize(before);
  }

  @Test
  @DisplayName("every mutation is audited (who, what, outcome, when), newest first, paged; only admins read it")
  void audit() {
    String operator = "Bearer " + createToken("auditee", "operator");
    http.send(HttpMethod.POST, "/api/v1/hosts/h1/sessions", operator, SESSION.formatted("8", "bob"));
    http.send(HttpMethod.PUT, "/api/v1/pools/p", operator, "{\"cidr\":\"127.100.0.0/24\"}");
    http.send(HttpMethod.DELETE, "/api/v1/hosts/h1/sessions/8", null, null);

    JsonArray newest = waitForAudit(3);
    JsonObject anonymous = newest.getJsonObject(0);
    assertThat(anonymous.getString("tokenId")).isEqualTo("anonymous");
    assertThat(anonymous.getString("method")).isEqualTo("DELETE");
    assertThat(anonymous.getInteger("status")).isEqualTo(401);
    JsonObject refused = newest.getJsonObject(1);
    assertThat(refused.getString("tokenName")).isEqualTo("auditee");
    assertThat(refused.getString("path")).isEqualTo("/api/v1/pools/p");
    assertThat(refused.getInteger("status")).isEqualTo(403);
    JsonObject started = newest.getJsonObject(2);
    assertThat(started.getString("method") + " " + started.getString("path") + " " + started.getInteger("status"))
        .isEqualTo("POST /api/v1/hosts/h1/sessions 201");
    assertThat(started.getString("at")).isNotBlank();
    assertThat(started.getLong("id")).isLessThan(refused.getLong("id"));

    HttpResponse<Buffer> first = http.get("/api/v1/audit?limit=2");
    String cursor = first.getHeader(Paging.NEXT_CURSOR);
    assertThat(cursor).isNotNull();
    assertThat(first.getHeader("Link")).contains("rel=\"next\"", "cursor=" + cursor, "limit=2");
    JsonArray second = http.get("/api/v1/audit?limit=2&cursor=" + cursor).bodyAsJsonArray();
    assertThat(second.getJsonObject(0).getLong("id")).isEqualTo(first.bodyAsJsonArray().getJsonObject(1).getLong("id") - 1);
    problem(http.send(HttpMethod.GET, "/api/v1/audit", operator, null), 403, "forbidden");
  }

  private JsonArray waitForAudit(int atLeast) {
    JsonArray[] latest = new JsonArray[1];
    waitUntil(() -> (latest[0] = http.get("/api/v1/audit?limit=3").bodyAsJsonArray()).size() >= atLeast
        && latest[0].getJsonObject(0).getString("method").equals("DELETE"));
    return latest[0];
  }

  @Test
  @DisplayName("lists page with limit and an opaque cursor (X-Next-Cursor and Link), every row exactly once")
  void paging() {
    for (int i = 1; i <= 7; i++) {
      allocation.leases.add(new Lease("127.100.0." + (i * 30), "default", new LeaseKey("h1", "b", "" + i, null),
          "alice", i, 1L, 4_000_000_000_000L));
    }
    List<String> seen = new ArrayList<>();
    String uri = "/api/v1/allocations?host=h1&limit=3";
    int pages = 0;
    while (uri != null) {
      HttpResponse<Buffer> page = http.get(uri);
      assertThat(page.statusCode()).isEqualTo(200);
      page.bodyAsJsonArray().forEach(row -> seen.add(((JsonObject) row).getString("address")));
      String link = page.getHeader("Link");
      uri = link == null ? null : link.substring(1, link.indexOf('>'));
      pages++;
    }
    assertThat(pages).isEqualTo(3);
    // Numeric address order (127.100.0.30 before 127.100.0.120), no duplicates, nothing missed.
    assertThat(seen).containsExactly("127.100.0.30", "127.100.0.60", "127.100.0.90", "127.100.0.120",
        "127.100.0.150", "127.100.0.180", "127.100.0.210");
    assertThat(problem(http.get("/api/v1/allocations?limit=0"), 400, "invalid_field").getString("field"))
        .isEqualTo("limit");
    assertThat(problem(http.get("/api/v1/pools?limit=5001"), 400, "invalid_field").getString("field"))
        .isEqualTo("limit");
    assertThat(problem(http.get("/api/v1/hosts?cursor=!!"), 400, "invalid_field").getString("field"))
        .isEqualTo("cursor");
    // an allocations cursor is a pool and an address; anything else is refused, naming the cursor
    assertThat(problem(http.get("/api/v1/allocations?cursor=" + Paging.cursorOf("no-address")), 400, "invalid_field")
        .getString("field")).isEqualTo("cursor");
    // cursors of the earlier format (pool, zero-padded address, holder) still continue after their row
    HttpResponse<Buffer> legacy = http.get("/api/v1/allocations?host=h1&limit=3&cursor="
        + Paging.cursorOf("default\u00002137260122\u0000h1\u00003\u0000"));
    assertThat(legacy.bodyAsJsonArray().getJsonObject(0).getString("address")).isEqualTo("127.100.0.120");
  }

  @Test
  @DisplayName("sessions by user across hosts and by host; hosts show joined time, sessions and last heartbeat")
  void lookups() {
    http.admin(HttpMethod.POST, "/api/v1/hosts/h1/sessions", SESSION.formatted("1", "alice"));
    http.admin(HttpMethod.POST, "/api/v1/hosts/h1/sessions", SESSION.formatted("2", "bob"));
    http.admin(HttpMethod.POST, "/api/v1/hosts/h2/sessions", SESSION.formatted("3", "alice"));

    JsonArray alice = http.get("/api/v1/sessions?user=alice").bodyAsJsonArray();
    assertThat(alice.stream().map(s -> ((JsonObject) s).getString("hostId") + "/" + ((JsonObject) s).getString("sessionId")))
        .containsExactly("h1/1", "h2/3");
    assertThat(http.get("/api/v1/sessions?host=h1").bodyAsJsonArray()).hasSize(2);
    assertThat(http.get("/api/v1/sessions?host=h1&user=alice").bodyAsJsonArray()).hasSize(1);
    problem(http.get("/api/v1/sessions?host=nohost"), 404, "unknown_host");

    long before = System.currentTimeMillis();
    JsonArray hosts = http.get("/api/v1/hosts").bodyAsJsonArray();
    JsonObject h1 = hosts.getJsonObject(0);
    assertThat(h1.getString("hostId")).isEqualTo("h1");
    assertThat(h1.getInteger("sessions")).isEqualTo(2);
    assertThat(h1.getBoolean("reachable")).isTrue();
    assertThat(h1.getLong("joinedAt")).isEqualTo(1L);
    assertThat(h1.getLong("lastHeartbeat")).isGreaterThanOrEqualTo(before);
    assertThat(hazelcast.<String, Long>getMap(GatewayVerticle.HOST_SEEN_MAP).get("h1")).isEqualTo(h1.getLong("lastHeartbeat"));
  }

  @Test
  @DisplayName("webhooks: signed deliveries, retried with backoff after failures, status queryable; loopback only")
  void webhooks() {
    AtomicInteger calls = new AtomicInteger();
    List<JsonObject> received = new CopyOnWriteArrayList<>();
    List<String> signatures = new CopyOnWriteArrayList<>();
    List<Long> arrivals = new CopyOnWriteArrayList<>();
    HttpServer receiver = await(vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(body -> {
      arrivals.add(System.nanoTime());
      if (calls.incrementAndGet() <= 2) {
        req.response().setStatusCode(503).end();
      } else {
        received.add(body.toJsonObject());
        signatures.add(req.getHeader("X-Vipfarm-Signature") + "|" + body);
        req.response().setStatusCode(204).end();
      }
    })).listen(0, "127.0.0.1"));
    String url = "http://127.0.0.1:" + receiver.actualPort() + "/hook";

    HttpResponse<Buffer> created = http.admin(HttpMethod.POST, "/api/v1/webhooks",
        new JsonObject().put("url", url).put("types", new JsonArray().add("session.started")).encode());
    assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
    String id = created.bodyAsJsonObject().getString("id");
    String secret = created.bodyAsJsonObject().getString("secret");
    assertThat(secret).hasSizeGreaterThan(40);

    EventSink sink = new EventSink(vertx);
    sink.emit(VipfarmEvent.submit(VipfarmEvent.SESSION_ENDED, "h1", "5", Map.of("user", "alice")));
    sink.emit(VipfarmEvent.submit(VipfarmEvent.SESSION_STARTED, "h1", "6", Map.of("user", "carol")));
    waitUntil(() -> received.size() == 1 && http.get("/api/v1/webhooks/" + id).bodyAsJsonObject()
        .getJsonObject("status").getInteger("delivered") == 1);

    assertThat(received.get(0).getString("type")).isEqualTo("session.started");
    assertThat(received.get(0).getJsonObject("data").getString("user")).isEqualTo("carol");
    String[] signatureAndBody = signatures.get(0).split("\\|", 2);
    assertThat(signatureAndBody[0]).isEqualTo("sha256=" + WebhookDispatcher.sign(secret, Buffer.buffer(signatureAndBody[1])));
    assertThat(calls.get()).isEqualTo(3);
    assertThat((arrivals.get(2) - arrivals.get(1)) / 1_000_000).isGreaterThanOrEqualTo(95); // 50 ms, then 100 ms
    JsonObject hook = http.get("/api/v1/webhooks/" + id).bodyAsJsonObject();
    assertThat(hook.containsKey("secret")).isFalse();
    JsonObject delivery = hook.getJsonObject("status").getJsonArray("deliveries").getJsonObject(0);
    assertThat(delivery.getInteger("attempts")).isEqualTo(3);
    assertThat(delivery.getString("outcome")).isEqualTo("delivered");
    assertThat(hook.getJsonObject("status").getString("lastError")).isEqualTo("HTTP 503");
    assertThat(http.get("/api/v1/webhooks").bodyAsJsonArray()).hasSize(1);

    for (String bad : List.of("ftp://127.0.0.1/x", "http://10.0.0.1/hook", "http://example.com/hook", "not a url")) {
      assertThat(problem(http.admin(HttpMethod.POST, "/api/v1/webhooks", new JsonObject().put("url", bad).encode()),
          400, "invalid_field").getString("field")).as(bad).isEqualTo("url");
    }
    assertThat(problem(http.admin(HttpMethod.POST, "/api/v1/webhooks",
        new JsonObject().put("url", url).put("types", new JsonArray().add("nope")).encode()), 400, "invalid_field")
        .getString("field")).isEqualTo("types[0]");
    assertThat(http.get("/api/v1/webhooks").bodyAsJsonArray()).hasSize(1);
    assertThat(http.admin(HttpMethod.DELETE, "/api/v1/webhooks/" + id, null).statusCode()).isEqualTo(204);
    problem(http.get("/api/v1/webhooks/" + id), 404, "not_found");
  }

  @Test
  @DisplayName("a delivery that keeps failing stops after the bounded attempts and counts as failed")
  void webhookGivesUp() {
    HttpServer receiver = await(vertx.createHttpServer().requestHandler(req -> req.response().setStatusCode(500).end())
        .listen(0, "127.0.0.1"));
    String id = http.admin(HttpMethod.POST, "/api/v1/webhooks", new JsonObject()
        .put("url", "http://127.0.0.1:" + receiver.actualPort() + "/").encode()).bodyAsJsonObject().getString("id");
    new EventSink(vertx).emit(VipfarmEvent.submit(VipfarmEvent.HOST_JOINED, "h9", null, Map.of()));
    waitUntil(() -> http.get("/api/v1/webhooks/" + id).bodyAsJsonObject().getJsonObject("status").getInteger("failed") == 1);
    JsonObject status = http.get("/api/v1/webhooks/" + id).bodyAsJsonObject().getJsonObject("status");
    assertThat(status.getJsonArray("deliveries").getJsonObject(0).getInteger("attempts")).isEqualTo(4);
    assertThat(status.getInteger("retrying")).isZero();
    assertThat(status.getInteger("delivered")).isZero();
  }

  @Test
  @DisplayName("WebSocket: filtered by user, resumes with ?after=, needs a token")
  void webSocket() {
    WebSocketClient ws = vertx.createWebSocketClient();
    List<JsonObject> messages = new CopyOnWriteArrayList<>();
    WebSocketConnectOptions options = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(gateway.actualPort())
        .setURI("/api/v1/events/ws?user=alice&after=0").addHeader("Authorization", "Bearer " + ADMIN_TOKEN);
    // on one Vert.x context, so that each handler is in place before the first frame (GatewayClient.awaitOn)
    io.vertx.core.Context context = vertx.getOrCreateContext();
    var socket = awaitOn(context,
        () -> ws.connect(options).onSuccess(s -> s.textMessageHandler(text -> messages.add(new JsonObject(text)))));
    EventSink sink = new EventSink(vertx);
    sink.emit(VipfarmEvent.submit(VipfarmEvent.SESSION_STARTED, "h1", "1", Map.of("user", "alice")));
    sink.emit(VipfarmEvent.submit(VipfarmEvent.SESSION_STARTED, "h1", "2", Map.of("user", "bob")));
    sink.emit(VipfarmEvent.submit(VipfarmEvent.SESSION_ENDED, "h1", "1", Map.of("user", "alice")));
    waitUntil(() -> messages.size() == 2);
    assertThat(messages.stream().map(m -> m.getString("type"))).containsExactly("session.started", "session.ended");
    long firstId = messages.get(0).getLong("id");
    await(socket.close());

    List<JsonObject> resumed = new CopyOnWriteArrayList<>();
    awaitOn(context, () -> ws.connect(new WebSocketConnectOptions(options).setURI("/api/v1/events/ws?after=" + firstId))
        .onSuccess(s -> s.textMessageHandler(text -> resumed.add(new JsonObject(text)))));
    waitUntil(() -> resumed.size() == 2);
    assertThat(resumed.get(0).getJsonObject("data").getString("user")).isEqualTo("bob");
    assertThat(resumed.get(1).getLong("id")).isEqualTo(messages.get(1).getLong("id"));

    var refused = ws.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(gateway.actualPort())
        .setURI("/api/v1/events/ws"));
    assertThat(awaitFailure(refused)).contains("401");
  }

  @Test
  @DisplayName("TLS from PEM files: a real HTTPS client trusting the self-signed cert gets through")
  void tls(@TempDir Path dir) throws Exception {
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    Process openssl = new ProcessBuilder("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key.toString(),
        "-out", cert.toString()).redirectErrorStream(true).start();
    assertThat(openssl.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(openssl.exitValue()).as(new String(openssl.getInputStream().readAllBytes())).isZero();

    GatewayVerticle secure = deployGateway(new GatewayConfig("127.0.0.1", 0, ADMIN_TOKEN).withTls(cert, key));
    GatewayClient https = client(secure, true, cert);
    assertThat(https.anonymousGet("/health").statusCode()).isEqualTo(200);
    assertThat(https.get("/api/v1/hosts").bodyAsJsonArray()).hasSize(2);
    // Plain HTTP to the TLS port gets no HTTP answer.
    GatewayClient plain = client(secure, false, null);
    assertThat(awaitFailure(WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
        .setDefaultPort(secure.actualPort())).get("/health").send())).isNotEmpty();
    assertThat(plain).isNotNull();
  }

  @Test
  @DisplayName("/ready is 200 with every check when the farm is there, 503 naming the failed check otherwise")
  void readiness() {
    HttpResponse<Buffer> ready = http.anonymousGet("/ready");
    assertThat(ready.statusCode()).as(ready.bodyAsString()).isEqualTo(200);
    assertThat(ready.bodyAsJsonObject().getJsonObject("checks").fieldNames())
        .containsExactly("cluster", "policyService", "allocationService", "eventLog");

    GatewayVerticle needsTwo = deployGateway(new GatewayConfig("127.0.0.1", 0, ADMIN_TOKEN).withMinClusterMembers(2));
    JsonObject notReady = problem(client(needsTwo, false, null).anonymousGet("/ready"), 503, "service_unavailable");
    assertThat(notReady.getString("detail")).contains("cluster");
    assertThat(notReady.getJsonObject("checks").getJsonObject("cluster").getBoolean("ok")).isFalse();
    assertThat(notReady.getJsonObject("checks").getJsonObject("eventLog").getBoolean("ok")).isTrue();
  }

  private static String awaitFailure(io.vertx.core.Future<?> future) {
    try {
      future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      return String.valueOf(e.getMessage());
    }
    throw new AssertionError("expected a failure");
  }

  static void waitUntil(BooleanSupplier condition) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 20 s");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
