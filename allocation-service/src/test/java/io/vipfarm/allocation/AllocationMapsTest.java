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
}
