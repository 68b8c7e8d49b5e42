package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.allocation.Messages.Leases;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.AllocationRows;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The pager alone, with blocks in a map: stale index entries, rounds, cursors, the order of pools. */
class LeasePagerTest {
  private static final int BASE = Ipv4Address.parse("127.140.0.0").bits();

  private final Map<BlockKey, List<HeldLease>> blocks = new HashMap<>();
  private final List<Set<BlockKey>> reads = new ArrayList<>();

  private HeldLease lease(String pool, int offset) {
    HeldLease lease = new HeldLease(BASE + offset, new LeaseHolder("h", "b", "s" + offset, null), null, offset, 0, 1);
    blocks.computeIfAbsent(new BlockKey(pool, AddressBlock.numberOf(BASE + offset)), k -> new ArrayList<>()).add(lease);
    return lease;
  }

  private AllocationPage page(List<LeasePager.Step> steps, AllocationPageRequest request) {
    return LeasePager.page(steps, request, keys -> {
      reads.add(keys);
      Map<BlockKey, Leases> out = new HashMap<>();
      for (BlockKey key : keys) {
        if (blocks.containsKey(key)) {
          out.put(key, new Leases(blocks.get(key)));
        }
      }
      return out;
    });
  }

  private static List<String> addresses(AllocationPage page) {
    List<String> out = new ArrayList<>();
    new JsonArray(page.rowsText()).forEach(r -> out.add(((JsonObject) r).getString("pool") + " "
        + ((JsonObject) r).getString("address")));
    return out;
  }

  @Test
  @DisplayName("index entries whose lease is gone cost another round, never a short page or a skipped row")
  void staleEntries() {
    List<LeasePager.Step> steps = new ArrayList<>();
    // 10 index entries over 10 blocks; the leases of the first 6 are gone (stale entries)
    for (int i = 0; i < 10; i++) {
      int offset = i * 64 + 3;
      if (i >= 6) {
        lease("p", offset);
      }
      steps.add(LeasePager.Step.ofAddress("p", BASE + offset));
    }
    AllocationPage first = page(steps, AllocationPageRequest.first(AllocationQuery.all(), 3));
    assertThat(addresses(first)).containsExactly("p 127.140.1.131", "p 127.140.1.195", "p 127.140.2.3");
    assertThat(first.more()).isTrue();
    assertThat(reads).hasSizeGreaterThan(1);
    AllocationPage second = page(steps.subList(9, 10), new AllocationPageRequest(AllocationQuery.all(), 3,
        first.lastPool(), first.lastAddress()));
    assertThat(addresses(second)).containsExactly("p 127.140.2.67");
    assertThat(second.more()).isFalse();
  }

  @Test
  @DisplayName("whole blocks in order: a page ends inside a block, the next starts after its last row, pools in name order")
  void blocksInOrder() {
    for (int offset : new int[] {0, 1, 2, 70, 71}) {
      lease("a", offset);
    }
    lease("b", 5);
    List<LeasePager.Step> steps = List.of(LeasePager.Step.ofBlock("a", AddressBlock.numberOf(BASE)),
        LeasePager.Step.ofBlock("a", AddressBlock.numberOf(BASE + 64)), LeasePager.Step.ofBlock("b", AddressBlock.numberOf(BASE)));
    List<String> seen = new ArrayList<>();
    AllocationPageRequest request = AllocationPageRequest.first(AllocationQuery.all(), 2);
    for (int pages = 1; ; pages++) {
      AllocationPageRequest current = request;
      AllocationPage page = page(steps.stream()
          .filter(s -> AllocationRows.after(s.pool(), s.upTo(), current)).toList(), current);
      seen.addAll(addresses(page));
      if (!page.more()) {
        assertThat(pages).isEqualTo(3);
        break;
      }
      request = new AllocationPageRequest(AllocationQuery.all(), 2, page.lastPool(), page.lastAddress());
    }
    assertThat(seen).containsExactly("a 127.140.0.0", "a 127.140.0.1", "a 127.140.0.2", "a 127.140.0.70",
        "a 127.140.0.71", "b 127.140.0.5");
  }
}
