package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    NodeOptions o = StartCommandLine.parse(List.of("--role=all", "--http-port", "9090", "--host-id=web-01",
        "--data-dir", "/tmp/d", "--run-dir=/tmp/r", "--cluster-name", "farm", "--cluster-port", "5801",
        "--cluster-members", "127.0.0.1:5701, 127.0.0.2:5701", "--bind-address", "127.0.0.1"), Map.of());
    assertThat(o.role()).isEqualTo(Role.ALL);
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

  @Test
  void interceptionDefaultsToAutoAndTakesTheKernelPathSettings() {
    assertThat(StartCommandLine.parse(List.of("--host-id", "h1"), Map.of()).interception().interception())
        .isEqualTo("auto");
    NodeOptions o = StartCommandLine.parse(List.of("--interception", "kernel", "--cgroup-parent",
        "/sys/fs/cgroup/farm.slice", "--bpf-pin-dir=/sys/fs/bpf/farm", "--loopback6-prefix", "fd01:2:3:4::/64"),
        Map.of());
    assertThat(o.interception().interception()).isEqualTo("kernel");
    assertThat(o.interception().cgroupParent()).isEqualTo(Path.of("/sys/fs/cgroup/farm.slice"));
    assertThat(o.interception().pinDir()).isEqualTo(Path.of("/sys/fs/bpf/farm"));
    assertThat(o.interception().loopback6Prefix()).isEqualTo("fd01:2:3:4::/64");
    assertThat(StartCommandLine.parse(List.of("--interception=preload"), Map.of()).interception().interception())
        .isEqualTo("preload");
    assertThat(StartCommandLine.parse(List.of("--loopback6-prefix", "none"), Map.of()).interception().loopback6Prefix())
        .isEqualTo("none");
  }

  @Test
  void refusesBadInterceptionSettings() {
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--interception", "ebpf"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--interception").hasMessageContaining("auto, kernel or preload");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--loopback6-prefix", "2001:db8::/64"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("unique-local");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--cgroup-parent", " "), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--cgroup-parent");
  }

  @Test
  void tlsNeedsBothCertificateAndKey(@TempDir Path dir) throws Exception {
    Path cert = Files.writeString(dir.resolve("cert.pem"), "-----BEGIN CERTIFICATE-----\n");
    Path key = Files.writeString(dir.resolve("key.pem"), "-----BEGIN PRIVATE KEY-----\n");

    NodeOptions both = StartCommandLine.parse(List.of("--host-id", "h1", "--tls-cert", cert.toString(),
        "--tls-key=" + key), Map.of());
    assertThat(both.tlsCert()).isEqualTo(cert.toAbsolutePath());
    assertThat(both.tlsKey()).isEqualTo(key.toAbsolutePath());

    NodeOptions neither = StartCommandLine.parse(List.of("--host-id", "h1"), Map.of());
    assertThat(neither.tlsCert()).isNull();
    assertThat(neither.tlsKey()).isNull();

    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--host-id", "h1", "--tls-cert", cert.toString()), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--tls-cert and --tls-key go together");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--host-id", "h1", "--tls-key", key.toString()), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--tls-cert and --tls-key go together");
  }

  @Test
  void tlsFilesMustBeReadableFiles(@TempDir Path dir) {
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--tls-cert", dir.resolve("missing.pem").toString(),
        "--tls-key", dir.resolve("missing-key.pem").toString()), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--tls-cert must name a readable PEM file");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--tls-cert", dir.toString()), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--tls-cert must name a readable PEM file");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--tls-key", ""), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--tls-key must not be empty");
  }

  @Test
  void webhookAllowTakesHostsDomainsOrEverything() {
    assertThat(StartCommandLine.parse(List.of("--host-id", "h1"), Map.of()).webhookAllow()).isEmpty();
    assertThat(StartCommandLine.parse(List.of("--host-id", "h1", "--webhook-allow",
        "hooks.example.com, *.corp.example, 10.0.0.5,,"), Map.of()).webhookAllow())
        .containsExactly("hooks.example.com", "*.corp.example", "10.0.0.5");
    assertThat(StartCommandLine.parse(List.of("--host-id", "h1", "--webhook-allow=*"), Map.of()).webhookAllow())
        .containsExactly("*");
    // The last --webhook-allow wins, like every other option.
    assertThat(StartCommandLine.parse(List.of("--host-id", "h1", "--webhook-allow", "a.example",
        "--webhook-allow", "b.example"), Map.of()).webhookAllow()).containsExactly("b.example");
  }

  @Test
  void webhookAllowRefusesWhatIsNoHostPattern() {
    for (String bad : List.of("http://hooks.example.com", "hooks.example.com:8443", "*example.com", "a.*.example",
        "user@host", "host/path", "**")) {
      assertThatThrownBy(() -> StartCommandLine.parse(List.of("--host-id", "h1", "--webhook-allow", bad), Map.of()))
          .as(bad).isInstanceOf(UsageException.class).hasMessageContaining("--webhook-allow");
    }
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--host-id", "h1", "--webhook-allow"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("needs a value");
  }

  @Test
  void expectedMembersSetTheQuorumOfAControlPlane() {
    assertThat(StartCommandLine.parse(List.of("--host-id", "h"), Map.of()).expectedMembers()).isEqualTo(1);
    assertThat(StartCommandLine.parse(List.of("--role", "all", "--expected-members", "3"), Map.of()).expectedMembers())
        .isEqualTo(3);
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--expected-members", "0"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--expected-members");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--expected-members", "three"), Map.of()))
        .hasMessageContaining("--expected-members");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "agent", "--expected-members", "3"), Map.of()))
        .hasMessageContaining("--expected-members is not for --role agent");
  }

  @Test
  void vipInterfaceIsForAgentsAndNeedsALabelableName() {
    assertThat(StartCommandLine.parse(List.of("--host-id", "h1"), Map.of()).vipInterface()).isNull();
    assertThat(StartCommandLine.parse(List.of("--vip-interface", "eth0"), Map.of()).vipInterface()).isEqualTo("eth0");
    assertThat(StartCommandLine.parse(List.of("--vip-interface=bond0.12"), Map.of()).vipInterface())
        .isEqualTo("bond0.12");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "control", "--vip-interface", "eth0"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--vip-interface is for agents");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--vip-interface", "enx001122334455"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--vip-interface").hasMessageContaining("15");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--vip-interface", "eth0 label x"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("not an interface name");
  }
}
