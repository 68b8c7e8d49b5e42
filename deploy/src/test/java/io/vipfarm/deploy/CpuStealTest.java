package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class CpuStealTest {
  @Test
  @DisplayName("steal is the eighth field of /proc/stat's cpu line, as a share of fields 1 to 8")
  void stealShare() {
    CpuSteal.Reading before = CpuSteal.parse("cpu  100 0 50 800 0 0 0 50 0 0");
    CpuSteal.Reading after = CpuSteal.parse("cpu  160 0 70 880 0 0 0 90 30 0");
    assertThat(before.total()).isEqualTo(1000);
    assertThat(after.percentSince(before)).isEqualTo(20.0);
  }

  @Test
  @DisplayName("an unreadable or foreign line gives no figure rather than a wrong one")
  void unknown() {
    CpuSteal.Reading none = CpuSteal.parse("intr 1 2 3");
    assertThat(none.percentSince(none)).isNaN();
    assertThat(CpuSteal.parse("cpu 1 2 3 4 5 6 7 8").percentSince(none)).isNaN();
  }

  @Test
  @DisplayName("this machine's /proc/stat reads, and twice in a row gives a percentage or nothing")
  void reads() {
    CpuSteal.Reading first = CpuSteal.read();
    double p = CpuSteal.read().percentSince(first);
    assertThat(Double.isNaN(p) || (p >= 0 && p <= 100)).isTrue();
  }
}
