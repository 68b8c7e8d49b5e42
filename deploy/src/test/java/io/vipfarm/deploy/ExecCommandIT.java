package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vipfarm exec} as a user runs it: clear refusals, and the session's environment when it runs. */
class ExecCommandIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();

  @TempDir Path tmp;
  private final List<ManagedProcess> processes = new ArrayList<>();

  @AfterEach
  void stop() {
    processes.forEach(p -> p.stop(10));
  }

  @Test
  @DisplayName("exec refuses a session that is not running, a missing --session and a missing command")
  void refusals() throws Exception {
    Path runDir = Files.createDirectories(tmp.resolve("run/sessions"));

    ManagedProcess unknown = run("unknown", VIPFARM.toString(), "exec", "--session", "42", "--run-dir", runDir.getParent().toString(), "--", "true");
    assertThat(unknown.waitFor(30)).isEqualTo(2);
    assertThat(unknown.output()).contains("session '42' is not running on this host");

    ManagedProcess noSession = run("nosession", VIPFARM.toString(), "exec", "--", "true");
    assertThat(noSession.waitFor(30)).isEqualTo(2);
    assertThat(noSession.output()).contains("--session ID is required");

    ManagedProcess noCommand = run("nocommand", VIPFARM.toString(), "exec", "--session", "7", "--run-dir", runDir.getParent().toString());
    assertThat(noCommand.waitFor(30)).isEqualTo(2);
    assertThat(noCommand.output()).contains("no command given");

    ManagedProcess badId = run("badid", VIPFARM.toString(), "exec", "--session", "../7", "--", "true");
    assertThat(badId.waitFor(30)).isEqualTo(2);
    assertThat(badId.output()).contains("invalid session id");
  }

  @Test
  @DisplayName("exec runs the command with the shim preloaded, the session id and an absolute run dir")
  void runsInTheSession() throws Exception {
    Path sessions = Files.createDirectories(tmp.resolve("run/sessions"));
    Files.writeString(sessions.resolve("7.rules"), "vipfarm-rules 1\nsession 7\nloopback4 127.0.0.8\n");

    ManagedProcess env = run("env", "bash", "-c",
        "cd " + tmp + " && " + VIPFARM + " exec --session 7 --run-dir run -- "
            + "sh -c 'echo \"$VIPFARM_SESSION|$VIPFARM_RUN_DIR|$LD_PRELOAD\"'");

    assertThat(env.waitFor(30)).as(env.output()).isZero();
    String[] fields = env.output().trim().split("\\|");
    assertThat(fields[0]).isEqualTo("7");
    assertThat(fields[1]).isEqualTo(tmp.resolve("run").toRealPath().toString());
    assertThat(fields[2]).endsWith("/lib/native/libvipfarm.so");
    assertThat(Path.of(fields[2])).exists();
  }

  @Test
  @DisplayName("on the kernel path exec joins the session's cgroup (named in <run-dir>/sessions/ID.cgroup) before"
      + " running the command, and refuses to run it unenforced when it cannot")
  void joinsTheSessionCgroup() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0, "needs root: skipped");
    Path mount = Files.readAllLines(Path.of("/proc/self/mounts")).stream().map(l -> l.split(" "))
        .filter(f -> f.length > 2 && f[2].equals("cgroup2")).map(f -> Path.of(f[1])).findFirst().orElse(null);
    org.junit.jupiter.api.Assumptions.assumeTrue(mount != null, "no cgroup2 mount: skipped");
    Path parent = mount.resolve("vipfarm-exec-" + java.util.UUID.randomUUID().toString().substring(0, 8));
    Path cgroup = Files.createDirectories(parent.resolve("session-7"));
    try {
      Path sessions = Files.createDirectories(tmp.resolve("run/sessions"));
      Files.writeString(sessions.resolve("7.rules"), "vipfarm-rules 1\nsession 7\nloopback4 127.0.0.8\n");
      Files.writeString(sessions.resolve("7.cgroup"), cgroup + "\n");

      ManagedProcess cat = run("cat", VIPFARM.toString(), "exec", "--session", "7", "--run-dir",
          sessions.getParent().toString(), "--", "sh", "-c", "grep '^0::' /proc/self/cgroup; echo \"$LD_PRELOAD\"");
      assertThat(cat.waitFor(30)).as(cat.output()).isZero();
      assertThat(cat.output()).contains("0::/" + mount.relativize(cgroup) + "\n").contains("libvipfarm.so");

      Files.writeString(sessions.resolve("7.cgroup"), parent.resolve("session-gone") + "\n");
      ManagedProcess gone = run("gone", VIPFARM.toString(), "exec", "--session", "7", "--run-dir",
          sessions.getParent().toString(), "--", "true");
      assertThat(gone.waitFor(30)).isEqualTo(2);
      assertThat(gone.output()).contains("the cgroup of session '7'").contains("does not exist");
    } finally {
      Files.deleteIfExists(cgroup);
      Files.deleteIfExists(parent);
    }
  }

  private ManagedProcess run(String name, String... argv) {
    ManagedProcess p = ManagedProcess.start(name, List.of(argv), Map.of(), tmp.resolve("logs"));
    processes.add(p);
    return p;
  }
}
