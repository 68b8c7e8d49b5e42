package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.servicediscovery.ServiceDiscoveryOptions;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.deploy.bridge.BridgeClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A control member with its agent bridge and an agent in another (non-clustered) Vert.x, over real TLS:
 * the agent serves its sessions through the bridge; an agent with another host's certificate cannot act
 * for that host; a connection without a farm certificate gets nothing.
 */
class AgentBridgeTest {
  @TempDir Path tmp;
  private VipfarmNode control;
  private VipfarmNode agent;
  private Vertx intruder;
  private Vertx agentSide;

  @AfterEach
  void stop() {
    if (intruder != null) {
      intruder.close();
    }
    if (agentSide != null) {
      agentSide.close();
    }
    if (agent != null) {
      agent.closeAndWait(30);
    }
    if (control != null) {
      control.closeAndWait(30);
    }
  }

  @Test
  @DisplayName("an agent serves its host through the bridge and no other host's")
  void agentsActOnlyForTheirOwnHost() throws Exception {
    FarmCa ca = FarmCa.init(tmp.resolve("ca"));
    int bridgePort = FreePort.pick();
    control = startControl(ca, bridgePort, 3);
    agent = start(new NodeOptions(Role.AGENT, "127.0.0.1", 0, "h1", tmp.resolve("a/data"), tmp.resolve("a/run"),
        "unused", 0, List.of(), "127.0.0.1", null, null, List.of(), 1, false,
        new BridgeSettings(0, ca.agent("h1"), List.of("127.0.0.1:" + bridgePort), 3)));
    GatewayClient gateway = new GatewayClient(control.gatewayPort(), "token");
    assertThat(gateway.put("/api/v1/pools/default", new JsonObject().put("cidr", "127.100.9.0/24")).status()).isEqualTo(200);
    assertThat(gateway.put("/api/v1/policies/vip", new JsonObject().put("priority", 5)
        .put("virtualIp", new JsonObject().put("enabled", true).put("pool", "default"))).status()).isEqualTo(200);
    Poll.until("h1 listed", Duration.ofSeconds(30), () -> gateway.get("/api/v1/hosts").body().contains("\"h1\""));

    GatewayClient.Reply started = gateway.post("/api/v1/hosts/h1/sessions",
        new JsonObject().put("sessionId", "7").put("user", "alice"));
    assertThat(started.status()).as(started.body()).isEqualTo(201);
    assertThat(gateway.get("/api/v1/allocations?host=h1").array()).hasSize(1);

    // h2's certificate, acting for h1
    intruder = Vertx.vertx();
    BridgeClient h2 = new BridgeClient(intruder, ca.agent("h2"), List.of("127.0.0.1:" + bridgePort), "h2");
    onContext(intruder, () -> h2.start()).get(30, TimeUnit.SECONDS);
    AcquireRequest forH1 = new AcquireRequest("default", new LeaseKey("h1", "boot", "99", null), "mallory");
    ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () ->
        onContext(intruder, () -> h2.request(Addresses.ALLOCATION, AllocationService.Actions.ACQUIRE,
            Json.toJson(forH1), 5_000)).get(10, TimeUnit.SECONDS));
    assertThat(refused.getCause()).isInstanceOf(ReplyException.class);
    assertThat(((ReplyException) refused.getCause()).failureCode()).isEqualTo(ErrorType.FORBIDDEN.code());
    AtomicInteger stolen = new AtomicInteger();
    onContext(intruder, () -> {
      h2.register(Addresses.agent("h1"), frame -> stolen.incrementAndGet());
      h2.send(Addresses.EVENTS_SUBMIT, Json.toJson(VipfarmEvent.submit(VipfarmEvent.HOST_LEFT, "h1", null, Map.of())));
      return io.vertx.core.Future.succeededFuture();
    }).get(10, TimeUnit.SECONDS);
    for (int i = 0; i < 5; i++) {
      assertThat(gateway.get("/api/v1/hosts/h1/sessions/7").status()).isEqualTo(200);
    }
    assertThat(stolen.get()).as("requests for h1 never reach h2").isZero();
    assertThat(gateway.get("/api/v1/allocations?session=99").array()).isEmpty();
    // its own host's lease it may take
    AcquireRequest forH2 = new AcquireRequest("default", new LeaseKey("h2", "boot", "1", null), "bob");
    Object lease = onContext(intruder, () -> h2.request(Addresses.ALLOCATION, AllocationService.Actions.ACQUIRE,
        Json.toJson(forH2), 5_000)).get(10, TimeUnit.SECONDS);
    assertThat(((JsonObject) lease).getString("address")).startsWith("127.100.9.");
    List<String> h1Events = gateway.events("/api/v1/events?host=h1&types=host.joined,host.left", "0", 1, 10);
    assertThat(h1Events).as("no forged host.left").allMatch(e -> e.contains("host.joined"));

