package io.vipfarm.allocation;

import static io.vipfarm.allocation.Await.failure;
import static io.vipfarm.allocation.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.instance.impl.HazelcastInstanceProxy;
import com.hazelcast.map.IMap;
import com.hazelcast.spi.impl.operationservice.impl.OperationServiceImpl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.ConsistencyReport;
import io.vipfarm.api.model.ConsistencyReport.Anomaly;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Stickiness, exhaustion of full pools and the consistency check, on one real member. */
class BlockAllocationServiceTest {
  private static HazelcastInstance hazelcast;
  private static Vertx vertx;
  private static HazelcastAllocationService service;

  @BeforeAll
  static void start() {
    hazelcast = TestHazelcast.standalone();
    vertx = Vertx.vertx();
    service = new HazelcastAllocationService(vertx, hazelcast, e -> { }, System::currentTimeMillis);
  }

  @AfterAll
  static void stop() {
    result(vertx.close());
    hazelcast.shutdown();
  }

  private static AcquireRequest request(String pool, String session, String user) {
    return new AcquireRequest(pool, new LeaseKey("h", "b", session, null), user);
  }

  @Test
  @DisplayName("sticky: a user's next session gets the address of the last one while it is free; reservations still win")
  void sticky() {
    result(service.putPool(new PoolSpec("sticky", "127.121.0.0/24", null, Map.of("rita", "127.121.0.77"), 60)));
    Lease first = result(service.acquire(request("sticky", "1", "alice")));
    result(service.release(LeaseRef.of(first)));
    for (int i = 0; i < 5; i++) {
      result(service.acquire(request("sticky", "other-" + i, "bob" + i)));
    }
    assertThat(result(service.acquire(request("sticky", "2", "alice"))).address()).isEqualTo(first.address());
    // while alice's second session holds it, her third gets another address
    assertThat(result(service.acquire(request("sticky", "3", "alice"))).address()).isNotEqualTo(first.address());
    // rita's last address was elsewhere: her reservation wins over stickiness
    Lease ritaOther = result(service.acquire(request("sticky", "r1", "rita")));
    assertThat(ritaOther.address()).isEqualTo("127.121.0.77");
    assertThat(result(service.check()).anomalies()).filteredOn(a -> a.pool().equals("sticky")).isEmpty();
  }

  @Test
  @DisplayName("a key seen before (the grant comes before the index): a re-acquire, also from a full pool, and concurrent acquires of one key get one lease; a stale entry's address is preferred")
  void knownKeys() {
    result(service.putPool(new PoolSpec("again", "127.126.0.0/24", null, null, 60)));
    Lease first = result(service.acquire(request("again", "k1", "amy")));
    Lease again = result(service.acquire(request("again", "k1", "amy")));
    assertThat(again.address()).isEqualTo(first.address());
    assertThat(again.fence()).isEqualTo(first.fence());
    assertThat(result(service.getPool("again")).used()).isEqualTo(1);

    // sixteen acquires of one new key at once: one lease, and the grants of the losers were given back
    List<Future<Lease>> racing = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      racing.add(service.acquire(request("again", "k2", "bea")));
    }
    result(Future.all(racing));
    assertThat(racing).extracting(f -> f.result().address() + "@" + f.result().fence()).containsOnly(
        racing.get(0).result().address() + "@" + racing.get(0).result().fence());
    assertThat(result(service.getPool("again")).used()).isEqualTo(2);

    // an entry whose lease is gone (a member died between grant and bind, say): its address is preferred
    int stale = Ipv4Address.parse("127.126.0.200").bits();
    hazelcast.<String, LeaseIndex.HostEntries>getMap(AllocationMaps.LEASE_INDEX).executeOnKey("h",
        new LeaseIndex.Bind(LeaseIndex.key("again", new LeaseHolder("h", "b", "k3", null)), null, new LeaseIndex.Location(stale, 12345)));
    Lease k3 = result(service.acquire(request("again", "k3", "cy")));
    assertThat(k3.address()).isEqualTo("127.126.0.200");
    assertThat(result(service.acquire(request("again", "k3", "cy"))).fence()).isEqualTo(k3.fence());

    // a full pool still gives a key its own lease back (and refuses a new key)
    for (int i = 0; i < 251; i++) {
      result(service.acquire(request("again", "fill" + i, null)));
    }
    assertThat(result(service.getPool("again")).free()).isZero();
    assertThat(failure(service.acquire(request("again", "new", null))).type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
    Lease fromFull = result(service.acquire(request("again", "k1", "amy")));
    assertThat(fromFull.address()).isEqualTo(first.address());
    assertThat(fromFull.fence()).isEqualTo(first.fence());
    assertThat(result(service.check()).anomalies()).filteredOn(a -> a.pool().equals("again")).isEmpty();
  }

