package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/systemd/*.service pass {@code systemd-analyze verify} (Debian package systemd; skipped where it
 * is missing). The units name the installed /opt/vipfarm/bin/vipfarm, which verify wants to exist, so a
 * copy pointing at this tree's bin/vipfarm is verified. Nothing is installed, enabled or started.
 */
class SystemdUnitsTest {
  private static final Path UNITS = Path.of("systemd");
  private static final Path VIPFARM = Path.of("bin/vipfarm").toAbsolutePath();

  @Test
  void unitsPassSystemdAnalyzeVerify(@TempDir Path tmp) throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-analyze")),
        "skipping: systemd-analyze is not installed (Debian package systemd)");
    List<String> units = List.of("vipfarm-control.service", "vipfarm-agent.service");
    for (String unit : units) {
      String text = Files.readString(UNITS.resolve(unit));
      String role = unit.equals("vipfarm-control.service") ? "control" : "agent";
      assertThat(text).contains("ExecStart=/opt/vipfarm/bin/vipfarm start --role " + role, "Restart=on-failure",
          "EnvironmentFile=-/etc/vipfarm/", "--config /etc/vipfarm/" + role + ".yaml",
          "After=network-online.target");
      Files.writeString(tmp.resolve(unit), text.replace("/opt/vipfarm/bin/vipfarm", VIPFARM.toString()));
    }
    Process verify = new ProcessBuilder("systemd-analyze", "verify", "--man=no",
        tmp.resolve(units.get(0)).toString(), tmp.resolve(units.get(1)).toString())
        .redirectErrorStream(true).start();
    String output = new String(verify.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(verify.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(verify.exitValue()).as("systemd-analyze verify:\n%s", output).isZero();
    assertThat(output).as("warnings of systemd-analyze verify").isBlank();
  }
}