    // a TLS client without a certificate gets no frame: the handshake fails (TLS 1.2) or the bridge closes
    // the connection right after it (TLS 1.3, where the client learns of the refusal only afterwards)
    CompletableFuture<String> refusedAnonymous = new CompletableFuture<>();
    onContext(intruder, () -> intruder.createNetClient(new NetClientOptions().setSsl(true)
        .setHostnameVerificationAlgorithm("HTTPS").setTrustOptions(new PemTrustOptions().addCertPath(ca.ca().toString())))
        .connect(bridgePort, "127.0.0.1")
        .onSuccess(anonymous -> {
          // set on the socket's own context as it opens, so a close that comes at once is not missed
          anonymous.handler(frame -> refusedAnonymous.completeExceptionally(
              new AssertionError("a frame for a client without a certificate: " + frame)));
          anonymous.closeHandler(v -> refusedAnonymous.complete("closed by the bridge"));
          anonymous.write(io.vertx.core.buffer.Buffer.buffer().appendInt(15).appendString("{\"type\":\"ping\"}"));
        })
        .onFailure(handshake -> refusedAnonymous.complete("handshake failed: " + handshake))
        .<Void>mapEmpty().otherwiseEmpty());
    assertThat(refusedAnonymous.get(10, TimeUnit.SECONDS)).isNotNull();

    // a clean stop: the agent ends its session and says it leaves; the bridge adds no second host.left
    agent.closeAndWait(30);
    agent = null;
    Poll.until("h1 withdrawn", Duration.ofSeconds(10), () -> !gateway.get("/api/v1/hosts").body().contains("\"h1\""));
    assertThat(gateway.get("/api/v1/allocations?host=h1").array()).isEmpty();
    Thread.sleep(5_000); // longer than the 3 s grace plus a sweep
    for (String type : List.of("host.left", "session.ended")) {
      String path = "/api/v1/events?host=h1&types=" + type;
      assertThat(gateway.events(path, "0", 1, 10)).hasSize(1);
      assertThatThrownBy(() -> gateway.events(path, "0", 2, 3)).as("a second " + type)
          .isInstanceOf(AssertionError.class).hasMessageContaining("got 1 of 2");
    }
  }

  @Test
  @DisplayName("an agent that connects again is never without a record: the new one comes before the old one goes")
  void aReconnectingAgentAlwaysHasARecord() throws Exception {
    FarmCa ca = FarmCa.init(tmp.resolve("ca"));
    int bridgePort = FreePort.pick();
    control = startControl(ca, bridgePort, 30);
    // h1's records as Service Discovery announces them: how many are up after each change
    List<String> changes = new CopyOnWriteArrayList<>();
    AtomicInteger up = new AtomicInteger();
    CompletableFuture<Void> watching = new CompletableFuture<>();
    control.vertx().runOnContext(v -> control.vertx().eventBus().<JsonObject>consumer(
        ServiceDiscoveryOptions.DEFAULT_ANNOUNCE_ADDRESS, msg -> {
          JsonObject record = msg.body();
          if ("h1".equals(record.getJsonObject("metadata", new JsonObject()).getString(Addresses.META_HOST_ID))) {
            int now = "UP".equals(record.getString("status")) ? up.incrementAndGet() : up.decrementAndGet();
            changes.add(record.getString("status") + " -> " + now);
          }
        }).completion().onComplete(ar -> watching.complete(null)));
    watching.get(10, TimeUnit.SECONDS);
    GatewayClient gateway = new GatewayClient(control.gatewayPort(), "token");

    // h1's agent: serves its address (an empty session list) and connects 3 times, the link dropping between
    agentSide = Vertx.vertx();
    for (int round = 1; round <= 3; round++) {
      BridgeClient h1 = new BridgeClient(agentSide, ca.agent("h1"), List.of("127.0.0.1:" + bridgePort), "h1");
      onContext(agentSide, () -> {
        h1.register(Addresses.agent("h1"), frame -> h1.reply(frame.getString("replyAddress"), new JsonArray()));
        return h1.start();
      }).get(30, TimeUnit.SECONDS);
      int published = round;
      Poll.until("h1's record of connection " + round, Duration.ofSeconds(30),
          () -> changes.stream().filter(c -> c.startsWith("UP")).count() == published && up.get() == 1);
      assertThat(gateway.get("/api/v1/hosts").array().stream().map(h -> ((JsonObject) h).getString("hostId")).toList())
          .containsExactly("h1");
      onContext(agentSide, h1::close).get(10, TimeUnit.SECONDS);
    }
    assertThat(changes).as("never no record of h1 once it had one: " + changes)
        .containsExactly("UP -> 1", "UP -> 2", "DOWN -> 1", "UP -> 2", "DOWN -> 1");
  }

  private static <T> CompletableFuture<T> onContext(Vertx vertx, java.util.function.Supplier<io.vertx.core.Future<T>> op) {
    CompletableFuture<T> result = new CompletableFuture<>();
    vertx.runOnContext(v -> op.get().onComplete(ar -> {
      if (ar.succeeded()) {
        result.complete(ar.result());
      } else {
        result.completeExceptionally(ar.cause());
      }
    }));
    return result;
  }

  /** A control member with an agent bridge on {@code bridgePort} that waits {@code agentGraceSeconds} for a silent agent. */
  private VipfarmNode startControl(FarmCa ca, int bridgePort, int agentGraceSeconds) throws Exception {
    return start(new NodeOptions(Role.CONTROL, "127.0.0.1", 0, "unused", tmp.resolve("c/data"), tmp.resolve("c/run"),
        "bridge-" + UUID.randomUUID(), FreePort.pick(), List.of(), "127.0.0.1", null, null, List.of(), 1, false,
        new BridgeSettings(bridgePort, ca.control("c1", "127.0.0.1"), List.of(), agentGraceSeconds)));
  }

  private static VipfarmNode start(NodeOptions options) throws Exception {
    return VipfarmNode.start(options, "token").toCompletionStage().toCompletableFuture().get(120, TimeUnit.SECONDS);
  }
}
