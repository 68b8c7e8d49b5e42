package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class Ipv4CidrTest {

  @Test
  @DisplayName("addresses round-trip through bits, including the top of the address space")
  void addressesRoundTrip() {
    for (String text : new String[] {"0.0.0.0", "127.0.0.1", "10.20.30.40", "192.168.255.1", "255.255.255.255"}) {
      assertThat(Ipv4Address.parse(text).toString()).isEqualTo(text);
    }
    assertThat(Ipv4Address.parse("255.255.255.255").bits()).isEqualTo(-1);
    assertThat(Ipv4Address.parse("128.0.0.0").compareTo(Ipv4Address.parse("127.255.255.255"))).isPositive();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "1.2.3", "1.2.3.4.5", "1.2.3.", ".1.2.3", "256.0.0.1", "01.2.3.4", "1.2.3.-4",
      "1.2.3.4 ", "a.b.c.d", "1..2.3", "1.2.3.1000"})
  @DisplayName("malformed addresses are refused")
  void malformedAddresses(String text) {
    assertThatThrownBy(() -> Ipv4Address.parse(text)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("a /8 has 2^24 addresses and maps ordinals to addresses both ways")
  void slashEight() {
    Ipv4Cidr cidr = Ipv4Cidr.parse("10.0.0.0/8");
    assertThat(cidr.size()).isEqualTo(16_777_216L);
    assertThat(Ipv4Address.format(cidr.addressAt(0))).isEqualTo("10.0.0.0");
    assertThat(Ipv4Address.format(cidr.addressAt(16_777_215))).isEqualTo("10.255.255.255");
    assertThat(Ipv4Address.format(cidr.addressAt(65_536 + 256 + 7))).isEqualTo("10.1.1.7");
    assertThat(cidr.ordinalOf(Ipv4Address.parse("10.1.1.7").bits())).isEqualTo(65_536 + 256 + 7);
    assertThat(cidr.contains(Ipv4Address.parse("11.0.0.0").bits())).isFalse();
    assertThatThrownBy(() -> cidr.addressAt(16_777_216)).isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> cidr.ordinalOf(Ipv4Address.parse("9.255.255.255").bits()))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("a /31 has two addresses and a /32 one, also at the top of the address space")
  void slashThirtyOneAndThirtyTwo() {
    Ipv4Cidr pair = Ipv4Cidr.parse("127.100.0.6/31");
    assertThat(pair.size()).isEqualTo(2);
    assertThat(Ipv4Address.format(pair.addressAt(1))).isEqualTo("127.100.0.7");
    Ipv4Cidr single = Ipv4Cidr.parse("255.255.255.255/32");
    assertThat(single.size()).isEqualTo(1);
    assertThat(single.contains(-1)).isTrue();
    assertThat(single.ordinalOf(-1)).isZero();
    Ipv4Cidr high = Ipv4Cidr.parse("200.0.0.0/8");
    assertThat(high.ordinalOf(Ipv4Address.parse("200.255.255.255").bits())).isEqualTo(16_777_215L);
  }

  @Test
  @DisplayName("overlap means one contains the other; neighbours do not overlap")
  void overlap() {
    Ipv4Cidr wide = Ipv4Cidr.parse("127.100.0.0/16");
    assertThat(wide.overlaps(Ipv4Cidr.parse("127.100.5.0/24"))).isTrue();
    assertThat(Ipv4Cidr.parse("127.100.5.0/24").overlaps(wide)).isTrue();
    assertThat(wide.overlaps(Ipv4Cidr.parse("127.101.0.0/16"))).isFalse();
    assertThat(Ipv4Cidr.parse("127.100.0.0/31").overlaps(Ipv4Cidr.parse("127.100.0.2/31"))).isFalse();
    assertThat(Ipv4Cidr.parse("127.100.0.1/32").overlaps(Ipv4Cidr.parse("127.100.0.0/31"))).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"127.100.0.0", "127.100.0.0/", "127.100.0.0/33", "127.100.0.0/-1", "127.100.0.5/24",
      "127.100.0.0/2x", "/24", "127.100.0.0/024"})
  @DisplayName("malformed CIDRs and CIDRs with host bits set are refused")
  void malformedCidrs(String text) {
    assertThatThrownBy(() -> Ipv4Cidr.parse(text)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("host bits set: the message names the network meant")
  void hostBitsHint() {
    assertThatThrownBy(() -> Ipv4Cidr.parse("127.100.0.5/24")).hasMessageContaining("127.100.0.0/24");
  }

  @Test
  @DisplayName("ordinal ranges merge and skip")
  void ordinalRanges() {
    OrdinalRanges ranges = OrdinalRanges.of(java.util.List.of(
        new OrdinalRanges.Range(10, 19), new OrdinalRanges.Range(0, 0), new OrdinalRanges.Range(20, 25),
        new OrdinalRanges.Range(15, 16), new OrdinalRanges.Range(100, 100)));
    assertThat(ranges.count()).isEqualTo(1 + 16 + 1);
    assertThat(ranges.contains(0)).isTrue();
    assertThat(ranges.contains(1)).isFalse();
    assertThat(ranges.contains(25)).isTrue();
    assertThat(ranges.contains(26)).isFalse();
    assertThat(ranges.firstOutsideFrom(0)).isEqualTo(1);
    assertThat(ranges.firstOutsideFrom(12)).isEqualTo(26);
    assertThat(ranges.firstOutsideFrom(50)).isEqualTo(50);
    assertThat(ranges.firstOutsideFrom(100)).isEqualTo(101);
  }
}