  @Test
  @DisplayName("a full /24 answers POOL_EXHAUSTED at once, again and again, and the next release makes room")
  void fullSlash24() {
    result(service.putPool(new PoolSpec("full24", "127.122.0.0/24", null, null, 60)));
    Lease any = null;
    for (int i = 0; i < 254; i++) {
      any = result(service.acquire(request("full24", "s" + i, null)));
    }
    for (int i = 0; i < 20; i++) {
      long t = System.nanoTime();
      assertThat(failure(service.acquire(request("full24", "more" + i, null))).type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
      assertThat(System.nanoTime() - t).as("exhausted answer time").isLessThan(5_000_000_000L);
    }
    result(service.release(LeaseRef.of(any)));
    assertThat(result(service.acquire(request("full24", "after", null))).address()).isEqualTo(any.address());
    assertThat(result(service.getPool("full24")).free()).isZero();
  }

  @Test
  @DisplayName("a full /16 (1024 full blocks) answers POOL_EXHAUSTED quickly: one refresh, no scan per request, no spin")
  void fullSlash16() {
    result(service.putPool(new PoolSpec("full16", "127.123.0.0/16", null, null, 3600)));
    IMap<String, PoolRecord> pools = hazelcast.getMap(AllocationMaps.POOLS);
    IMap<BlockKey, AddressBlock> blocks = hazelcast.getMap(AllocationMaps.BLOCKS);
    PoolRecord record = pools.get("full16");
    long now = System.currentTimeMillis();
    // fill every block through its own allocate (the block rules hold), written in bulk to save time
    Map<BlockKey, AddressBlock> full = new HashMap<>();
    for (int number : blockNumbers(record.definition())) {
      pools.executeOnKey("full16", PoolRecordProcessors.OnRecord.claim(record.incarnation(), number));
      AddressBlock block = AddressBlock.create("full16", record.incarnation(), number, record.generation(),
          BlockRules.of(record.definition(), number), now);
      int i = 0;
      while (block.allocate(new LeaseHolder("h", "b", number + "-" + i++, null), null, null, now).is(BlockReply.Outcome.GRANTED)) {
        // fill
      }
      full.put(new BlockKey("full16", number), block);
    }
    blocks.putAll(full);
    assertThat(result(service.getPool("full16")).free()).isZero();
    for (int i = 0; i < 10; i++) {
      long t = System.nanoTime();
      assertThat(failure(service.acquire(request("full16", "more" + i, null))).type()).isEqualTo(ErrorType.POOL_EXHAUSTED);
      assertThat(System.nanoTime() - t).as("exhausted answer time on a full /16").isLessThan(5_000_000_000L);
    }
  }

  @Test
  @DisplayName("acquires that meet the same new block at once share its creation instead of each claiming and creating it")
  void newBlockCreatedOnce() {
    result(service.putPool(new PoolSpec("burst", "127.127.0.0/16", null, null, 600)));
    long before = executedOperations();
    // 64 acquires in flight for a while, as in a burst of logins: each that meets a missing block waits
    // for the one creation of it instead of claiming and creating it itself
    List<Future<List<Lease>>> chains = new ArrayList<>();
    for (int c = 0; c < 64; c++) {
      chains.add(acquireInTurn("burst", "c" + c + "-", 32, new ArrayList<>()));
    }
    List<Lease> leases = new ArrayList<>();
    result(Future.all(chains)).<List<Lease>>list().forEach(leases::addAll);
    double perAcquire = (executedOperations() - before) / (double) leases.size();
    // measured: 1.13 (a bind each, the grants batched per block, ~3 operations per block created);
    // 1.83-1.91 when every acquire that met a missing block claimed and created it itself
    assertThat(perAcquire).as("Hazelcast operations per acquire").isLessThan(1.5);
    assertThat(leases).hasSize(64 * 32).extracting(Lease::address).doesNotHaveDuplicates();
    assertThat(result(service.check()).anomalies()).filteredOn(a -> a.pool().equals("burst")).isEmpty();
  }

  @Test
  @DisplayName("the next empty blocks exist before the hosts that move on to them ask: created ahead, a few, not more")
  void blocksCreatedAhead() throws InterruptedException {
    result(service.putPool(new PoolSpec("ahead", "127.131.0.0/20", null, null, 600)));
    IMap<BlockKey, AddressBlock> blocks = hazelcast.getMap(AllocationMaps.BLOCKS);
    int opened = AddressBlock.numberOf(Ipv4Address.parse(
        result(service.acquire(new AcquireRequest("ahead", new LeaseKey("h0", "b", "s", null), null))).address()).bits());
    List<Integer> ahead = awaitBlocks(blocks, "ahead", 1 + BlockHints.CREATE_AHEAD);
    ahead.remove(Integer.valueOf(opened));

    // the next hosts fill the opened block's share; the one after moves on to an empty block
    for (int h = 1; h <= BlockHints.HOSTS_PER_BLOCK; h++) {
      Lease lease = result(service.acquire(new AcquireRequest("ahead", new LeaseKey("h" + h, "b", "s", null), null)));
      int block = AddressBlock.numberOf(Ipv4Address.parse(lease.address()).bits());
      if (h < BlockHints.HOSTS_PER_BLOCK) {
        assertThat(block).isEqualTo(opened);
      } else {
        assertThat(ahead).as("the block the moving host got existed before it asked").contains(block);
      }
    }
    assertThat(awaitBlocks(blocks, "ahead", 2 + BlockHints.CREATE_AHEAD)).hasSize(2 + BlockHints.CREATE_AHEAD);
    Thread.sleep(200);
    assertThat(blocks.keySet()).as("no more than that").filteredOn(k -> k.pool().equals("ahead"))
        .hasSize(2 + BlockHints.CREATE_AHEAD);
    assertThat(result(service.check()).anomalies()).filteredOn(a -> a.pool().equals("ahead")).isEmpty();
  }

  /** The numbers of the pool's blocks once there are {@code count} (creation ahead runs in the background). */
  private static List<Integer> awaitBlocks(IMap<BlockKey, AddressBlock> blocks, String pool, int count)
      throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    List<Integer> numbers = new ArrayList<>();
    while (System.nanoTime() < deadline) {
      numbers.clear();
      blocks.keySet().stream().filter(k -> k.pool().equals(pool)).forEach(k -> numbers.add(k.number()));
      if (numbers.size() >= count) {
        return numbers;
      }
      Thread.sleep(10);
    }
    throw new AssertionError("pool " + pool + " has blocks " + numbers + ", expected " + count);
  }

