package io.vipfarm.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding a logind session's scope in the cgroup2 tree, on a directory tree standing in for /proc and the mount. */
class ScopeCgroupTest {
  private static final String CGROUP = "12:pids:/user.slice/user-1000.slice/session-3.scope\n"
      + "1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n";

  private static LogindSession session(String scope, long leader) {
    return new LogindSession("3", "alice", 1000, "user", scope, true, "active", "sshd", leader);
  }

  @Test
  @DisplayName("the leader's 0:: line, cut after the scope (the leader may be in a sub-cgroup of it)")
  void fromLeader() {
    assertThat(ScopeCgroup.fromProcCgroup(CGROUP + "0::/user.slice/user-1000.slice/session-3.scope\n",
        "session-3.scope")).contains("/user.slice/user-1000.slice/session-3.scope");
    assertThat(ScopeCgroup.fromProcCgroup(CGROUP + "0::/user.slice/user-1000.slice/session-3.scope/sub\n",
        "session-3.scope")).contains("/user.slice/user-1000.slice/session-3.scope");
    assertThat(ScopeCgroup.fromProcCgroup("0::/user.slice/user-1000.slice/session-33.scope\n", "session-3.scope"))
        .as("another scope whose name starts alike").isEmpty();
    assertThat(ScopeCgroup.fromProcCgroup(CGROUP, "session-3.scope")).as("no cgroup2 line").isEmpty();
  }

  @Test
  @DisplayName("a gone or moved leader: found by name, systemd's layout first, else a single match; else none")
  void byName(@TempDir Path temp) throws Exception {
    Path proc = Files.createDirectories(temp.resolve("proc/42"));
    Files.writeString(proc.resolve("cgroup"), "0::/system.slice/sshd.service\n");
    Path mount = temp.resolve("cg2");
    Path usual = Files.createDirectories(mount.resolve("user.slice/user-1000.slice/session-3.scope"));
    Files.createDirectories(mount.resolve("other/session-3.scope"));
    assertThat(ScopeCgroup.of(session("session-3.scope", 42), temp.resolve("proc"), Optional.of(mount)))
        .contains("/user.slice/user-1000.slice/session-3.scope");
    Files.delete(usual);
    assertThat(ScopeCgroup.of(session("session-3.scope", 0), temp.resolve("proc"), Optional.of(mount)))
        .contains("/other/session-3.scope");
    Files.createDirectories(mount.resolve("more/session-3.scope"));
    assertThat(ScopeCgroup.of(session("session-3.scope", 7), temp.resolve("proc"), Optional.of(mount)))
        .as("two candidates").isEmpty();
    assertThat(ScopeCgroup.of(session("", 42), temp.resolve("proc"), Optional.of(mount))).isEmpty();
    assertThat(ScopeCgroup.of(session("session-3.scope", 0), temp.resolve("proc"), Optional.empty())).isEmpty();
  }
}
