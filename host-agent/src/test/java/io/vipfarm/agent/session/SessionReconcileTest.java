package io.vipfarm.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SessionReconcileTest {
  private static LogindSession session(String id, String user, String sessionClass) {
    return new LogindSession(id, user, 1000, sessionClass, "session-" + id + ".scope", true, "active", "sshd");
  }

  @Test
  void startsFollowedSessionsTheAgentLacksAndEndsWhatLogindNoLongerHas() {
    SessionReconcile plan = SessionReconcile.of(
        List.of(session("3", "alice", "user"), session("c1", "bob", "user"), session("c2", "gdm", "greeter"),
            session("5", "carol", "user")),
        Set.of("user"),
        List.of("5", "7", "c2"));
    assertThat(plan.toStart()).extracting(LogindSession::id).containsExactly("3", "c1");
    // 7 ended while vipfarm was away; c2 is a greeter, not followed (any more)
    assertThat(plan.toEnd()).containsExactly("7", "c2");
  }

  @Test
  void followsOnlyTheConfiguredClassesAndNamedUsers() {
    assertThat(session("3", "alice", "user").followedWith(Set.of("user"))).isTrue();
    assertThat(session("3", "alice", "background").followedWith(Set.of("user"))).isFalse();
    assertThat(session("3", "gdm", "greeter").followedWith(Set.of("user", "greeter"))).isTrue();
    assertThat(session("3", "", "user").followedWith(Set.of("user"))).isFalse();
  }

  @Test
  void nothingToDoWhenBothAgree() {
    SessionReconcile plan = SessionReconcile.of(List.of(session("3", "alice", "user")), Set.of("user"), List.of("3"));
    assertThat(plan.toStart()).isEmpty();
    assertThat(plan.toEnd()).isEmpty();
  }
}
