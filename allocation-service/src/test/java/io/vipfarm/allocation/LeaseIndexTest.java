package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.allocation.LeaseIndex.HostEntries;
import io.vipfarm.allocation.LeaseIndex.Location;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The key index's entry processors on one host's entry, as plain Java (a map entry that keeps its value). */
class LeaseIndexTest {
  private final Map.Entry<String, HostEntries> host = new AbstractMap.SimpleEntry<>("h1", null);

  private static String key(String pool, String session, String program) {
    return LeaseIndex.key(pool, new LeaseHolder("h1", "boot", session, program));
  }

  private Location bind(String key, Location expected, Location next) {
    return new LeaseIndex.Bind(key, expected, next).process(host);
  }

  @Test
  @DisplayName("a bind creates the host's entry; a second bind of the key wins only over the entry it expects")
  void bindIsACompareAndSetPerKey() {
    Location first = new Location(10, 1, "ann");
    assertThat(bind(key("p", "s1", null), null, first)).isNull();
    assertThat(host.getValue().byKey()).containsEntry(key("p", "s1", null), first);

    Location other = new Location(11, 2, "ann");
    assertThat(bind(key("p", "s1", null), null, other)).as("a concurrent acquire bound first").isEqualTo(first);
    assertThat(bind(key("p", "s1", null), new Location(99, 9), other)).isEqualTo(first);
    assertThat(bind(key("p", "s1", null), first, other)).as("the stale entry it saw is replaced").isNull();
    assertThat(new LeaseIndex.Lookup(key("p", "s1", null)).process(host)).isEqualTo(other)
        .isNotSameAs(other);
    assertThat(new LeaseIndex.Lookup(key("p", "s2", null)).process(host)).isNull();
  }

  @Test
  @DisplayName("an unbind removes the key only while it names the same lease; a host without leases has no entry")
  void unbindIsFencedAndLeavesNoEmptyHost() {
    bind(key("p", "s1", null), null, new Location(10, 1, "ann"));
    bind(key("p", "s2", null), null, new Location(12, 3, "bob"));

    assertThat(new LeaseIndex.Unbind(key("p", "s1", null), 7).process(host)).isFalse();
    assertThat(host.getValue().byKey()).hasSize(2);
    assertThat(new LeaseIndex.Unbind(key("p", "s1", null), 1).process(host)).isTrue();
    assertThat(host.getValue().byKey()).containsOnlyKeys(key("p", "s2", null));
    assertThat(new LeaseIndex.Unbind(key("p", "s2", null), 3).process(host)).isTrue();
    assertThat(host.getValue()).isNull();
    assertThat(new LeaseIndex.Unbind(key("p", "s2", null), 3).process(host)).isFalse();
  }

  @Test
  @DisplayName("dropping a pool removes its keys only, not those of a pool whose name starts the same")
  void dropPoolKeepsOtherPools() {
    bind(key("vip", "s1", null), null, new Location(10, 1, "ann"));
    bind(key("vip2", "s1", null), null, new Location(20, 2, "ann"));
    bind(key("vip", "s2", "soffice.bin"), null, new Location(11, 3, "bob"));

    assertThat(new LeaseIndex.DropPool("vip").process(host)).isTrue();
    assertThat(host.getValue().byKey()).containsOnlyKeys(key("vip2", "s1", null));
    assertThat(new LeaseIndex.DropPool("vip").process(host)).isNull();
    new LeaseIndex.DropPool("vip2").process(host);
    assertThat(host.getValue()).isNull();
  }

  @Test
  @DisplayName("spots of a host, of one user, of one session, in page order; none is null")
  void findSpotsFilters() {
    bind(key("b", "s1", null), null, new Location(10, 1, "ann"));
    bind(key("a", "s1", "app"), null, new Location(20, 2, "ann"));
    bind(key("a", "s2", null), null, new Location(30, 3, "bob"));

    assertThat(spots(null, null)).containsExactly("a/20", "a/30", "b/10");
    assertThat(spots("ann", null)).containsExactly("a/20", "b/10");
    assertThat(spots(null, "s2")).containsExactly("a/30");
    assertThat(spots("bob", "s1")).isEmpty();
    assertThat(new LeaseIndex.FindSpots("carol", null).process(host)).isNull();
  }

  @Test
  @DisplayName("page order is pool name, then the address as an unsigned number (past 127.255.255.255 too)")
  void spotsSortAddressesUnsigned() {
    int high = 0xC0A80001; // 192.168.0.1: negative as an int
    bind(key("p", "s1", null), null, new Location(high, 1, "ann"));
    bind(key("p", "s2", null), null, new Location(0x7F640001, 2, "ann"));
    bind(key("o", "s3", null), null, new Location(0x7F640009, 3, "ann"));
    assertThat(spots(null, null)).containsExactly("o/" + 0x7F640009, "p/" + 0x7F640001, "p/" + high);
  }

  @Test
  @DisplayName("the spots kept for pages follow every change of the host's entries")
  void keptSpotsFollowChanges() {
    bind(key("p", "s1", null), null, new Location(10, 1, "ann"));
    assertThat(spots(null, null)).containsExactly("p/10");
    assertThat(new LeaseIndex.FindSpots(null, null).process(host)).as("kept while nothing changes")
        .isSameAs(new LeaseIndex.FindSpots(null, null).process(host));

    bind(key("p", "s2", null), null, new Location(5, 2, "bob"));
    assertThat(spots(null, null)).containsExactly("p/5", "p/10");
    Location moved = new Location(7, 3, "bob");
    bind(key("p", "s2", null), new Location(5, 2, "bob"), moved);
    assertThat(spots(null, null)).containsExactly("p/7", "p/10");
    new LeaseIndex.Unbind(key("p", "s1", null), 1).process(host);
    assertThat(spots(null, null)).containsExactly("p/7");
    bind(key("q", "s3", null), null, new Location(1, 4, "cy"));
    assertThat(spots(null, null)).containsExactly("p/7", "q/1");
    new LeaseIndex.DropPool("p").process(host);
    assertThat(spots(null, null)).containsExactly("q/1");
  }

  @Test
  @DisplayName("spots of several hosts merge into page order")
  void spotsMerge() {
    LeaseIndex.Spots one = new LeaseIndex.Spots();
    one.add("b", 1);
    one.add("a", 9);
    one.sort();
    LeaseIndex.Spots two = new LeaseIndex.Spots();
    two.add("a", 3);
    two.sort();
    LeaseIndex.Spots all = LeaseIndex.Spots.merge(Arrays.asList(one, null, two));
    assertThat(list(all)).containsExactly("a/3", "a/9", "b/1");
  }

  @Test
  @DisplayName("a copy is taken apart from the entry it copies")
  void copyIsDetached() {
    bind(key("p", "s1", null), null, new Location(10, 1, "ann"));
    HostEntries copy = new LeaseIndex.Copy().process(host);
    bind(key("p", "s2", null), null, new Location(11, 2, "bob"));
    assertThat(copy.byKey()).containsOnlyKeys(key("p", "s1", null));
    assertThat(LeaseIndex.hostOf(key("p", "s1", null))).isEqualTo("h1");
  }

  private List<String> spots(String user, String session) {
    return list(new LeaseIndex.FindSpots(user, session).process(host));
  }

  private static List<String> list(LeaseIndex.Spots spots) {
    List<String> out = new ArrayList<>();
    for (int i = 0; spots != null && i < spots.size(); i++) {
      out.add(spots.pool(i) + "/" + spots.address(i));
    }
    return out;
  }
}