  @Test
  @DisplayName("a block created after the delete it was claimed before has ended is dropped again, and its acquire fails")
  void blockBroughtBackIsDropped() throws Exception {
    // the service under test sees the real member through a proxy that, at its first block creation,
    // lets a second service (its own Vert.x, the same member) delete the pool in full first: a claim
    // made just before a delete began, whose creation arrives after the delete's sweep
    Vertx other = Vertx.vertx();
    HazelcastAllocationService deleter = new HazelcastAllocationService(other, hazelcast, e -> { }, System::currentTimeMillis);
    AtomicBoolean once = new AtomicBoolean();
    HazelcastInstance delayed = BeforeCreate.proxy(hazelcast, () -> {
      if (once.compareAndSet(false, true)) {
        result(deleter.deletePool("late"));
      }
    });
    HazelcastAllocationService late = new HazelcastAllocationService(vertx, delayed, e -> { }, System::currentTimeMillis);
    try {
      result(late.putPool(new PoolSpec("late", "127.129.0.0/24", null, null, 600)));
      assertThat(failure(late.acquire(request("late", "s", null))).type()).isEqualTo(ErrorType.UNKNOWN_POOL);
      assertThat(once).isTrue();
      IMap<BlockKey, AddressBlock> blocks = hazelcast.getMap(AllocationMaps.BLOCKS);
      // the blocks the acquire had started creating ahead may still be on their way: each is dropped
      // once its confirming read finds the pool gone, as the acquire's own was
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (blocks.keySet().stream().anyMatch(k -> k.pool().equals("late")) && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(blocks.keySet()).filteredOn(k -> k.pool().equals("late")).isEmpty();
      // the acquire that failed left nothing behind in the key index either
      assertThat(result(service.check()).anomalies()).filteredOn(a -> a.pool().equals("late")).isEmpty();
      // the range is free again
      result(service.putPool(new PoolSpec("after-late", "127.129.0.0/24", null, null, 600)));
      assertThat(result(service.acquire(request("after-late", "s", null))).address()).startsWith("127.129.0.");
    } finally {
      result(other.close());
    }
  }

  private static Future<List<Lease>> acquireInTurn(String pool, String prefix, int count, List<Lease> done) {
    if (done.size() == count) {
      return Future.succeededFuture(done);
    }
    return service.acquire(request(pool, prefix + done.size(), null)).compose(lease -> {
      done.add(lease);
      return acquireInTurn(pool, prefix, count, done);
    });
  }

  /** Hazelcast operations this member has run (internal, but the one count that covers entry processors). */
  private static long executedOperations() {
    return ((OperationServiceImpl) ((HazelcastInstanceProxy) hazelcast).getOriginal().node.getNodeEngine()
        .getOperationService()).getExecutedOperationCount();
  }

  private static int[] blockNumbers(PoolDefinition definition) {
    int first = AddressBlock.numberOf(definition.cidr().base());
    int count = (int) (definition.cidr().size() / AddressBlock.SIZE);
    int[] out = new int[count];
    for (int i = 0; i < count; i++) {
      out[i] = first + i;
    }
    return out;
  }

  @Test
  @DisplayName("the check finds corruption written straight into the maps, one anomaly of each kind")
  void checkFindsCorruption() {
    result(service.putPool(new PoolSpec("corrupt", "127.124.0.0/24", List.of("127.124.0.200"), Map.of("rita", "127.124.0.100", "ann", "127.124.0.10"), 600)));
    result(service.putPool(new PoolSpec("neighbour", "127.125.0.0/24", null, null, 600)));
    // ann's reservation pins the good lease to block .0/26, which the corruption below never replaces
    Lease good = result(service.acquire(request("corrupt", "good", "ann")));
    assertThat(good.address()).isEqualTo("127.124.0.10");
    assertThat(result(service.check()).anomalies()).filteredOn(a -> a.pool().equals("corrupt")).isEmpty();

    IMap<BlockKey, AddressBlock> blocks = hazelcast.getMap(AllocationMaps.BLOCKS);
    IMap<String, PoolRecord> pools = hazelcast.getMap(AllocationMaps.POOLS);
    PoolRecord record = pools.get("corrupt");
    long now = System.currentTimeMillis();
    long later = now + 600_000;
    int base = Ipv4Address.parse("127.124.0.0").bits();
    // block .192/26: a lease on the excluded .200, one on rita's .100? (.100 is in block .64/26)
    AddressBlock high = AddressBlock.create("corrupt", record.incarnation(), AddressBlock.numberOf(base + 192),
        record.generation(), BlockRules.of(record.definition(), AddressBlock.numberOf(base + 192)), now);
    high.corruptSlot(8, new HeldLease(base + 200, new LeaseHolder("h", "b", "x1", null), "eve", 1, now, later), true);
    high.corruptSlot(9, new HeldLease(base + 201, new LeaseHolder("h", "b", "x2", null), "eve", 2, now, later), false);
    blocks.put(new BlockKey("corrupt", AddressBlock.numberOf(base + 192)), high);
    AddressBlock mid = AddressBlock.create("corrupt", record.incarnation(), AddressBlock.numberOf(base + 64),
        record.generation(), BlockRules.of(record.definition(), AddressBlock.numberOf(base + 64)), now);
    mid.corruptSlot(36, new HeldLease(base + 100, new LeaseHolder("h", "b", "x3", null), "mallory", 3, now, later), true);
    // the same address as the good lease, in the neighbour pool's name: a duplicate address
    mid.corruptSlot(37, new HeldLease(Ipv4Address.parse(good.address()).bits(), new LeaseHolder("h", "b", "x4", null), "zed", 4, now, later), true);
    blocks.put(new BlockKey("corrupt", AddressBlock.numberOf(base + 64)), mid);
    hazelcast.<String, LeaseIndex.HostEntries>getMap(AllocationMaps.LEASE_INDEX).executeOnKey("h",
        new LeaseIndex.Bind(LeaseIndex.key("corrupt", new LeaseHolder("h", "b", "ghost", null)), null, new LeaseIndex.Location(base + 5, 99)));

    ConsistencyReport report = result(service.check());
    List<String> types = report.anomalies().stream().map(Anomaly::type).toList();
    assertThat(types).contains(ConsistencyReport.EXCLUDED_ADDRESS, ConsistencyReport.RESERVED_FOR_OTHER,
        ConsistencyReport.USED_COUNT_MISMATCH, ConsistencyReport.INDEX_MISMATCH, ConsistencyReport.OUTSIDE_POOL,
        ConsistencyReport.DUPLICATE_ADDRESS);
    assertThat(report.anomalies()).anySatisfy(a -> {
      assertThat(a.type()).isEqualTo(ConsistencyReport.EXCLUDED_ADDRESS);
      assertThat(a.address()).isEqualTo("127.124.0.200");
    });
    assertThat(report.anomalies()).anySatisfy(a -> {
      assertThat(a.type()).isEqualTo(ConsistencyReport.RESERVED_FOR_OTHER);
      assertThat(a.detail()).contains("rita");
    });
    assertThat(report.anomalies()).anySatisfy(a -> assertThat(a.detail()).contains("ghost"));
    assertThat(report.isClean()).isFalse();
  }
}
