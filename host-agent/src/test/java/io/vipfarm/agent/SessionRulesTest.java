package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.model.VirtualIpView;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SessionRulesTest {
  private static final LoopbackAddress SESSION_7 = LoopbackAddress.of("7");

  private static EffectivePolicy policy(boolean loopback, List<String> loopbackPrograms, List<Integer> ports,
      boolean vip, VipMode mode, List<String> vipPrograms, boolean dedicated, List<String> preferLoopback) {
    return new EffectivePolicy(loopback, loopbackPrograms, ports, vip, mode, "default", vipPrograms,
        OnExhausted.FALLBACK_HOST_IP, dedicated, preferLoopback, List.of("test"));
  }

  private static VirtualIpView vip(String address, String program) {
    return new VirtualIpView(address, "default", program, 1_000L);
  }

  @Test
  @DisplayName("Per-session mode writes exactly the example of docs/rules-format.md")
  void perSessionMatchesTheDocumentedExample() {
    EffectivePolicy policy = policy(true, List.of("*"), List.of(5432), true, VipMode.PER_SESSION, List.of(),
        false, List.of("python3*", "curl"));
    String text = SessionRules.render("7", SESSION_7, policy, List.of(vip("127.100.0.1", null)),
        List.of("10.1.2.3"));
    assertThat(text).isEqualTo("""
        vipfarm-rules 1
        session 7
        loopback4 127.0.0.8
        loopback-programs *
        excluded-ports 5432
        vip4 127.100.0.1
        vip-programs *
        prefer-loopback python3* curl
        host-addresses 10.1.2.3
        """);
  }

  @Test
  @DisplayName("Per-program mode with a shared VIP lists the policy's programs for vip4")
  void perProgramShared() {
    EffectivePolicy policy = policy(true, List.of("java", "node*"), List.of(), true, VipMode.PER_PROGRAM,
        List.of("softphone", "crm-*"), false, List.of());
    String text = SessionRules.render("c3", LoopbackAddress.of("c3"), policy, List.of(vip("127.100.0.9", null)),
        List.of("127.1.2.3", "fd00:0:0:0:0:0:0:5"));
    assertThat(text).isEqualTo("""
        vipfarm-rules 1
        session c3
        loopback4 127.255.255.253
        loopback-programs java node*
        vip4 127.100.0.9
        vip-programs softphone crm-*
        host-addresses 127.1.2.3 fd00:0:0:0:0:0:0:5
        """);
  }

  @Test
  @DisplayName("Dedicated per-program VIPs become one program-vip line each, and no vip4")
  void dedicatedPerProgram() {
    EffectivePolicy policy = policy(true, List.of("*"), List.of(22, 5432), true, VipMode.PER_PROGRAM,
        List.of("softphone", "crm-*"), true, List.of());
    String text = SessionRules.render("7", SESSION_7, policy,
        List.of(vip("127.100.0.1", "softphone"), vip("127.100.0.2", "crm-*")), List.of());
    assertThat(text).isEqualTo("""
        vipfarm-rules 1
        session 7
        loopback4 127.0.0.8
        loopback-programs *
        excluded-ports 22 5432
        program-vip softphone 127.100.0.1
        program-vip crm-* 127.100.0.2
        """);
  }

  @Test
  @DisplayName("Without loopback and without a VIP (policy off, or pool fallback) only the header remains")
  void nothingApplies() {
    String text = SessionRules.render("7", null, EffectivePolicy.none(), List.of(), List.of());
    assertThat(text).isEqualTo("""
        vipfarm-rules 1
        session 7
        """);
  }

  @Test
  @DisplayName("Virtual loopback with an empty program list applies to no program: no loopback4")
  void loopbackForNoProgram() {
    EffectivePolicy policy = policy(true, List.of(), List.of(), false, VipMode.PER_SESSION, List.of(), false,
        List.of());
    assertThat(SessionRules.render("7", SESSION_7, policy, List.of(), List.of())).doesNotContain("loopback4");
  }

  @Test
  @DisplayName("A glob with white space or '#' is refused, naming the policy setting, instead of being split")
  void refusesUnwritableWords() {
    EffectivePolicy policy = policy(true, List.of("my prog"), List.of(), false, VipMode.PER_SESSION, List.of(),
        false, List.of());
    assertThatThrownBy(() -> SessionRules.render("7", SESSION_7, policy, List.of(), List.of()))
        .isInstanceOfSatisfying(VipfarmException.class, e -> {
          assertThat(e.type()).isEqualTo(ErrorType.INVALID_FIELD);
          assertThat(e.field()).isEqualTo("virtualLoopback.programs");
        });
    EffectivePolicy hash = policy(false, List.of("*"), List.of(), true, VipMode.PER_PROGRAM, List.of("a#b"),
        false, List.of());
    assertThatThrownBy(() -> SessionRules.render("7", null, hash, List.of(vip("127.100.0.1", null)), List.of()))
        .isInstanceOfSatisfying(VipfarmException.class,
            e -> assertThat(e.field()).isEqualTo("virtualIp.programs"));
    EffectivePolicy newline = policy(false, List.of("*"), List.of(), false, VipMode.PER_SESSION, List.of(),
        false, List.of("curl\nvip4 1.2.3.4"));
    assertThatThrownBy(() -> SessionRules.render("7", null, newline, List.of(), List.of()))
        .isInstanceOfSatisfying(VipfarmException.class,
            e -> assertThat(e.field()).isEqualTo("preferLoopback.processes"));
  }

  @Test
  @DisplayName("A port outside 1..65535 is refused")
  void refusesBadPorts() {
    EffectivePolicy policy = policy(true, List.of("*"), List.of(0), false, VipMode.PER_SESSION, List.of(), false,
        List.of());
    assertThatThrownBy(() -> SessionRules.render("7", SESSION_7, policy, List.of(), List.of()))
        .isInstanceOfSatisfying(VipfarmException.class,
            e -> assertThat(e.field()).isEqualTo("virtualLoopback.excludedPorts"));
  }
}
