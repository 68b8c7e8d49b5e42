package io.vipfarm.allocation;

import static io.vipfarm.allocation.Await.result;
import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Paging inside the service ({@link HazelcastAllocationService#leasePage}) on one real member: every
 * page, walked with its cursor, gives exactly what {@link HazelcastAllocationService#leases} gives,
 * in the same order, for each way of finding the blocks (key index, an address, every claimed block).
 */
class LeasePageTest {
  private static HazelcastInstance hazelcast;
  private static Vertx vertx;
  private static HazelcastAllocationService service;

  @BeforeAll
  static void start() {
    hazelcast = TestHazelcast.standalone();
    vertx = Vertx.vertx();
    service = new HazelcastAllocationService(vertx, hazelcast, e -> { }, System::currentTimeMillis);
    // two pools, so that pages cross from one pool to the next; hosts interleave over the blocks
    result(service.putPool(new PoolSpec("page-a", "127.131.0.0/22", null, null, 600)));
    result(service.putPool(new PoolSpec("page-b", "127.132.0.0/22", null, null, 600)));
    List<Lease> some = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      String pool = i % 3 == 0 ? "page-b" : "page-a";
      some.add(result(service.acquire(new AcquireRequest(pool, new LeaseKey("h" + (i % 4), "boot", "s" + i, null),
          "u" + (i % 7)))));
    }
    // released leases leave holes and stale index entries are gone with them
    for (int i = 0; i < some.size(); i += 10) {
      result(service.release(LeaseRef.of(some.get(i))));
    }
  }

  @AfterAll
  static void stop() {
    result(vertx.close());
    hazelcast.shutdown();
  }

  /** Rows of every page, walked with the cursor; asserts each page's size and what it says about more. */
  private static List<JsonObject> walk(AllocationQuery query, int limit) {
    List<JsonObject> rows = new ArrayList<>();
    AllocationPageRequest request = AllocationPageRequest.first(query, limit);
    for (int pages = 0; pages < 1000; pages++) {
      AllocationPage page = result(service.leasePage(request));
      JsonArray array = new JsonArray(page.rowsText());
      assertThat(array.size()).isEqualTo(page.count()).isLessThanOrEqualTo(limit);
      array.forEach(row -> rows.add((JsonObject) row));
      if (!page.more()) {
        return rows;
      }
      assertThat(page.count()).as("a page followed by more is full").isEqualTo(limit);
      request = new AllocationPageRequest(query, limit, page.lastPool(), page.lastAddress());
    }
    throw new AssertionError("more than 1000 pages");
  }

  private static List<String> expected(AllocationQuery query) {
    return result(service.leases(query)).stream().map(l -> l.pool() + " " + l.address() + " " + l.key().hostId()
        + " " + l.key().sessionId() + " " + l.user()).toList();
  }

  private static List<String> seen(List<JsonObject> rows) {
    return rows.stream().map(r -> r.getString("pool") + " " + r.getString("address") + " " + r.getString("host")
        + " " + r.getString("sessionId") + " " + r.getString("user")).toList();
  }

  @Test
  @DisplayName("by host, user, session (key index), by address, by pool and unfiltered: the pages add up to leases()")
  void pagesAddUp() {
    List<AllocationQuery> queries = List.of(
        new AllocationQuery("h1", null, null, null, null),
        new AllocationQuery("h2", null, null, "page-a", null),
        new AllocationQuery("h3", null, null, "page-b", null),
        new AllocationQuery(null, null, "u2", "page-b", null),
        new AllocationQuery(null, null, "u3", null, null),
        new AllocationQuery("h0", "s4", null, null, null),
        new AllocationQuery(null, "s5", null, null, null),
        new AllocationQuery(null, null, null, "page-b", null),
        AllocationQuery.all());
    for (AllocationQuery query : queries) {
      List<String> all = expected(query);
      assertThat(all).as("%s matches something", query).isNotEmpty();
      for (int limit : new int[] {1, 7, 64, 5000}) {
        assertThat(seen(walk(query, limit))).as("%s, limit %d", query, limit).containsExactlyElementsOf(all);
      }
    }
    Lease one = result(service.leases(new AllocationQuery("h3", null, null, null, null))).get(0);
    assertThat(seen(walk(new AllocationQuery(null, null, null, null, one.address()), 1)))
        .containsExactlyElementsOf(expected(new AllocationQuery(null, null, null, null, one.address())))
        .hasSize(1);
    assertThat(walk(new AllocationQuery("nobody", null, null, null, null), 10)).isEmpty();
    assertThat(walk(new AllocationQuery(null, null, null, null, "not-an-address"), 10)).isEmpty();
  }

  @Test
  @DisplayName("a host's pages follow its grants and releases (the spots kept for its pages are dropped)")
  void hostPagesFollowChanges() {
    AllocationQuery host = new AllocationQuery("h-changing", null, null, null, null);
    assertThat(walk(host, 5)).isEmpty();
    List<Lease> granted = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      granted.add(result(service.acquire(new AcquireRequest(i % 2 == 0 ? "page-a" : "page-b",
          new LeaseKey("h-changing", "boot", "c" + i, null), "u"))));
      assertThat(seen(walk(host, 5))).containsExactlyElementsOf(expected(host)).hasSize(i + 1);
    }
    for (Lease lease : granted) {
      result(service.release(LeaseRef.of(lease)));
      assertThat(seen(walk(host, 5))).containsExactlyElementsOf(expected(host));
    }
    assertThat(walk(host, 5)).isEmpty();
  }

  @Test
  @DisplayName("block reads in windows (one operation per block) give what executeOnKeys gives, for every block")
  void blockReadsInWindows() {
    IMap<BlockKey, AddressBlock> blocks = hazelcast.getMap(AllocationMaps.BLOCKS);
    Set<BlockKey> keys = new LinkedHashSet<>(blocks.keySet());
    assertThat(keys).hasSizeGreaterThan(3);
    // a key with no block at all is left out, like a block with no match
    keys.add(new BlockKey("page-a", 1 << 20));
    for (LeaseFilter filter : List.of(new LeaseFilter(null, null, null, null), new LeaseFilter("h1", null, null, null),
        new LeaseFilter("nobody", null, null, null))) {
      BlockProcessors.QueryLeases op = new BlockProcessors.QueryLeases(filter, System.currentTimeMillis());
      Map<BlockKey, List<HeldLease>> expected = new HashMap<>();
      blocks.executeOnKeys(keys, op).forEach((key, leases) -> expected.put(key, leases.leases));
      for (int window : new int[] {1, 3, keys.size() - 1, keys.size(), 1000}) {
        Map<BlockKey, List<HeldLease>> read = new HashMap<>();
        service.readBlocks(keys, op, window).forEach((key, leases) -> read.put(key, leases.leases));
        assertThat(read).as("%s, window %d", filter, window).isEqualTo(expected);
      }
    }
  }

  @Test
  @DisplayName("rows have the gateway's shape: host, sessionId, program, user and an ISO-8601 expiresAt")
  void rowShape() {
    Lease lease = result(service.acquire(new AcquireRequest("page-a",
        new LeaseKey("shape-host", "boot", "9", "soft\"phone"), null)));
    JsonArray rows = new JsonArray(result(service.leasePage(
        AllocationPageRequest.first(new AllocationQuery("shape-host", null, null, null, null), 10))).rowsText());
    assertThat(rows).containsExactly(new JsonObject()
        .put("address", lease.address()).put("pool", "page-a").put("host", "shape-host").put("sessionId", "9")
        .put("program", "soft\"phone").putNull("user")
        .put("expiresAt", java.time.Instant.ofEpochMilli(lease.expiresAt()).toString()));
    result(service.release(LeaseRef.of(lease)));
  }
}
