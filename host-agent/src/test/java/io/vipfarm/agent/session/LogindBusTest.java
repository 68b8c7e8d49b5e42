package io.vipfarm.agent.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vipfarm.agent.PrivateLogindBus;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What vipfarm reads from logind over a real dbus-daemon (private bus) and the logind stand-in. */
class LogindBusTest {
  private PrivateLogindBus bus;
  private LogindBus logind;
  private final List<String> changed = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp(@TempDir Path dir) throws Exception {
    String missing = PrivateLogindBus.missing();
    assumeTrue(missing == null, () -> "skipped: " + missing);
    bus = PrivateLogindBus.start(dir);
    logind = LogindBus.connect(bus.address(), changed::add, () -> { });
  }

  @AfterEach
  void tearDown() throws Exception {
    if (logind != null) {
      logind.close();
    }
    if (bus != null) {
      bus.close();
    }
  }

  @Test
  @DisplayName("Reads every session's id, user, uid, class, scope, remote, state and service; signals name the session")
  void readsSessionsAndSignals() throws Exception {
    bus.command("quiet-new 3 1000 alice user sshd");
    bus.command("quiet-new c1 0 root greeter lightdm");
    assertThat(logind.sessions()).containsExactlyInAnyOrder(
        new LogindSession("3", "alice", 1000, "user", "session-3.scope", true, "active", "sshd"),
        new LogindSession("c1", "root", 0, "greeter", "session-c1.scope", false, "active", "lightdm"));
    assertThat(logind.session("c1")).map(LogindSession::user).contains("root");
    assertThat(logind.session("42")).isEmpty();

    bus.command("new 4 4294967294 nobody user login");
    bus.command("remove 3");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (changed.size() < 2 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertThat(changed).containsExactlyInAnyOrder("4", "3");
    assertThat(logind.session("4")).map(LogindSession::uid).contains(4294967294L); // a u, not an int
    assertThat(logind.session("3")).isEmpty();
  }
}
