package io.vipfarm.gateway;

import static io.vipfarm.gateway.GatewayClient.ADMIN_TOKEN;
import static io.vipfarm.gateway.GatewayClient.await;
import static io.vipfarm.gateway.GatewayClient.problem;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PoolSpec;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class GatewayApiTest {
  private static final String SESSION_7 = "{\"sessionId\":\"7\",\"user\":\"alice\",\"groups\":[\"sales\"]}";

  private static HazelcastInstance hazelcast;

  private Vertx vertx;
  private FakeHostAgent agent;
  private FakeAllocationService allocation;
  private FakePolicyService policy;
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
    agent = new FakeHostAgent("h1");
    allocation = new FakeAllocationService();
    policy = new FakePolicyService();
    await(vertx.deployVerticle(agent));
    await(vertx.deployVerticle(allocation));
    await(vertx.deployVerticle(policy));
    gateway = new GatewayVerticle(new GatewayConfig("127.0.0.1", 0, ADMIN_TOKEN), hazelcast);
    await(vertx.deployVerticle(gateway));
    http = new GatewayClient(vertx,
        new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(gateway.actualPort()));
  }

  @Nested
  @DisplayName("service routes")
  class Service {
    @Test
    @DisplayName("GET /health is 200 UP once started")
    void health() {
      HttpResponse<Buffer> response = http.get("/health");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.bodyAsJsonObject()).isEqualTo(new JsonObject().put("status", "UP"));
    }

    @Test
    @DisplayName("GET /openapi.yaml serves the contract the routes are built from")
    void contract() {
      HttpResponse<Buffer> response = http.get("/openapi.yaml");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.getHeader("Content-Type")).isEqualTo("application/yaml");
      assertThat(response.bodyAsString()).contains("openapi: 3.1.0", "operationId: startSession");
    }

    @Test
    @DisplayName("GET /metrics is Prometheus text counting responses")
    void metrics() {
      http.get("/health");
      http.admin(HttpMethod.PUT, "/api/v1/pools/default", "{\"cidr\":\"127.100.0.0/24\"}");
      HttpResponse<Buffer> response = http.get("/metrics");
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.bodyAsString())
          .contains("vipfarm_http_requests_seconds_count{method=\"GET\",operation=\"health\",status=\"200\"} ")
          .contains("vipfarm_event_subscribers{transport=\"sse\"} 0")
          .contains("vipfarm_host_sessions{host=\"h1\"} 0")
          .contains("vipfarm_pool_leases_free{pool=\"default\"} 255");
    }

    @Test
    @DisplayName("an unknown route is a 404 problem, a known path with the wrong method a 405 problem")
    void unknownRouteAndWrongMethod() {
      problem(http.get("/api/v1/nothing-here"), 404, "not_found");
      problem(http.admin(HttpMethod.PATCH, "/api/v1/pools/default", "{}"), 405, "method_not_allowed");
      problem(http.admin(HttpMethod.DELETE, "/api/v1/hosts", null), 405, "method_not_allowed");
    }

    @Test
    @DisplayName("the admin token never shows in the config's string form")
    void configRedactsToken() {
      assertThat(new GatewayConfig("127.0.0.1", 0, ADMIN_TOKEN).toString()).doesNotContain(ADMIN_TOKEN);
    }
  }

  @Nested
  @DisplayName("access control")
  class AccessControlTests {
    @Test
    @DisplayName("a mutation without a token is 401 with WWW-Authenticate: Bearer and changes nothing")
    void missingToken() {
      HttpResponse<Buffer> response = http.send(HttpMethod.POST, "/api/v1/hosts/h1/sessions", null, SESSION_7);
      problem(response, 401, "unauthorized");
      assertThat(response.getHeader("WWW-Authenticate")).startsWith("Bearer");
      assertThat(agent.sessions).isEmpty();
    }

    @Test
    @DisplayName("a wrong token, or another scheme, is 401 on every kind of mutation")
    void wrongToken() {
      problem(http.send(HttpMethod.POST, "/api/v1/hosts/h1/sessions", "Bearer nope", SESSION_7), 401, "unauthorized");
      problem(http.send(HttpMethod.POST, "/api/v1/hosts/h1/sessions", "Basic " + ADMIN_TOKEN, SESSION_7), 401,
          "unauthorized");
      problem(http.send(HttpMethod.PUT, "/api/v1/pools/p", "Bearer " + ADMIN_TOKEN + "x",
          "{\"cidr\":\"127.100.0.0/24\"}"), 401, "unauthorized");
      problem(http.send(HttpMethod.DELETE, "/api/v1/policies/p", "Bearer", null), 401, "unauthorized");
      assertThat(agent.sessions).isEmpty();
      assertThat(allocation.pools).isEmpty();
    }

    @Test
    @DisplayName("authentication comes before validation: a bad body without a token is still 401")
    void authBeforeValidation() {
      problem(http.send(HttpMethod.POST, "/api/v1/hosts/h1/sessions", null, "{not json"), 401, "unauthorized");
    }

    @Test
    @DisplayName("reads need a token too, except the probes and the contract")
    void readsNeedAToken() {
      for (String uri : List.of("/api/v1/pools", "/api/v1/policies", "/api/v1/hosts/h1/sessions", "/api/v1/hosts",
          "/api/v1/allocations", "/api/v1/sessions", "/metrics", "/api/v1/events")) {
        problem(http.anonymousGet(uri), 401, "unauthorized");
      }
      assertThat(http.get("/api/v1/pools").statusCode()).isEqualTo(200);
      assertThat(http.anonymousGet("/health").statusCode()).isEqualTo(200);
      assertThat(http.anonymousGet("/openapi.yaml").statusCode()).isEqualTo(200);
      assertThat(http.anonymousGet("/ready").statusCode()).isIn(200, 503);
    }
  }

  @Nested
  @DisplayName("hosts and sessions")
  class Sessions {
    @Test
    @DisplayName("POST starts a session: 201, Location, SessionView; GET, list and DELETE follow it")
    void sessionLifecycle() {
      HttpResponse<Buffer> created = http.admin(HttpMethod.POST, "/api/v1/hosts/h1/sessions", SESSION_7);
      assertThat(created.statusCode()).as(created.bodyAsString()).isEqualTo(201);
      assertThat(created.getHeader("Location")).isEqualTo("/api/v1/hosts/h1/sessions/7");
      JsonObject session = created.bodyAsJsonObject();
      assertThat(session.getString("loopbackAddress")).isEqualTo("127.0.0.8");
      assertThat(session.getJsonArray("virtualIps").getJsonObject(0).getString("address")).isEqualTo("127.100.0.7");
      assertThat(session.getJsonArray("groups")).isEqualTo(new JsonArray().add("sales"));

      assertThat(http.get("/api/v1/hosts/h1/sessions/7").bodyAsJsonObject()).isEqualTo(session);
      assertThat(http.get("/api/v1/hosts/h1/sessions").bodyAsJsonArray()).containsExactly(session);

      assertThat(http.admin(HttpMethod.DELETE, "/api/v1/hosts/h1/sessions/7", null).statusCode()).isEqualTo(204);
      problem(http.get("/api/v1/hosts/h1/sessions/7"), 404, "unknown_session");
      problem(http.admin(HttpMethod.DELETE, "/api/v1/hosts/h1/sessions/7", null), 404, "unknown_session");
    }

    @Test
    @DisplayName("a service failure keeps its type: the same session for another user is a 409")
    void serviceConflict() {
      http.admin(HttpMethod.POST, "/api/v1/hosts/h1/sessions", SESSION_7);
      problem(http.admin(HttpMethod.POST, "/api/v1/hosts/h1/sessions", "{\"sessionId\":\"7\",\"user\":\"bob\"}"),
          409, "session_exists");
    }

    @Test
    @DisplayName("an unknown host is a 404 on every session route")
    void unknownHost() {
      problem(http.get("/api/v1/hosts/nohost/sessions"), 404, "unknown_host");
      problem(http.get("/api/v1/hosts/nohost/sessions/7"), 404, "unknown_host");
      problem(http.admin(HttpMethod.POST, "/api/v1/hosts/nohost/sessions", SESSION_7), 404, "unknown_host");
      problem(http.admin(HttpMethod.DELETE, "/api/v1/hosts/nohost/sessions/7", null), 404, "unknown_host");
    }

    @Test
    @DisplayName("bad session bodies are 400 naming the field, and start nothing")
    void badSessionBodies() {
      String uri = "/api/v1/hosts/h1/sessions";
      assertThat(problem(http.admin(HttpMethod.POST, uri, "{\"user\":\"alice\"}"), 400, "invalid_field")
          .getString("field")).isEqualTo("sessionId");
      assertThat(problem(http.admin(HttpMethod.POST, uri, "{\"sessionId\":\"  \",\"user\":\"alice\"}"), 400,
          "invalid_field").getString("field")).isEqualTo("sessionId");
      assertThat(problem(http.admin(HttpMethod.POST, uri, "{\"sessionId\":\"7\"}"), 400, "invalid_field")
          .getString("field")).isEqualTo("user");
      assertThat(problem(http.admin(HttpMethod.POST, uri, "{\"sessionId\":7,\"user\":\"alice\"}"), 400,
          "invalid_field").getString("field")).isEqualTo("sessionId");
      assertThat(problem(http.admin(HttpMethod.POST, uri, "{\"sessionId\":\"7\",\"user\":\"alice\",\"x\":1}"), 400,
          "invalid_field").getString("field")).isEqualTo("x");
      assertThat(problem(http.admin(HttpMethod.POST, uri, "{\"sessionId\":\"7\",\"user\":\"a\",\"groups\":[1]}"),
          400, "invalid_field").getString("field")).isEqualTo("groups[0]");
      assertThat(problem(http.admin(HttpMethod.POST, uri, "{\"sessionId\":"), 400, "invalid_field")
          .getString("field")).isEqualTo("body");
      assertThat(problem(http.admin(HttpMethod.POST, uri, "[]"), 400, "invalid_field")
          .getString("field")).isEqualTo("body");
      assertThat(problem(http.admin(HttpMethod.POST, uri, null), 400, "invalid_field")
          .getString("field")).isEqualTo("body");
      assertThat(agent.sessions).isEmpty();
    }

    @Test
    @DisplayName("a body over 64 KiB is a 413 problem")
    void oversizedBody() {
      String huge = "{\"sessionId\":\"7\",\"user\":\"" + "a".repeat(70 * 1024) + "\"}";
      problem(http.admin(HttpMethod.POST, "/api/v1/hosts/h1/sessions", huge), 413, "payload_too_large");
      assertThat(agent.sessions).isEmpty();
    }

    @Test
    @DisplayName("GET /api/v1/hosts describes every published agent; a silent one is listed as unreachable")
    void listHosts() {
      ServiceDiscovery discovery = ServiceDiscovery.create(vertx);
      await(discovery.publish(ServiceLocator.record(Addresses.HOST_AGENT_SERVICE, Addresses.agent("h0-silent"),
          HostAgentService.class, new JsonObject().put(Addresses.META_HOST_ID, "h0-silent"))));

      JsonArray hosts = http.get("/api/v1/hosts").bodyAsJsonArray();

      assertThat(hosts).hasSize(2);
      assertThat(hosts.getJsonObject(0).getString("hostId")).isEqualTo("h0-silent");
      assertThat(hosts.getJsonObject(0).getString("interception")).isEqualTo("unreachable");
      assertThat(hosts.getJsonObject(1).getString("hostId")).isEqualTo("h1");
      assertThat(hosts.getJsonObject(1).getString("bootId")).isEqualTo("boot-1");
      discovery.close();
    }
  }

  @Nested
  @DisplayName("allocations")
  class Allocations {
    @Test
    @DisplayName("leases become rows with host, sessionId, program and an ISO-8601 UTC expiresAt")
    void allocationRows() {
      long expiresAt = Instant.parse("2030-01-02T03:04:05Z").toEpochMilli();
      allocation.leases.add(new Lease("127.100.0.7", "default", new LeaseKey("h1", "boot-1", "7", null), "alice",
          3, 1L, expiresAt));
      allocation.leases.add(new Lease("127.100.0.9", "default", new LeaseKey("h2", "boot-2", "9", "softphone"),
          "bob", 4, 1L, expiresAt));

      JsonArray rows = http.get("/api/v1/allocations?host=h1").bodyAsJsonArray();

      assertThat(rows).containsExactly(new JsonObject()
          .put("address", "127.100.0.7").put("pool", "default").put("host", "h1").put("sessionId", "7")
          .putNull("program").put("user", "alice").put("expiresAt", "2030-01-02T03:04:05Z"));
      assertThat(allocation.lastQuery.host()).isEqualTo("h1");
      assertThat(allocation.lastQuery.session()).isNull();
    }

    @Test
    @DisplayName("every filter reaches the allocation service")
    void allFilters() {
      http.get("/api/v1/allocations?host=h2&session=9&user=bob&pool=default&address=127.100.0.9");
      assertThat(allocation.lastQuery.host()).isEqualTo("h2");
      assertThat(allocation.lastQuery.session()).isEqualTo("9");
      assertThat(allocation.lastQuery.user()).isEqualTo("bob");
      assertThat(allocation.lastQuery.pool()).isEqualTo("default");
      assertThat(allocation.lastQuery.address()).isEqualTo("127.100.0.9");
    }
  }

  @Nested
  @DisplayName("pools")
  class Pools {
    @Test
    @DisplayName("PUT stores the pool under the path's name and answers with its utilization; DELETE is 204")
    void poolLifecycle() {
      HttpResponse<Buffer> put = http.admin(HttpMethod.PUT, "/api/v1/pools/default",
          "{\"cidr\":\"127.100.0.0/24\",\"exclude\":[\"127.100.0.1\"],\"reservations\":{\"alice\":\"127.100.0.50\"},"
              + "\"leaseSeconds\":60}");
      assertThat(put.statusCode()).as(put.bodyAsString()).isEqualTo(200);
      assertThat(put.bodyAsJsonObject().getLong("size")).isEqualTo(256);
      assertThat(put.bodyAsJsonObject().getLong("free")).isEqualTo(255);
      assertThat(allocation.pools.get("default")).isEqualTo(new PoolSpec("default", "127.100.0.0/24",
          List.of("127.100.0.1"), java.util.Map.of("alice", "127.100.0.50"), 60));

      assertThat(http.get("/api/v1/pools/default").bodyAsJsonObject().getString("cidr")).isEqualTo("127.100.0.0/24");
      assertThat(http.get("/api/v1/pools").bodyAsJsonArray()).hasSize(1);
      assertThat(http.admin(HttpMethod.DELETE, "/api/v1/pools/default", null).statusCode()).isEqualTo(204);
      problem(http.get("/api/v1/pools/default"), 404, "unknown_pool");
    }

    @Test
    @DisplayName("leaseSeconds defaults to 300")
    void defaultLeaseTime() {
      http.admin(HttpMethod.PUT, "/api/v1/pools/p", "{\"cidr\":\"127.101.0.0/24\"}");
      assertThat(allocation.pools.get("p").leaseSeconds()).isEqualTo(PoolSpec.DEFAULT_LEASE_SECONDS);
    }

    @Test
    @DisplayName("bad pool bodies are 400 naming the field, including the service's own validation")
    void badPoolBodies() {
      String uri = "/api/v1/pools/p";
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"exclude\":[]}"), 400, "invalid_field")
          .getString("field")).isEqualTo("cidr");
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"cidr\":\"x/1\",\"leaseSeconds\":\"long\"}"), 400,
          "invalid_field").getString("field")).isEqualTo("leaseSeconds");
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"cidr\":\"x/1\",\"name\":\"other\"}"), 400,
          "invalid_field").getString("field")).isEqualTo("name");
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"cidr\":\"x/1\",\"reservations\":{\"a\":1}}"), 400,
          "invalid_field").getString("field")).isEqualTo("reservations.a");
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"cidr\":\"nocidr\"}"), 400, "invalid_field")
          .getString("field")).isEqualTo("cidr");
      assertThat(allocation.pools).isEmpty();
    }

    @Test
    @DisplayName("without an allocation service the pools are 503, not a hang")
    void serviceMissing() {
      await(vertx.undeploy(allocation.deploymentID()));
      problem(http.get("/api/v1/pools"), 503, "service_unavailable");
    }
  }

  @Nested
  @DisplayName("policies")
  class Policies {
    private static final String POLICY = "{\"priority\":10,\"match\":{\"hosts\":[\"*\"],\"users\":[\"*\"],"
        + "\"groups\":[]},\"virtualLoopback\":{\"enabled\":true,\"programs\":[\"*\"],\"excludedPorts\":[]},"
        + "\"virtualIp\":{\"enabled\":true,\"mode\":\"per-session\",\"pool\":\"default\",\"programs\":[],"
        + "\"onExhausted\":\"fallback-host-ip\"},\"preferLoopback\":{\"processes\":[]}}";

    @Test
    @DisplayName("PUT takes the name from the path; GET, list and DELETE follow it")
    void policyLifecycle() {
      HttpResponse<Buffer> put = http.admin(HttpMethod.PUT, "/api/v1/policies/base", POLICY);
      assertThat(put.statusCode()).as(put.bodyAsString()).isEqualTo(200);
      assertThat(put.bodyAsJsonObject().getString("name")).isEqualTo("base");
      assertThat(policy.policies.get("base").virtualIp().pool()).isEqualTo("default");

      assertThat(http.get("/api/v1/policies/base").bodyAsJsonObject().getInteger("priority")).isEqualTo(10);
      assertThat(http.get("/api/v1/policies").bodyAsJsonArray()).hasSize(1);
      assertThat(http.admin(HttpMethod.DELETE, "/api/v1/policies/base", null).statusCode()).isEqualTo(204);
      problem(http.get("/api/v1/policies/base"), 404, "unknown_policy");
    }

    @Test
    @DisplayName("/policies/effective is its own route, not a policy named 'effective'")
    void effectiveIsNotAName() {
      policy.policies.put("effective", new PolicyDocument("effective", 1, null, null, null, null));
      HttpResponse<Buffer> response = http.get("/api/v1/policies/effective?host=h1&user=alice&groups=sales,%20ops");
      assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(200);
      assertThat(response.bodyAsJsonObject().getJsonArray("sources"))
          .isEqualTo(new JsonArray().add("host=h1").add("user=alice").add("group=sales").add("group=ops"));
      assertThat(response.bodyAsJsonObject().getString("vipMode")).isEqualTo("per-session");
    }

    @Test
    @DisplayName("/policies/effective without user is a 400 naming user")
    void effectiveNeedsUser() {
      assertThat(problem(http.get("/api/v1/policies/effective?host=h1"), 400, "invalid_field").getString("field"))
          .isEqualTo("user");
    }

    @Test
    @DisplayName("bad policy bodies are 400 naming the field")
    void badPolicyBodies() {
      String uri = "/api/v1/policies/base";
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"name\":\"other\"}"), 400, "invalid_field")
          .getString("field")).isEqualTo("name");
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"virtualIp\":{\"mode\":\"sometimes\"}}"), 400,
          "invalid_field").getString("field")).isEqualTo("virtualIp.mode");
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"virtualLoopback\":{\"excludedPorts\":[0]}}"), 400,
          "invalid_field").getString("field")).isEqualTo("virtualLoopback.excludedPorts[0]");
      assertThat(problem(http.admin(HttpMethod.PUT, uri, "{\"priority\":1.5}"), 400, "invalid_field")
          .getString("field")).isEqualTo("priority");
      assertThat(policy.policies).isEmpty();
    }
  }
}
