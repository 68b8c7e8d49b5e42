package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentConfigTest {

  @Test
  @DisplayName("The boot id is read from the kernel's file, without its newline")
  void readsBootId(@TempDir Path temp) throws Exception {
    Path file = temp.resolve("boot_id");
    Files.writeString(file, "3f0e6c1a-6b0e-4b8e-9d6e-0c2f8e1d2a44\n");
    assertThat(AgentConfig.readBootId(file)).isEqualTo("3f0e6c1a-6b0e-4b8e-9d6e-0c2f8e1d2a44");
  }

  @Test
  @DisplayName("Without a readable boot id file the agent uses a random UUID")
  void fallsBackToRandomBootId(@TempDir Path temp) {
    String first = AgentConfig.readBootId(temp.resolve("missing"));
    assertThat(UUID.fromString(first).toString()).isEqualTo(first);
    assertThat(AgentConfig.readBootId(temp.resolve("missing"))).isNotEqualTo(first);
  }

  @Test
  @DisplayName("detect() gives preload interception and only non-loopback host addresses")
  void detect(@TempDir Path temp) {
    AgentConfig config = AgentConfig.detect("host-a", temp);
    assertThat(config.hostId()).isEqualTo("host-a");
    assertThat(config.runDir()).isEqualTo(temp);
    assertThat(config.interception()).isEqualTo("preload");
    assertThat(config.bootId()).isNotBlank();
    assertThat(config.hostAddresses()).noneMatch(a -> a.startsWith("127.") || a.equals("0:0:0:0:0:0:0:1"))
        .noneMatch(a -> a.contains("%"))
        .doesNotHaveDuplicates();
  }

  @Test
  @DisplayName("A host id is required")
  void requiresHostId(@TempDir Path temp) {
    assertThatThrownBy(() -> new AgentConfig(" ", "b", temp, List.of(), AgentConfig.PRELOAD))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  @DisplayName("A VIP interface name must fit the label of vipfarm's addresses")
  void vipInterfaceName(@TempDir Path temp) {
    AgentConfig config = new AgentConfig("h", "b", temp, List.of(), AgentConfig.PRELOAD);
    assertThat(config.vipInterface()).isNull();
    assertThat(config.withVipInterface("eth0").vipInterface()).isEqualTo("eth0");
    assertThatThrownBy(() -> config.withVipInterface("enx001122334455"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("enx001122334455:vf");
  }
}
