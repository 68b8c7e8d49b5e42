package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;

import com.hazelcast.config.Config;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AllocationMapsTest {

  @Test
  @DisplayName("partition threads: one per two cores, at least one; an operator's setting in the config is kept")
  void partitionThreads() {
    int expected = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
    assertThat(AllocationMaps.configure(new Config()).getProperty(AllocationMaps.PARTITION_THREADS_PROPERTY))
        .isEqualTo(Integer.toString(expected));
    Config own = new Config().setProperty(AllocationMaps.PARTITION_THREADS_PROPERTY, "7");
    assertThat(AllocationMaps.configure(own, 3).getProperty(AllocationMaps.PARTITION_THREADS_PROPERTY)).isEqualTo("7");
  }

  @Test
  @DisplayName("partition threads by core count; a -D system property is left for Hazelcast to read, not overwritten")
  void partitionThreadsByCoresAndSystemProperty() {
    for (int[] coresThreads : new int[][] {{1, 1}, {2, 1}, {3, 1}, {4, 2}, {16, 8}}) {
      Config config = new Config();
      AllocationMaps.partitionThreads(config, null, coresThreads[0]);
      assertThat(config.getProperty(AllocationMaps.PARTITION_THREADS_PROPERTY)).as("%d cores", coresThreads[0])
          .isEqualTo(Integer.toString(coresThreads[1]));
    }
    // Hazelcast reads the system property itself when the config has none; a config value would win over it
    Config config = new Config();
    AllocationMaps.partitionThreads(config, "5", 16);
    assertThat(config.getProperty(AllocationMaps.PARTITION_THREADS_PROPERTY)).isNull();
  }
}
