package io.vipfarm.api.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AllocationRowsTest {

  private static Lease lease(String pool, String address, String session) {
    return new Lease(address, pool, new LeaseKey("h", "b", session, null), null, 1, 1, 0);
  }

  @Test
  @DisplayName("a row is the JSON a generic encoder gives, whatever the strings hold")
  void rowIsJson() {
    String odd = "q\"b\\s\u0001\n\tü€\uD83D\uDE00x";
    JsonBytes out = new JsonBytes(16);
    AllocationRows.append(out, "127.0.0.9", "p", odd, "7ü€", null, odd, 1_893_553_445_000L);
    assertThat(new JsonObject(out.toString())).isEqualTo(new JsonObject()
        .put("address", "127.0.0.9").put("pool", "p").put("host", odd).put("sessionId", "7ü€").putNull("program")
        .put("user", odd).put("expiresAt", "2030-01-02T03:04:05Z"));
    assertThat(out.toString()).startsWith("{\"address\":\"127.0.0.9\",\"pool\":\"p\",\"host\":");
  }

  @Test
  @DisplayName("expiresAt is written as Instant.toString writes it, for any millisecond")
  void instantAsJavaWritesIt() {
    java.util.Random random = new java.util.Random(7);
    List<Long> values = new ArrayList<>(List.of(0L, -1L, 999L, 1000L, 1_893_553_445_000L, 1_893_553_445_001L,
        951_782_400_000L, 253_402_300_799_999L, 253_402_300_800_000L, -62_167_219_200_000L, -62_167_219_200_001L,
        Long.MAX_VALUE / 1000, Long.MIN_VALUE / 1000));
    for (int i = 0; i < 200_000; i++) {
      values.add(random.nextLong() % 400_000_000_000_000L);
      values.add(1_700_000_000_000L + random.nextInt(2_000_000_000) * 1000L + (random.nextBoolean() ? 0 : random.nextInt(1000)));
    }
    for (long millis : values) {
      JsonBytes out = new JsonBytes(16);
      AllocationRows.instant(out, millis);
      assertThat(out.toString()).as("%d", millis).isEqualTo(java.time.Instant.ofEpochMilli(millis).toString());
    }
  }

  @Test
  @DisplayName("addresses order numerically; text that is no address sorts last")
  void addressOrder() {
    assertThat(AllocationRows.addressOrder("127.100.0.30")).isLessThan(AllocationRows.addressOrder("127.100.0.120"));
    assertThat(AllocationRows.addressOrder("255.255.255.255")).isEqualTo(0xFFFF_FFFFL);
    for (String bad : new String[] {"1.2.3", "1.2.3.4.5", "1.2.3.256", "a.b.c.d", "1..2.3", ""}) {
      assertThat(AllocationRows.addressOrder(bad)).as(bad).isEqualTo(Long.MAX_VALUE);
    }
  }

  @Test
  @DisplayName("pages in memory: pool, then address; each page after the last row of the one before")
  void pagesInMemory() {
    List<Lease> leases = List.of(lease("b", "127.0.0.2", "1"), lease("a", "127.0.0.120", "2"),
        lease("a", "127.0.0.30", "3"), lease("b", "127.0.0.1", "4"), lease("a", "127.0.0.31", "5"));
    List<String> seen = new ArrayList<>();
    AllocationPageRequest request = AllocationPageRequest.first(AllocationQuery.all(), 2);
    int pages = 0;
    while (true) {
      AllocationPage page = AllocationRows.page(leases, request);
      pages++;
      new JsonArray(page.rowsText()).forEach(r -> seen.add(((JsonObject) r).getString("sessionId")));
      if (!page.more()) {
        break;
      }
      request = new AllocationPageRequest(request.query(), 2, page.lastPool(), page.lastAddress());
    }
    assertThat(pages).isEqualTo(3);
    assertThat(seen).containsExactly("3", "5", "2", "4", "1");
  }
}
