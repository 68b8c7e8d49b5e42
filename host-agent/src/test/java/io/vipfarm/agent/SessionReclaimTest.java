package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vipfarm.allocation.AllocationMaps;
import io.vipfarm.allocation.AllocationVerticle;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.api.model.VirtualIpView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A host agent that goes away without ending its sessions (a crash, modelled by
 * {@link HostAgentVerticle#abandonOnStop}) and a new agent started on the same run dir, against the real
 * allocation service on a standalone Hazelcast member in this JVM.
 */
class SessionReclaimTest {
  private static final String HOST = "host-r";
  private static final AgentTimings TIMINGS =
      new AgentTimings(Duration.ofSeconds(5), Duration.ofMillis(200), Duration.ofSeconds(5));

  private static HazelcastInstance hazelcast;
  private Vertx vertx;
  private Path runDir;
  private FakePolicyService policy;
  private AllocationService allocation;
  private HostAgentService agent;
  private final List<VipfarmEvent> events = new CopyOnWriteArrayList<>();
  private final Map<HostAgentVerticle, String> deployments = new HashMap<>();

  @BeforeAll
  static void startMember() {
    Config config = new Config().setClusterName("vipfarm-reclaim-" + UUID.randomUUID());
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.socket.bind.any", "false");
    config.getNetworkConfig().setPort(16000 + ThreadLocalRandom.current().nextInt(0, 4000)).setPortAutoIncrement(true);
    config.getNetworkConfig().getInterfaces().setEnabled(true).addInterface("127.0.0.1");
    JoinConfig join = config.getNetworkConfig().getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    AllocationMaps.configure(config);
    hazelcast = Hazelcast.newHazelcastInstance(config);
  }

  @AfterAll
  static void stopMember() {
    hazelcast.shutdown();
  }

  @BeforeEach
  void setUp(@TempDir Path temp) throws Exception {
    vertx = Vertx.vertx();
    runDir = temp.resolve("run");
    await(vertx.eventBus()
        .<Object>consumer(Addresses.EVENTS_SUBMIT, msg -> events.add(EventSink.read(msg.body())))
        .completion());
    hazelcast.getMap("vipfarm.allocation.pools").clear();
    await(vertx.deployVerticle(new AllocationVerticle(hazelcast)));
    policy = new FakePolicyService();
    await(vertx.deployVerticle(policy));
    allocation = AllocationService.client(EventBusClient.fixed(vertx, Addresses.ALLOCATION));
    agent = HostAgentService.client(EventBusClient.fixed(vertx, Addresses.agent(HOST)));
  }

  @AfterEach
  void tearDown() throws Exception {
    await(vertx.close());
  }

  private static EffectivePolicy vipFrom(String pool) {
    return new EffectivePolicy(true, List.of("*"), List.of(), true, VipMode.PER_SESSION, pool, List.of(),
        OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of("test"));
  }

  private HostAgentVerticle deployAgent(String bootId) throws Exception {
    HostAgentVerticle verticle =
        new HostAgentVerticle(new AgentConfig(HOST, bootId, runDir, List.of("127.1.2.3"), AgentConfig.PRELOAD), TIMINGS);
    String id = await(vertx.deployVerticle(verticle));
    deployments.put(verticle, id);
    return verticle;
  }

  /** The agent goes away as a crashed process would: sessions, files and leases stay as they are. */
  private void crash(HostAgentVerticle verticle) throws Exception {
    verticle.abandonOnStop();
    await(vertx.undeploy(deployments.remove(verticle)));
  }

  private Path rules(String sessionId) {
    return runDir.resolve("sessions").resolve(sessionId + ".rules");
  }

  private Path journal(String sessionId) {
    return runDir.resolve("sessions").resolve(sessionId + ".session.json");
  }

  private List<Lease> leasesOf(String host) throws Exception {
    return await(allocation.leases(new AllocationQuery(host, null, null, null, null)));
  }

  private static String vip(SessionView view) {
    return view.virtualIps().get(0).address();
  }

  private long started(String sessionId) {
    return events.stream()
        .filter(e -> e.type().equals(VipfarmEvent.SESSION_STARTED) && sessionId.equals(e.sessionId())).count();
  }

  @Test
  @DisplayName("same boot id: the new agent re-adopts its sessions with the same addresses and fences, keeps"
      + " their rules, re-leases a lost lease by its key, and never takes an address from a live lease")
  void sameBootReadopts() throws Exception {
    await(allocation.putPool(new PoolSpec("pair", "127.100.7.0/30", null, null, 60)));
    await(allocation.putPool(new PoolSpec("solo", "127.100.8.1/32", null, null, 60)));
    HostAgentVerticle first = deployAgent("boot-1");
    policy.answer(vipFrom("pair"));
    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of("sales"))));
    SessionView eight = await(agent.startSession(new SessionRequest("8", "bob", List.of())));
    policy.answer(vipFrom("solo"));
    SessionView nine = await(agent.startSession(new SessionRequest("9", "carol", List.of())));
    String rules7 = Files.readString(rules("7"));
    assertThat(Files.getPosixFilePermissions(journal("7"))).isEqualTo(PosixFilePermissions.fromString("rw-------"));
    List<Lease> before = leasesOf(HOST);
    assertThat(before).hasSize(3);

    crash(first);
    assertThat(Files.exists(rules("7")) && Files.exists(journal("7"))).isTrue();
    assertThat(leasesOf(HOST)).as("a crash releases nothing").isEqualTo(before);
    // while the agent is away: 8's lease ends (as on expiry) and another host's session takes its
    // address, the only free one of the pair; 9's lease ends and its address stays free
    Lease lease8 = before.stream().filter(l -> l.key().sessionId().equals("8")).findFirst().orElseThrow();
    Lease lease9 = before.stream().filter(l -> l.key().sessionId().equals("9")).findFirst().orElseThrow();
    assertThat(await(allocation.release(LeaseRef.of(lease8))).released()).isTrue();
    assertThat(await(allocation.release(LeaseRef.of(lease9))).released()).isTrue();
    Lease other = await(allocation.acquire(new AcquireRequest("pair", new LeaseKey("host-o", "b", "1", null), "dan")));
    assertThat(other.address()).isEqualTo(vip(eight));

    deployAgent("boot-1");
    SessionView seven2 = await(agent.getSession("7"));
    assertThat(seven2.loopbackAddress()).isEqualTo("127.0.0.8");
    assertThat(seven2.virtualIps()).extracting(VirtualIpView::address).containsExactly(vip(seven));
    assertThat(seven2.vipStatus()).isEqualTo("leased");
    assertThat(Files.readString(rules("7"))).as("rules kept").isEqualTo(rules7);
    SessionView eight2 = await(agent.getSession("8"));
    assertThat(eight2.virtualIps()).as("8's address is another host's now: not taken back").isEmpty();
    assertThat(eight2.vipStatus()).isEqualTo("fallback-host-ip");
    assertThat(Files.readString(rules("8"))).doesNotContain(vip(eight));
    SessionView nine2 = await(agent.getSession("9"));
    assertThat(nine2.virtualIps()).extracting(VirtualIpView::address).as("same key, still free: same address")
        .containsExactly(vip(nine));

    List<Lease> after = leasesOf(HOST);
    assertThat(after).extracting(l -> l.key().sessionId()).containsExactlyInAnyOrder("7", "9");
    Lease seven2Lease = after.stream().filter(l -> l.key().sessionId().equals("7")).findFirst().orElseThrow();
    Lease sevenLease = before.stream().filter(l -> l.key().sessionId().equals("7")).findFirst().orElseThrow();
    assertThat(seven2Lease.fence()).as("renewed under its fence, not granted again").isEqualTo(sevenLease.fence());
    assertThat(leasesOf("host-o")).singleElement().isEqualTo(other);
    List<Lease> all = await(allocation.leases(AllocationQuery.all()));
    assertThat(all.stream().map(Lease::address).distinct().count()).isEqualTo(all.size());
    assertThat(await(agent.listSessions())).extracting(SessionView::sessionId).containsExactly("7", "8", "9");
    assertThat(started("7")).as("no second session.started").isEqualTo(1);
    assertThat(started("9")).isEqualTo(1);

    // and it is a live session like any other: ending it releases its lease and forgets it
    await(agent.endSession("7"));
    assertThat(Files.exists(journal("7")) || Files.exists(rules("7"))).isFalse();
    assertThat(leasesOf(HOST)).extracting(l -> l.key().sessionId()).containsExactly("9");
  }

  @Test
  @DisplayName("another boot id (the host rebooted): nothing is inherited, the stale files are deleted")
  void newBootStartsClean() throws Exception {
    await(allocation.putPool(new PoolSpec("pool", "127.100.9.0/29", null, null, 60)));
    policy.answer(vipFrom("pool"));
    HostAgentVerticle first = deployAgent("boot-1");
    SessionView seven = await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    crash(first);

    deployAgent("boot-2");
    assertThat(await(agent.listSessions())).isEmpty();
    assertThat(Files.exists(journal("7")) || Files.exists(rules("7"))).isFalse();
    // the member is shared by this class's tests: look at this test's pool only
    List<Lease> old = leasesOf(HOST).stream().filter(l -> l.pool().equals("pool")).toList();
    assertThat(old).as("the old boot's lease is left to expire, not adopted").singleElement()
        .satisfies(l -> assertThat(l.key().bootId()).isEqualTo("boot-1"));

    SessionView again = await(agent.startSession(new SessionRequest("7", "alice", List.of())));
    assertThat(vip(again)).isNotEqualTo(vip(seven));
    assertThat(leasesOf(HOST).stream().filter(l -> l.pool().equals("pool"))).extracting(l -> l.key().bootId()).containsExactlyInAnyOrder("boot-1", "boot-2");
    assertThat(started("7")).isEqualTo(2);
  }

  private static <T> T await(Future<T> future) throws Exception {
    try {
      return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception cause) {
        throw cause;
      }
      throw e;
    }
  }
}
