package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.deploy.bridge.BridgeTls;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A real farm CA made by `bin/vipfarm ca` (openssl) in a test's directory. */
final class FarmCa {
  private final Path dir;

  private FarmCa(Path dir) {
    this.dir = dir;
  }

  static FarmCa init(Path dir) throws Exception {
    run("init", "--dir", dir.toString());
    return new FarmCa(dir);
  }

  BridgeTls control(String name, String address) throws Exception {
    run("issue", "--dir", dir.toString(), "--control", name, "--address", address);
    return new BridgeTls(dir.resolve("control/" + name + ".pem"), dir.resolve("control/" + name + ".key"), ca());
  }

  BridgeTls agent(String hostId) throws Exception {
    run("issue", "--dir", dir.toString(), "--host-id", hostId);
    return new BridgeTls(dir.resolve("agents/" + hostId + ".pem"), dir.resolve("agents/" + hostId + ".key"), ca());
  }

  Path ca() {
    return dir.resolve("ca.pem");
  }

  Path dir() {
    return dir;
  }

  /** The options that hand {@code tls} to vipfarm start. */
  static List<String> options(BridgeTls tls) {
    return List.of("--bridge-cert", tls.cert().toString(), "--bridge-key", tls.key().toString(),
        "--bridge-ca", tls.ca().toString());
  }

  private static void run(String... args) throws Exception {
    List<String> command = new ArrayList<>(List.of("bash", "bin/vipfarm", "ca"));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
  }
}
