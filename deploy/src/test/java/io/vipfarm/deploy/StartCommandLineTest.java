package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StartCommandLineTest {

  @Test
  void defaultsForASingleMachine() {
    NodeOptions o = StartCommandLine.parse(List.of("--host-id", "h1"), Map.of());
    assertThat(o.role()).isEqualTo(Role.ALL);
    assertThat(o.httpPort()).isEqualTo(8080);
    assertThat(o.httpHost()).isEqualTo("127.0.0.1");
    assertThat(o.bindAddress()).isEqualTo("127.0.0.1");
    assertThat(o.clusterMembers()).isEmpty();
    assertThat(o.clusterName()).isEqualTo("vipfarm");
  }

  @Test
  void readsEveryOptionInBothSpellings() {
    NodeOptions o = StartCommandLine.parse(List.of("--role=control", "--http-port", "9090", "--host-id=web-01",
        "--data-dir", "/tmp/d", "--run-dir=/tmp/r", "--cluster-name", "farm", "--cluster-port", "5801",
        "--cluster-members", "127.0.0.1:5701, 127.0.0.2:5701", "--bind-address", "127.0.0.1"), Map.of());
    assertThat(o.role()).isEqualTo(Role.CONTROL);
    assertThat(o.httpPort()).isEqualTo(9090);
    assertThat(o.hostId()).isEqualTo("web-01");
    assertThat(o.dataDir()).isEqualTo(Path.of("/tmp/d"));
    assertThat(o.runDir()).isEqualTo(Path.of("/tmp/r"));
    assertThat(o.clusterPort()).isEqualTo(5801);
    assertThat(o.clusterMembers()).containsExactly("127.0.0.1:5701", "127.0.0.2:5701");
  }

  @Test
  void refusesWhatItCannotRun() {
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--http-port", "99999"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--http-port");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "boss"), Map.of()))
        .hasMessageContaining("--role");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--colour", "red"), Map.of()))
        .hasMessageContaining("unknown option --colour");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--host-id"), Map.of()))
        .hasMessageContaining("needs a value");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--host-id", "bad/id"), Map.of()))
        .hasMessageContaining("--host-id");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--cluster-members", "nohost"), Map.of()))
        .hasMessageContaining("--cluster-members");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("stray"), Map.of()))
        .hasMessageContaining("unexpected argument");
  }
}
