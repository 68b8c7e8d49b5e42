package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vipfarm.agent.session.SessionSources;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@code vipfarm start --sessions ...}: where the agent's sessions come from. */
class SessionOptionsTest {

  @Test
  void apiOnlyUnlessAsked() {
    NodeOptions o = StartCommandLine.parse(List.of("--host-id", "h1"), Map.of());
    assertThat(o.sessionSources()).isEqualTo(SessionSources.apiOnly());
    assertThat(o.sessionSources().any()).isFalse();
  }

  @Test
  void logindAndPamWithTheSystemBusFromTheEnvironment() {
    NodeOptions o = StartCommandLine.parse(List.of("--sessions", "logind,pam", "--logind-classes", "user,greeter"),
        Map.of("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/tmp/test-bus"));
    assertThat(o.sessionSources()).isEqualTo(
        new SessionSources(true, true, "unix:path=/tmp/test-bus", Set.of("user", "greeter")));
    NodeOptions defaults = StartCommandLine.parse(List.of("--sessions=logind"), Map.of());
    assertThat(defaults.sessionSources().logindBus()).isEqualTo("unix:path=/run/dbus/system_bus_socket");
    assertThat(defaults.sessionSources().logindClasses()).containsExactly("user");
    NodeOptions bus = StartCommandLine.parse(List.of("--sessions", "logind", "--logind-bus", "unix:path=/x"),
        Map.of("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/y"));
    assertThat(bus.sessionSources().logindBus()).isEqualTo("unix:path=/x");
  }

  @Test
  void refusesUnknownSourcesClassesAndContradictions() {
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--sessions", "ldap"), Map.of()))
        .isInstanceOf(UsageException.class).hasMessageContaining("--sessions").hasMessageContaining("ldap");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--sessions", "logind", "--logind-classes", "usr"),
        Map.of())).hasMessageContaining("unknown logind session class 'usr'");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--logind-classes", "user"), Map.of()))
        .hasMessageContaining("need --sessions logind");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--sessions", "api", "--logind-bus", "unix:path=/x"),
        Map.of())).hasMessageContaining("need --sessions logind");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--role", "control", "--sessions", "pam"), Map.of()))
        .hasMessageContaining("--sessions is for agents").hasMessageContaining("runs no host agent");
    assertThatThrownBy(() -> StartCommandLine.parse(List.of("--sessions", "logind", "--logind-bus", " "), Map.of()))
        .hasMessageContaining("--logind-bus must not be empty");
  }
}
