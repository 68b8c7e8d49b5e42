package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** vipfarm start for farms: roles, the bridge's certificates, config file and environment, and refusals. */
class FarmOptionsTest {
  @TempDir
  static Path ca;
  static List<String> controlCerts;
  static List<String> agentCerts;

  /** Real certificates from `vipfarm ca` (openssl). */
  @BeforeAll
  static void issueCertificates() throws Exception {
    FarmCa farmCa = FarmCa.init(ca);
    controlCerts = FarmCa.options(farmCa.control("c1", "127.0.0.1"));
    agentCerts = FarmCa.options(farmCa.agent("web-01"));
  }

  private static List<String> args(List<String> certs, String... more) {
    List<String> all = new ArrayList<>(List.of(more));
    all.addAll(certs);
    return all;
  }

  @Test
  void caKeysAreForRootOnlyAndCertificatesNameTheHost() throws Exception {
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ca.resolve("agents/web-01.key"))))
        .isEqualTo("rw-------");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(ca.resolve("ca.key")))).isEqualTo("rw-------");
    assertThat(io.vipfarm.deploy.bridge.BridgeTls.commonName(ca.resolve("agents/web-01.pem"))).contains("web-01");
  }

  @Test
  void noOptionsIsStillOneMachineWithoutBridgeOrMulticast() {
    NodeOptions o = StartCommandLine.parse(List.of(), Map.of());
    assertThat(o.role()).isEqualTo(Role.ALL);
    assertThat(o.bindAddress()).isEqualTo("127.0.0.1");
    assertThat(o.clusterMembers()).isEmpty();
    assertThat(o.multicast()).isFalse();
    assertThat(o.bridge().tls()).isNull();
  }

  @Test
  void controlMemberWithItsBridge() {
    NodeOptions o = StartCommandLine.parse(args(controlCerts, "--role", "control", "--bridge-port", "7500",
        "--agent-grace", "12", "--multicast", "--cluster-members", "10.0.0.2:5701"), Map.of());
    assertThat(o.role()).isEqualTo(Role.CONTROL);
    assertThat(o.bridge().port()).isEqualTo(7500);
    assertThat(o.bridge().agentGraceSeconds()).isEqualTo(12);
    assertThat(o.bridge().tls().ca()).isEqualTo(ca.resolve("ca.pem"));
    assertThat(o.multicast()).isTrue();
  }

  @Test
  void agentWithItsControlMembers() {
    NodeOptions o = StartCommandLine.parse(args(agentCerts, "--role", "agent", "--host-id", "web-01",
        "--control-members", "127.0.0.1:7443,127.0.0.2:7443"), Map.of());
    assertThat(o.role()).isEqualTo(Role.AGENT);
    assertThat(o.bridge().controlMembers()).containsExactly("127.0.0.1:7443", "127.0.0.2:7443");
  }

  @Test
  void flagsBeatEnvironmentBeatsFileBeatsDefaults(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("vipfarm.yaml"), String.join("\n",
        "cluster-name: from-file",
        "cluster-members: [10.0.0.1:5701, 10.0.0.2:5701]",
        "http-port: 9000",
        "expected-members: 3",
        ""));
    List<String> config = List.of("--config", file.toString());
    Map<String, String> env = Map.of("VIPFARM_CLUSTER_NAME", "from-env", "VIPFARM_HTTP_PORT", "9001");

    NodeOptions fileOnly = StartCommandLine.parse(config, Map.of());
    assertThat(fileOnly.clusterName()).isEqualTo("from-file");
    assertThat(fileOnly.clusterMembers()).containsExactly("10.0.0.1:5701", "10.0.0.2:5701");
    assertThat(fileOnly.httpPort()).isEqualTo(9000);
    assertThat(fileOnly.expectedMembers()).isEqualTo(3);

    NodeOptions withEnv = StartCommandLine.parse(config, env);
    assertThat(withEnv.clusterName()).isEqualTo("from-env");
    assertThat(withEnv.httpPort()).isEqualTo(9001);
    assertThat(withEnv.expectedMembers()).as("untouched by env").isEqualTo(3);

    NodeOptions withFlag = StartCommandLine.parse(List.of("--config", file.toString(), "--cluster-name", "from-flag"), env);
    assertThat(withFlag.clusterName()).isEqualTo("from-flag");
    assertThat(withFlag.httpPort()).isEqualTo(9001);

    NodeOptions fileFromEnv = StartCommandLine.parse(List.of(), Map.of("VIPFARM_CONFIG", file.toString()));
    assertThat(fileFromEnv.clusterName()).isEqualTo("from-file");
    assertThat(StartCommandLine.parse(List.of(), Map.of()).clusterName()).isEqualTo("vipfarm");
  }

  @Test
  void badConfigFilesAreRefusedNamingTheFile(@TempDir Path dir) throws Exception {
    Path unknown = Files.writeString(dir.resolve("unknown.yaml"), "cluster-colour: red\n");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--config", unknown.toString()), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--cluster-colour").hasMessageContaining("unknown.yaml");
    Path badValue = Files.writeString(dir.resolve("bad.yaml"), "http-port: lots\n");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--config", badValue.toString()), Map.of()))
        .hasMessageContaining("--http-port").hasMessageContaining("bad.yaml");
    Path notYaml = Files.writeString(dir.resolve("broken.yaml"), "a: [1,\n");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--config", notYaml.toString()), Map.of()))
        .hasMessageContaining("not valid YAML");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--config", dir.resolve("none.yaml").toString()), Map.of()))
        .hasMessageContaining("cannot read");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of(), Map.of("VIPFARM_HTTP_PORT", "x")))
        .hasMessageContaining("VIPFARM_HTTP_PORT");
  }

  @Test
  void contradictionsAreRefused() {
    List<String> agent = args(agentCerts, "--role", "agent", "--host-id", "web-01", "--control-members", "127.0.0.1:7443");
    for (List<String> extra : List.of(List.of("--cluster-port", "5701"), List.of("--cluster-members", "10.0.0.1:5701"),
        List.of("--cluster-name", "x"), List.of("--http-port", "8080"), List.of("--multicast"),
        List.of("--expected-members", "3"), List.of("--bind-address", "10.0.0.1"))) {
      List<String> all = new ArrayList<>(agent);
      all.addAll(extra);
      assertThatThrownBy(() -> StartCommandLine.parse(all, Map.of())).as(extra.toString())
          .isInstanceOf(UsageException.class).hasMessageContaining(extra.get(0) + " is not for --role agent");
    }
    assertThatThrownBy(() -> StartCommandLine.parse(args(agentCerts, "--role", "agent", "--host-id", "web-01"), Map.of()))
        .hasMessageContaining("--control-members");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "control"), Map.of()))
        .hasMessageContaining("--role control needs --bridge-cert");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "agent", "--host-id", "web-01",
        "--control-members", "127.0.0.1:7443"), Map.of())).hasMessageContaining("--role agent needs --bridge-cert");
    assertThatThrownBy(() -> StartCommandLine.parse(args(controlCerts, "--role", "control", "--control-members",
        "127.0.0.1:7443"), Map.of())).hasMessageContaining("--control-members is for --role agent");
    assertThatThrownBy(() -> StartCommandLine.parse(args(controlCerts, "--role", "control", "--host-id", "h"), Map.of()))
        .hasMessageContaining("--host-id is for agents");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "control", "--bridge-cert",
        ca.resolve("control/c1.pem").toString()), Map.of())).hasMessageContaining("go together");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "agent"), Map.of("VIPFARM_CLUSTER_PORT", "5701")))
        .hasMessageContaining("--cluster-port is not for --role agent (from environment VIPFARM_CLUSTER_PORT)");
  }

  @Test
  void anAgentActsOnlyAsTheHostOfItsCertificate() {
    assertThatThrownBy(() -> StartCommandLine.parse(args(agentCerts, "--role", "agent", "--host-id", "web-02",
        "--control-members", "127.0.0.1:7443"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("is for host 'web-01', not --host-id 'web-02'");
  }
}
