package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.internal.serialization.InternalSerializationService;
import com.hazelcast.internal.serialization.impl.DefaultSerializationServiceBuilder;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import io.vipfarm.allocation.LeaseIndex.HostEntries;
import io.vipfarm.allocation.LeaseIndex.Location;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The index's open-addressing table against a HashMap doing the same, and its keys' encoding. */
class LocationTableTest {
  private static final InternalSerializationService SERIALIZATION = new DefaultSerializationServiceBuilder()
      .addDataSerializableFactory(AllocationSerialization.FACTORY_ID, new AllocationSerialization()).build();

  private record Where(int address, long fence, String user) {}

  private static Map<String, Where> contents(LocationTable table) {
    Map<String, Where> contents = new HashMap<>();
    int occupied = 0;
    for (int slot = 0; slot < table.capacity(); slot++) {
      if (table.occupied(slot)) {
        occupied++;
        contents.put(table.key(slot), new Where(table.address(slot), table.fence(slot), table.user(slot)));
        assertThat(table.slotOf(table.key(slot))).as("every key is reachable from its home").isEqualTo(slot);
      }
    }
    assertThat(occupied).isEqualTo(table.size());
    assertThat(table.size() * 4L).as("at most three quarters full").isLessThanOrEqualTo(table.capacity() * 3L);
    return contents;
  }

  @Test
  @DisplayName("random puts, removes and pool removals leave the same entries as a HashMap, every key reachable")
  void matchesAHashMap() {
    Random random = new Random(20261205);
    for (int round = 0; round < 20; round++) {
      LocationTable table = new LocationTable();
      Map<String, Where> model = new HashMap<>();
      // few distinct keys so that the same keys are removed and put again, through runs of collisions
      int keySpace = 1 + random.nextInt(round < 10 ? 40 : 3000);
      for (int op = 0; op < 20_000; op++) {
        String key = (random.nextBoolean() ? "p" : "q") + ":" + random.nextInt(keySpace);
        int choice = random.nextInt(100);
        if (choice < 55) {
          Where where = new Where(random.nextInt(), random.nextLong(), "u" + random.nextInt(5));
          table.put(key, where.address(), where.fence(), where.user());
          model.put(key, where);
        } else if (choice < 99) {
          assertThat(table.remove(key)).isEqualTo(model.remove(key) != null);
        } else {
          String prefix = random.nextBoolean() ? "p:" : "q:1";
          boolean any = model.keySet().removeIf(k -> k.startsWith(prefix));
          assertThat(table.removeKeysStartingWith(prefix)).isEqualTo(any);
        }
        int probe = table.slotOf(key);
        assertThat(probe >= 0).isEqualTo(model.containsKey(key));
      }
      assertThat(contents(table)).isEqualTo(model);
    }
  }

  @Test
  @DisplayName("a copy is independent of the table it was made from")
  void copyIsIndependent() {
    LocationTable table = new LocationTable();
    for (int i = 0; i < 100; i++) {
      table.put("k" + i, i, i, "ann");
    }
    LocationTable copy = table.copy();
    table.remove("k1");
    table.put("k2", 99, 99, "bob");
    copy.put("k200", 1, 1, "cy");
    assertThat(contents(copy)).containsEntry("k1", new Where(1, 1, "ann")).containsEntry("k2", new Where(2, 2, "ann"))
        .hasSize(101);
    assertThat(contents(table)).doesNotContainKey("k1").doesNotContainKey("k200").hasSize(99);
  }

  @Test
  @DisplayName("keys are kept losslessly: any string, unpaired surrogates and NUL included, and prefixes hold")
  void keysAreLossless() {
    List<String> keys = List.of("", "a", "a?", "a\uD800", "a\uDC00x", "\uD83D\uDE00", "\u0000", "\u00E9t\u00E9",
        "\u0800", "\uFFFF", "5:s\u00E9ssion");
    LocationTable table = new LocationTable();
    for (int i = 0; i < keys.size(); i++) {
      String key = keys.get(i);
      assertThat(LocationTable.decode(LocationTable.encode(key))).isEqualTo(key);
      table.put(key, i, i, null);
    }
    Map<String, Where> contents = contents(table);
    assertThat(contents).hasSize(keys.size());
    for (int i = 0; i < keys.size(); i++) {
      assertThat(contents.get(keys.get(i)).address()).as(keys.get(i)).isEqualTo(i);
    }
    assertThat(table.removeKeysStartingWith("a\uD800")).isTrue();
    assertThat(contents(table)).doesNotContainKey("a\uD800").containsKey("a?").containsKey("a\uDC00x");
    assertThat(table.removeKeysStartingWith("5:s\u00E9")).isTrue();
    assertThat(table.removeKeysStartingWith("5:s\u00E9")).isFalse();
    assertThat(contents(table)).hasSize(keys.size() - 2);
  }

  /** What HostEntries wrote while it kept a HashMap of String to Location: each key, then its Location. */
  private static final class FormerHostEntries implements IdentifiedDataSerializable {
    final Map<String, Location> byKey = new LinkedHashMap<>();

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.HOST_ENTRIES;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeInt(byKey.size());
      for (Map.Entry<String, Location> e : byKey.entrySet()) {
        out.writeString(e.getKey());
        e.getValue().writeData(out);
      }
    }

    @Override
    public void readData(com.hazelcast.nio.ObjectDataInput in) {
      throw new UnsupportedOperationException("a writer of the former format only: the test reads with HostEntries");
    }
  }

  @Test
  @DisplayName("host entries keep their wire format: a member of the former layout reads them, and they read its")
  void wireFormatUnchanged() {
    String key = LeaseIndex.key("vip", new LeaseHolder("h1", "boot", "s\u00E9ssion-7", "soffice.bin"));
    HostEntries entries = new HostEntries();
    entries.put(key, new Location(0x7F640001, 42, "ann"));
    FormerHostEntries former = new FormerHostEntries();
    former.byKey.put(key, new Location(0x7F640001, 42, "ann"));

    assertThat(SERIALIZATION.toData(entries).toByteArray()).isEqualTo(SERIALIZATION.toData(former).toByteArray());
    HostEntries read = SERIALIZATION.toObject(SERIALIZATION.toData(former));
    assertThat(read.byKey()).containsExactlyEntriesOf(Map.of(key, new Location(0x7F640001, 42, "ann")));
    assertThat(read.get(key).user).isEqualTo("ann");

    List<String> many = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      many.add(LeaseIndex.key("vip", new LeaseHolder("h1", "boot", "s" + i, null)));
      entries.put(many.get(i), new Location(i, i, "u" + (i % 7)));
    }
    HostEntries copy = SERIALIZATION.toObject(SERIALIZATION.toData(entries));
    assertThat(copy.byKey()).isEqualTo(entries.byKey()).hasSize(1001);
  }
}
