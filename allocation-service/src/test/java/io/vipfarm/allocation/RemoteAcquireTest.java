package io.vipfarm.allocation;

import static io.vipfarm.allocation.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Acquires from another member's Vert.x: the request and the lease cross the clustered event bus in the
 * wire form of {@code RecordCodec} (the service runs on member 0 only, the client on member 1).
 */
class RemoteAcquireTest {
  private static List<HazelcastInstance> members;
  private static final List<Vertx> vertxes = new ArrayList<>();

  @BeforeAll
  static void start() {
    // members configured as a farm's (vertx-hazelcast's defaults, the node id attribute the cluster manager needs)
    String name = "vipfarm-remote-" + UUID.randomUUID();
    int base = 16701 + ThreadLocalRandom.current().nextInt(0, 400) * 5;
    List<String> addresses = List.of("127.0.0.1:" + base, "127.0.0.1:" + (base + 1));
    members = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      members.add(Hazelcast.newHazelcastInstance(ClusterMemberMain.config(name, "127.0.0.1", base + i, addresses, 1)));
    }
    for (HazelcastInstance member : members) {
      vertxes.add(result(Vertx.builder()
          .with(new VertxOptions().setEventBusOptions(
              new EventBusOptions().setHost("127.0.0.1").setPort(0).setClusterPublicHost("127.0.0.1")))
          .withClusterManager(new HazelcastClusterManager(member))
          .buildClustered()));
    }
    result(vertxes.get(0).deployVerticle(new AllocationVerticle(members.get(0))));
  }

  @AfterAll
  static void stop() {
    vertxes.forEach(v -> result(v.close()));
    members.forEach(HazelcastInstance::shutdown);
  }

  @Test
  @DisplayName("acquire, renew and release from a member without the service: the records and the lease events cross the wire intact")
  void acquireFromAnotherMember() throws InterruptedException {
    AllocationService remote = AllocationService.client(EventBusClient.fixed(vertxes.get(1), Addresses.ALLOCATION));
    // the event log's place: member 1, so that the service's lease events cross the wire too
    List<VipfarmEvent> events = new CopyOnWriteArrayList<>();
    result(vertxes.get(1).eventBus().consumer(Addresses.EVENTS_SUBMIT, msg -> events.add(EventSink.read(msg.body())))
        .completion());
    result(remote.putPool(new PoolSpec("remote", "127.130.0.0/24", null, null, 60)));
    List<Future<Lease>> acquires = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      acquires.add(remote.acquire(new AcquireRequest("remote", new LeaseKey("host-ü", "boot", "s" + i, i % 2 == 0 ? null : "crm"), "user" + i)));
    }
    result(Future.all(acquires));
    for (int i = 0; i < 50; i++) {
      Lease lease = acquires.get(i).result();
      assertThat(lease.address()).startsWith("127.130.0.");
      assertThat(lease.pool()).isEqualTo("remote");
      assertThat(lease.key()).isEqualTo(new LeaseKey("host-ü", "boot", "s" + i, i % 2 == 0 ? null : "crm"));
      assertThat(lease.user()).isEqualTo("user" + i);
      assertThat(lease.expiresAt() - lease.grantedAt()).isEqualTo(60_000);
    }
    assertThat(acquires).extracting(f -> f.result().address()).doesNotHaveDuplicates();
    Lease first = acquires.get(0).result();
    assertThat(result(remote.renew(LeaseRef.of(first))).fence()).isEqualTo(first.fence());
    assertThat(result(remote.acquire(new AcquireRequest("remote", first.key(), first.user())))).isEqualTo(
        result(remote.leases(io.vipfarm.api.model.AllocationQuery.all())).stream()
            .filter(l -> l.address().equals(first.address())).findFirst().orElseThrow());
    assertThat(result(remote.release(LeaseRef.of(first))).released()).isTrue();

    long deadline = System.nanoTime() + 10_000_000_000L;
    while (events.stream().noneMatch(e -> e.type().equals(VipfarmEvent.LEASE_RELEASED)) && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    for (int i = 0; i < 50; i++) {
      Lease lease = acquires.get(i).result();
      List<VipfarmEvent> grants = events.stream()
          .filter(e -> e.type().equals(VipfarmEvent.LEASE_GRANTED) && lease.key().sessionId().equals(e.sessionId())).toList();
      assertThat(grants).hasSize(1);
      VipfarmEvent granted = grants.get(0);
      assertThat(granted.hostId()).isEqualTo("host-ü");
      assertThat(granted.data()).containsEntry("pool", "remote").containsEntry("address", lease.address())
          .containsEntry("fence", lease.fence()).containsEntry("expiresAt", lease.expiresAt())
          .containsEntry("bootId", "boot").containsEntry("user", "user" + i);
      assertThat(granted.data().get("program")).isEqualTo(lease.key().program());
    }
  }

  @Test
  @DisplayName("a member that runs the event log submits its own lease events to it: none crosses to the other member's")
  void leaseEventsStayWithTheLocalEventLog() throws InterruptedException {
    List<VipfarmEvent> here = new CopyOnWriteArrayList<>();
    List<VipfarmEvent> there = new CopyOnWriteArrayList<>();
    var local = vertxes.get(0).eventBus().consumer(Addresses.EVENTS_SUBMIT, msg -> here.add(EventSink.read(msg.body())));
    var remote = vertxes.get(1).eventBus().consumer(Addresses.EVENTS_SUBMIT, msg -> there.add(EventSink.read(msg.body())));
    result(local.completion());
    result(remote.completion());
    EventSink.eventLogRunsHere(vertxes.get(0), true);
    try {
      AllocationService service = AllocationService.client(EventBusClient.fixed(vertxes.get(0), Addresses.ALLOCATION));
      result(service.putPool(new PoolSpec("local-log", "127.131.0.0/24", null, null, 60)));
      for (int i = 0; i < 20; i++) {
        result(service.acquire(new AcquireRequest("local-log", new LeaseKey("host-l", "boot", "l" + i, null), "u")));
      }
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (here.stream().filter(e -> e.type().equals(VipfarmEvent.LEASE_GRANTED)).count() < 20
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      Thread.sleep(200); // any event sent the other way has arrived by now
      assertThat(here).filteredOn(e -> e.type().equals(VipfarmEvent.LEASE_GRANTED)).hasSize(20);
      assertThat(there).as("a clustered send would have given the other member about half").isEmpty();
    } finally {
      EventSink.eventLogRunsHere(vertxes.get(0), false);
      result(local.unregister());
      result(remote.unregister());
    }
  }
}
