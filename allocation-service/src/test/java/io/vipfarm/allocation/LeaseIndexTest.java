package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.allocation.LeaseIndex.HostEntries;
import io.vipfarm.allocation.LeaseIndex.Location;
import io.vipfarm.allocation.LeaseIndex.Spot;
import java.util.AbstractMap;
import java.util.ArrayList;
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
    assertThat(host.getValue().byKey).containsEntry(key("p", "s1", null), first);

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
    assertThat(host.getValue().byKey).hasSize(2);
    assertThat(new LeaseIndex.Unbind(key("p", "s1", null), 1).process(host)).isTrue();
    assertThat(host.getValue().byKey).containsOnlyKeys(key("p", "s2", null));
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
    assertThat(host.getValue().byKey).containsOnlyKeys(key("vip2", "s1", null));
    assertThat(new LeaseIndex.DropPool("vip").process(host)).isNull();
    new LeaseIndex.DropPool("vip2").process(host);
    assertThat(host.getValue()).isNull();
  }

  @Test
  @DisplayName("spots of a host, of one user, of one session; none is null")
  void findSpotsFilters() {
    bind(key("b", "s1", null), null, new Location(10, 1, "ann"));
    bind(key("a", "s1", "app"), null, new Location(20, 2, "ann"));
    bind(key("a", "s2", null), null, new Location(30, 3, "bob"));

    assertThat(spots(null, null)).containsExactlyInAnyOrder(new Spot("b", 10), new Spot("a", 20), new Spot("a", 30));
    assertThat(spots("ann", null)).containsExactlyInAnyOrder(new Spot("b", 10), new Spot("a", 20));
    assertThat(spots(null, "s2")).containsExactly(new Spot("a", 30));
    assertThat(spots("bob", "s1")).isEmpty();
    assertThat(new LeaseIndex.FindSpots("carol", null).process(host)).isNull();
  }

  @Test
  @DisplayName("a copy is taken apart from the entry it copies")
  void copyIsDetached() {
    bind(key("p", "s1", null), null, new Location(10, 1, "ann"));
    HostEntries copy = new LeaseIndex.Copy().process(host);
    bind(key("p", "s2", null), null, new Location(11, 2, "bob"));
    assertThat(copy.byKey).containsOnlyKeys(key("p", "s1", null));
    assertThat(LeaseIndex.hostOf(key("p", "s1", null))).isEqualTo("h1");
  }

  private List<Spot> spots(String user, String session) {
    List<Spot> out = new ArrayList<>();
    LeaseIndex.Spots found = new LeaseIndex.FindSpots(user, session).process(host);
    if (found != null) {
      found.addTo(out);
    }
    return out;
  }
}
