package io.vipfarm.agent.ifaddr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class VipAddressPlanTest {
  private static final String IF = "eth0";
  private static final PresentAddress PRIMARY = new PresentAddress(IF, "10.77.0.1", 24, IF);
  private static final PresentAddress LOOPBACK = new PresentAddress("lo", "127.0.0.1", 8, "lo");

  private static PresentAddress ours(String address) {
    return new PresentAddress(IF, address, 32, "eth0:vf");
  }

  @Test
  @DisplayName("a held VIP that is nowhere on the host is added; the interface's own address is never touched")
  void addsWhatIsMissing() {
    VipAddressPlan plan = VipAddressPlan.between(IF, Set.of("10.77.0.9"), List.of(LOOPBACK, PRIMARY));
    assertThat(plan.toAdd()).containsExactly("10.77.0.9");
    assertThat(plan.toRemove()).isEmpty();
    assertThat(plan.leftAlone()).isEmpty();
  }

  @Test
  @DisplayName("nothing to do when every held VIP is there with vipfarm's label")
  void steadyState() {
    VipAddressPlan plan = VipAddressPlan.between(IF, List.of("10.77.0.9", "10.77.0.10"),
        List.of(PRIMARY, ours("10.77.0.9"), ours("10.77.0.10")));
    assertThat(plan.isEmpty()).isTrue();
  }

  @Test
  @DisplayName("vipfarm's addresses that no lease holds are removed (release, or a crash that lost the lease)")
  void removesOnlyItsOwnUnheldAddresses() {
    VipAddressPlan plan = VipAddressPlan.between(IF, Set.of("10.77.0.9"),
        List.of(PRIMARY, ours("10.77.0.9"), ours("10.77.0.20"), new PresentAddress(IF, "10.77.0.30", 32, IF),
            new PresentAddress(IF, "10.77.0.31", 32, "eth0:admin")));
    assertThat(plan.toRemove()).containsExactly("10.77.0.20");
    assertThat(plan.toAdd()).isEmpty();
  }

  @Test
  @DisplayName("a held VIP already on the host without the label is used as is: not added, never removed")
  void leavesForeignAddressesAlone() {
    PresentAddress byAdmin = new PresentAddress(IF, "10.77.0.9", 24, IF);
    VipAddressPlan held = VipAddressPlan.between(IF, Set.of("10.77.0.9"), List.of(byAdmin));
    assertThat(held.toAdd()).isEmpty();
    assertThat(held.leftAlone()).containsExactly("10.77.0.9");

    VipAddressPlan released = VipAddressPlan.between(IF, Set.of(), List.of(byAdmin));
    assertThat(released.toRemove()).isEmpty();
  }

  @Test
  @DisplayName("an address on another interface counts as present: no second copy; the same label there is not ours")
  void otherInterfaces() {
    PresentAddress elsewhere = new PresentAddress("eth1", "10.77.0.9", 32, "eth1");
    assertThat(VipAddressPlan.between(IF, Set.of("10.77.0.9"), List.of(elsewhere)).toAdd()).isEmpty();
    PresentAddress sameLabelOtherIf = new PresentAddress("eth1", "10.77.0.40", 32, "eth0:vf");
    assertThat(VipAddressPlan.between(IF, Set.of(), List.of(sameLabelOtherIf)).toRemove()).isEmpty();
  }

  @Test
  @DisplayName("loopback-range VIPs never need the interface and are never added")
  void loopbackRangeIsNotManaged() {
    assertThat(VipAddressPlan.needsInterface("127.100.0.5")).isFalse();
    assertThat(VipAddressPlan.needsInterface("10.77.0.5")).isTrue();
    assertThat(VipAddressPlan.needsInterface("192.0.2.1")).isTrue();
    assertThat(VipAddressPlan.needsInterface("fd00::1")).isFalse();
    assertThat(VipAddressPlan.needsInterface(null)).isFalse();
    assertThat(VipAddressPlan.between(IF, Set.of("127.100.0.5"), List.of(PRIMARY)).isEmpty()).isTrue();
  }

  @Test
  @DisplayName("after a restart: re-adopted VIPs are re-added, those of lost leases removed, in one plan")
  void afterRestart() {
    VipAddressPlan plan = VipAddressPlan.between(IF, List.of("10.77.0.9", "10.77.0.11"),
        List.of(PRIMARY, ours("10.77.0.10"), ours("10.77.0.11")));
    assertThat(plan.toAdd()).containsExactly("10.77.0.9");
    assertThat(plan.toRemove()).containsExactly("10.77.0.10");
  }

  @Test
  @DisplayName("interface names that cannot carry the 15-character label are refused, naming the label")
  void interfaceNames() {
    assertThat(VipAddressPlan.labelOf("eth0")).isEqualTo("eth0:vf");
    assertThat(VipAddressPlan.checkInterfaceName("enp0s31f6abc")).isEqualTo("enp0s31f6abc");
    assertThatThrownBy(() -> VipAddressPlan.checkInterfaceName("enx001122334455"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("enx001122334455:vf");
    assertThatThrownBy(() -> VipAddressPlan.checkInterfaceName("eth0 label x"))
        .hasMessageContaining("not an interface name");
    assertThatThrownBy(() -> VipAddressPlan.checkInterfaceName(""))
        .hasMessageContaining("not an interface name");
  }
}
