package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.util.BitSet;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class LoopbackAddressTest {

  @ParameterizedTest(name = "session {0} -> {1}")
  @CsvSource({
      "0, 127.0.0.1",
      "1, 127.0.0.2",
      "7, 127.0.0.8",
      "8, 127.0.0.9",
      "254, 127.0.0.255",
      "255, 127.0.1.0",
      "256, 127.0.1.1",
      "65535, 127.1.0.0",
      "8388607, 127.128.0.0",
      "16777213, 127.255.255.254",
      "16777214, 127.255.255.255",
      "c1, 127.255.255.255",
      "c2, 127.255.255.254",
      "c255, 127.255.255.1",
      "c256, 127.255.255.0",
      "c8388607, 127.128.0.1",
  })
  @DisplayName("Session ids map to the documented loopback addresses")
  void documentedExamples(String sessionId, String expected) {
    assertThat(LoopbackAddress.of(sessionId).address()).isEqualTo(expected);
  }

  @ParameterizedTest(name = "''{0}'' is refused")
  @NullAndEmptySource
  @ValueSource(strings = {
      "-1", "16777215", "16777216", "4294967297", "99999999999999999999", "007", "00", "+7", " 7", "7 ",
      "1e3", "0x10", "abc", "７", "c", "c0", "c01", "c-1", "c8388608", "c16777215", "C1", "cc1", "1c"})
  @DisplayName("Ids out of range or not in either form are INVALID_FIELD sessionId, never wrapped")
  void refusesBadIds(String sessionId) {
    assertThatThrownBy(() -> LoopbackAddress.of(sessionId))
        .isInstanceOfSatisfying(VipfarmException.class, e -> {
          assertThat(e.type()).isEqualTo(ErrorType.INVALID_FIELD);
          assertThat(e.field()).isEqualTo("sessionId");
        });
  }

  @Test
  @DisplayName("Every numeric id 0..16777214 gets n + 1, as the IPv4 address 127.0.0.0 + n + 1")
  void everyNumericId() throws Exception {
    for (int n = 0; n <= LoopbackAddress.MAX_NUMERIC_ID; n++) {
      LoopbackAddress loopback = LoopbackAddress.of(Integer.toString(n));
      assertThat(loopback.value()).isEqualTo(n + 1);
      if (n % 9973 == 0 || n > LoopbackAddress.MAX_NUMERIC_ID - 300 || n < 300) {
        assertThat(loopback.address()).isEqualTo(oracle(n + 1));
      }
    }
  }

  @Test
  @DisplayName("Every logind id c1..c8388607 gets 2^24 - N, distinct from numeric ids 0..8388607")
  void everyLogindId() throws Exception {
    BitSet numericValues = new BitSet();
    for (int n = 0; n <= 8388607; n++) {
      numericValues.set(LoopbackAddress.of(Integer.toString(n)).value());
    }
    BitSet cValues = new BitSet();
    for (int n = 1; n <= LoopbackAddress.MAX_C_ID; n++) {
      LoopbackAddress loopback = LoopbackAddress.of("c" + n);
      assertThat(loopback.value()).isEqualTo((1 << 24) - n);
      assertThat(cValues.get(loopback.value())).isFalse();
      cValues.set(loopback.value());
      if (n % 9973 == 0 || n < 300) {
        assertThat(loopback.address()).isEqualTo(oracle((1 << 24) - n));
      }
    }
    assertThat(cValues.cardinality()).isEqualTo(LoopbackAddress.MAX_C_ID);
    assertThat(numericValues.intersects(cValues)).isFalse();
  }

  @Test
  @DisplayName("Past 8 million sessions the two kinds meet: 8388608 and c8388607 share an address")
  void theKindsMeetOnlyAtTheTop() {
    assertThat(LoopbackAddress.of("8388608")).extracting(LoopbackAddress::value)
        .isEqualTo(LoopbackAddress.of("c8388607").value());
    assertThat(LoopbackAddress.of("16777214").address()).isEqualTo(LoopbackAddress.of("c1").address());
  }

  @Test
  @DisplayName("The 127.0.0.0 network address itself is never a session's loopback")
  void neverTheNetworkAddress() {
    assertThatThrownBy(() -> new LoopbackAddress("x", 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new LoopbackAddress("x", 1 << 24)).isInstanceOf(IllegalArgumentException.class);
  }

  /** The address 127.0.0.0 + value, computed by the JDK. */
  private static String oracle(int value) throws Exception {
    byte[] bytes = ByteBuffer.allocate(4).putInt(0x7f000000 | value).array();
    return InetAddress.getByAddress(bytes).getHostAddress();
  }
}
