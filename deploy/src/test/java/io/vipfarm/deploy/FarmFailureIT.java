package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A real local farm ({@code deploy/farm-local.sh}: 3 control members, 2 agents connected through the TLS
 * agent bridge, 5 processes) and real kill -9s: first a control member that an agent is connected to,
 * then an agent. One farm for both, in order, because starting five JVMs is the expensive part.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FarmFailureIT {
  private static final String POOL = "farm";
  /**
   * Long enough that a renewal survives a request timing out (10 s) while the event bus still routes to the
   * killed member; the agent test then shortens it.
   */
  private static final int LEASE_SECONDS = 30;
  private static final int SHORT_LEASE_SECONDS = 10;
  private static final int AGENT_GRACE_SECONDS = 8;
  private static final Pattern GATEWAY_LINE = Pattern.compile("^(control-\\d) gateway (http://\\S+)$", Pattern.MULTILINE);
  private static final Pattern CONNECTED = Pattern.compile("connected to control member (\\S+):\\d+ through the bridge");

  private final String token = "farm-it-" + UUID.randomUUID();
  private final Map<String, String> gateways = new LinkedHashMap<>();
  /** Members this class killed: a process just sent kill -9 may still look alive (exiting, or not yet reaped). */
  private final Set<String> killedMembers = new HashSet<>();
  private Path farm;
  private Path script;

  @BeforeAll
  void upTheFarm() throws Exception {
    script = Path.of(System.getProperty("vipfarm.bin")).getParent().getParent().resolve("farm-local.sh");
    farm = Path.of("target", "farm-it-" + UUID.randomUUID().toString().substring(0, 8)).toAbsolutePath();
    String out = farmLocal(Duration.ofMinutes(5), "up");
    Matcher m = GATEWAY_LINE.matcher(out);
    while (m.find()) {
      gateways.put(m.group(1), m.group(2));
    }
    assertThat(gateways).as(out).hasSize(3);
    GatewayClient any = gateway("control-1");
    assertThat(any.put("/api/v1/pools/" + POOL, new JsonObject().put("cidr", "127.120.0.0/16")
        .put("leaseSeconds", LEASE_SECONDS)).status()).isEqualTo(200);
    JsonObject policy = new JsonObject().put("priority", 1)
        .put("match", new JsonObject().put("hosts", new JsonArray().add("*")).put("users", new JsonArray().add("*")))
        .put("virtualLoopback", new JsonObject().put("enabled", true))
        .put("virtualIp", new JsonObject().put("enabled", true).put("mode", "per-session").put("pool", POOL)
            .put("onExhausted", "refuse"));
    assertThat(any.put("/api/v1/policies/farm", policy).status()).isEqualTo(200);
  }

  @AfterAll
  void downTheFarm() throws Exception {
    if (farm != null) {
      System.out.println(farmLocal(Duration.ofMinutes(2), "down"));
    }
  }

  @Test
  @Order(1)
  void killingAControlMemberAnAgentUsesLosesNoAllocation() throws Exception {
    // the victim: the member agent-1 is connected to; the gateway we poll: one that survives
    String victimAddress = connectedMember("agent-1");
    String victim = "control-" + victimAddress.substring(victimAddress.lastIndexOf('.') + 1);
    String survivor = gateways.keySet().stream().filter(c -> !c.equals(victim)).findFirst().orElseThrow();
    GatewayClient gateway = gateway(survivor);

    startSessions(gateway, 0, 200);
    Map<String, String> before = allocations(gateway);
    assertThat(before).hasSize(200);

    AtomicBoolean polling = new AtomicBoolean(true);
    AtomicInteger healthChecks = new AtomicInteger();
    AtomicBoolean killed = new AtomicBoolean();
    AtomicInteger checksSinceKill = new AtomicInteger();
    List<String> healthFailures = new ArrayList<>();
    // a thread of its own: the common pool has one thread on a 2-core host, and the HTTP client needs it too
    Thread poller = new Thread(() -> {
      while (polling.get()) {
        String failure;
        try {
          GatewayClient.Reply r = gateway.get("/api/v1/hosts");
          failure = r.status() == 200 ? null : r.status() + " " + r.body();
        } catch (RuntimeException e) {
          failure = e.toString();
        }
        healthChecks.incrementAndGet();
        if (killed.get()) {
          checksSinceKill.incrementAndGet();
        }
        if (failure != null) {
          synchronized (healthFailures) {
            healthFailures.add(failure);
          }
        }
        sleep(200);
      }
    }, "gateway-poller");
    poller.start();
    Poll.until("the poller running", Duration.ofSeconds(30), () -> healthChecks.get() >= 3);

    long victimPid = pid(victim);
    new ProcessBuilder("kill", "-9", Long.toString(victimPid)).start().waitFor();
    killedMembers.add(victim);
    killed.set(true);
    System.out.printf("killed %s (pid %d), agent-1's member; polling %s%n", victim, victimPid, survivor);

    // agent-1 fails over to another member and serves again
    Poll.until("agent-1 connected to another member", Duration.ofSeconds(60),
        () -> !connectedMember("agent-1").equals(victimAddress));
    Poll.until("both agents reachable through " + survivor, Duration.ofSeconds(60), () -> {
      JsonArray hosts = gateway.get("/api/v1/hosts").array();
      return hosts.size() == 2 && hosts.stream().allMatch(h -> ((JsonObject) h).getBoolean("reachable"));
    });
    Map<String, String> after = allocations(gateway);
    assertThat(after).as("the same 200 allocations after the kill").isEqualTo(before);

    int retried = startSessions(gateway, 1000, 100);
    Map<String, String> all = allocations(gateway);
    assertThat(all).hasSize(300);
    assertThat(new HashSet<>(all.values())).as("addresses are unique").hasSize(300);

    Poll.until("the poller asking after the failover too", Duration.ofSeconds(30), () -> checksSinceKill.get() >= 10);
    polling.set(false);
    poller.join(30_000);
    System.out.printf("gateway %s answered %d checks, %d of them after the kill; %d of 100 new sessions needed a"
        + " retry%n", survivor, healthChecks.get(), checksSinceKill.get(), retried);
    assertThat(healthFailures).as("the surviving gateway answers throughout").isEmpty();
  }

  @Test
  @Order(2)
  void killingAnAgentEndsItsSessionsAndItsLeasesExpire() throws Exception {
    String alive = gateways.keySet().stream().filter(c -> !killedMembers.contains(c) && isAlive(c)).findFirst()
        .orElseThrow();
    GatewayClient gateway = gateway(alive);
    List<String> sessions = gateway.get("/api/v1/hosts/agent-2/sessions?limit=5000").array().stream()
        .map(s -> ((JsonObject) s).getString("sessionId")).toList();
    assertThat(sessions).isNotEmpty();
    assertThat(gateway.put("/api/v1/pools/" + POOL, new JsonObject().put("cidr", "127.120.0.0/16")
        .put("leaseSeconds", SHORT_LEASE_SECONDS)).status()).isEqualTo(200);
    Poll.until("agent-2's leases renewed for " + SHORT_LEASE_SECONDS + " s", Duration.ofSeconds(60),
        () -> latestExpiry(gateway, "agent-2") - System.currentTimeMillis() <= (SHORT_LEASE_SECONDS + 1) * 1000L);
    Map<String, String> othersBefore = allocations(gateway);
    othersBefore.keySet().removeIf(k -> k.startsWith("agent-2/"));

    // the events of agent-2's end, read live from the gateway while it happens
    ExecutorService reader = Executors.newSingleThreadExecutor();
    Future<List<String>> ended = reader.submit(() -> gateway.events(
        "/api/v1/events?types=host.left,session.ended&host=agent-2", null, sessions.size() + 1, 120));
    sleep(1_000); // the subscription is in place

    long killedAt = System.currentTimeMillis();
    new ProcessBuilder("kill", "-9", Long.toString(pid("agent-2"))).start().waitFor();
    long lastExpiry = latestExpiry(gateway, "agent-2");
    assertThat(gateway.get("/api/v1/allocations?host=agent-2&limit=5000").array()).as("held until their TTL")
        .hasSize(sessions.size());
    // within the grace the host is listed as unreachable, with its sessions and its last heartbeat
    JsonObject[] silent = new JsonObject[1];
    Poll.until("agent-2 listed as unreachable", Duration.ofSeconds(AGENT_GRACE_SECONDS - 2), () -> {
      silent[0] = gateway.get("/api/v1/hosts").array().stream().map(h -> (JsonObject) h)
          .filter(h -> "agent-2".equals(h.getString("hostId")) && !h.getBoolean("reachable")).findFirst().orElse(null);
      return silent[0] != null;
    });
    assertThat(silent[0].getInteger("sessions")).isEqualTo(sessions.size());
    assertThat(silent[0].getLong("lastHeartbeat")).isBetween(killedAt - 5_000, killedAt + 1_000);

    Poll.until("agent-2's leases expired", Duration.ofSeconds(90),
        () -> gateway.get("/api/v1/allocations?host=agent-2").array().isEmpty());
    long goneAt = System.currentTimeMillis();
    long expiredAfterMs = goneAt - killedAt;
    List<String> events = ended.get(120, TimeUnit.SECONDS);
    reader.shutdownNow();
    System.out.printf("agent-2 killed: leases gone after %d ms (TTL %d s), %d events%n", expiredAfterMs,
        SHORT_LEASE_SECONDS, events.size());
    assertThat(goneAt).as("the last lease is held until its TTL runs out").isGreaterThanOrEqualTo(lastExpiry - 200);
    assertThat(events.stream().filter(e -> e.contains(" host.left ")).count()).isEqualTo(1);
    assertThat(events.stream().filter(e -> e.contains(" session.ended ")).map(e -> e.substring(e.lastIndexOf(' ') + 1)))
        .containsExactlyInAnyOrderElementsOf(sessions);
    assertThat(allocations(gateway)).as("agent-1's leases are untouched").isEqualTo(othersBefore);

    farmLocal(Duration.ofSeconds(30), "start", "agent-2");
    Poll.until("agent-2 back", Duration.ofSeconds(120), () -> gateway.get("/api/v1/hosts").array().stream()
        .anyMatch(h -> "agent-2".equals(((JsonObject) h).getString("hostId")) && ((JsonObject) h).getBoolean("reachable")));
    sleep(2_000); // let a renewal round pass
    JsonArray hosts = gateway.get("/api/v1/hosts").array();
    assertThat(hosts.stream().map(h -> ((JsonObject) h).getString("hostId")).toList())
        .as("one record per host").containsExactlyInAnyOrder("agent-1", "agent-2");
    List<String> readopted = gateway.get("/api/v1/hosts/agent-2/sessions?limit=5000").array().stream()
        .map(s -> ((JsonObject) s).getString("sessionId")).toList();
    assertThat(readopted).as("each session once").doesNotHaveDuplicates();
    Map<String, String> all = allocations(gateway);
    assertThat(new HashSet<>(all.values())).as("no address twice").hasSize(all.size());
    assertThat(all.keySet().stream().filter(k -> k.startsWith("agent-2/")).count()).isLessThanOrEqualTo(sessions.size());
    JsonObject check = gateway.get("/api/v1/allocations/check").json();
    assertThat(check.getJsonArray("anomalies", new JsonArray())).as(check.encode()).isEmpty();
  }

  // ---- helpers

  /** Starts sessions first..first+count-1, alternating agents; returns how many needed a retry (503 while partitions move). */
  private int startSessions(GatewayClient gateway, int first, int count) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(6);
    AtomicInteger retried = new AtomicInteger();
    try {
      List<Future<GatewayClient.Reply>> replies = new ArrayList<>();
      for (int i = first; i < first + count; i++) {
        String host = i % 2 == 0 ? "agent-1" : "agent-2";
        JsonObject body = new JsonObject().put("sessionId", Integer.toString(i)).put("user", "user" + i);
        replies.add(pool.submit(() -> {
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
          GatewayClient.Reply r = gateway.post("/api/v1/hosts/" + host + "/sessions", body);
          while (r.status() == 503 && System.nanoTime() < deadline) {
            retried.incrementAndGet();
            sleep(500);
            r = gateway.post("/api/v1/hosts/" + host + "/sessions", body);
          }
          return r;
        }));
      }
      for (Future<GatewayClient.Reply> r : replies) {
        GatewayClient.Reply reply = r.get(60, TimeUnit.SECONDS);
        assertThat(reply.status()).as(reply.body()).isEqualTo(201);
        assertThat(reply.json().getJsonArray("virtualIps")).hasSize(1);
      }
    } finally {
      pool.shutdownNow();
    }
    return retried.get();
  }

  /** "host/session" to address, over every page; fails on a (host, session) listed twice. */
  private static Map<String, String> allocations(GatewayClient gateway) {
    Map<String, String> out = new LinkedHashMap<>();
    JsonArray rows = gateway.get("/api/v1/allocations?pool=" + POOL + "&limit=5000").array();
    Set<String> seen = new HashSet<>();
    for (Object o : rows) {
      JsonObject row = (JsonObject) o;
      String key = row.getString("host") + "/" + row.getString("sessionId");
      assertThat(seen.add(key)).as("listed twice: " + key).isTrue();
      out.put(key, row.getString("address"));
    }
    return out;
  }

  /** The latest expiry (epoch millis) of the host's leases. */
  private static long latestExpiry(GatewayClient gateway, String host) {
    return gateway.get("/api/v1/allocations?host=" + host + "&limit=5000").array().stream()
        .mapToLong(a -> Instant.parse(((JsonObject) a).getString("expiresAt")).toEpochMilli()).max().orElse(0);
  }

  private GatewayClient gateway(String control) {
    return new GatewayClient(gateways.get(control), token);
  }

  /** The control address the agent's newest "connected" log line names. */
  private String connectedMember(String agent) {
    try {
      Matcher m = CONNECTED.matcher(Files.readString(farm.resolve("logs/" + agent + ".log")));
      String last = "";
      while (m.find()) {
        last = m.group(1);
      }
      return last;
    } catch (IOException e) {
      return "";
    }
  }

  private long pid(String name) throws IOException {
    return Long.parseLong(Files.readString(farm.resolve("pids/" + name + ".pid")).trim());
  }

  private boolean isAlive(String name) {
    try {
      return ProcessHandle.of(pid(name)).map(ProcessHandle::isAlive).orElse(false);
    } catch (IOException e) {
      return false;
    }
  }

  private String farmLocal(Duration limit, String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("bash", script.toString()));
    command.addAll(List.of(args));
    Path log = Files.createDirectories(farm).resolve("farm-local-" + args[0] + ".out");
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("VIPFARM_FARM_DIR", farm.toString());
    pb.environment().put("VIPFARM_ADMIN_TOKEN", token);
    pb.environment().put("VIPFARM_FARM_AGENT_GRACE", Integer.toString(AGENT_GRACE_SECONDS));
    Process p = pb.start();
    if (!p.waitFor(limit.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("farm-local.sh " + String.join(" ", args) + " did not finish: " + Files.readString(log));
    }
    String out = Files.readString(log);
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
