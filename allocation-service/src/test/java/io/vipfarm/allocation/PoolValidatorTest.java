package io.vipfarm.allocation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.PoolSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class PoolValidatorTest {

  private static PoolSpec spec(String name, String cidr, List<String> exclude, Map<String, String> reservations, int lease) {
    return new PoolSpec(name, cidr, exclude, reservations, lease);
  }

  private static VipfarmException refusal(PoolSpec spec) {
    VipfarmException e = catchThrowableOfType(VipfarmException.class, () -> PoolValidator.validate(spec));
    assertThat(e).as("validation of %s", spec).isNotNull();
    assertThat(e.type()).isEqualTo(ErrorType.INVALID_FIELD);
    return e;
  }

  @Test
  @DisplayName("usable size: network and broadcast off up to /30, every address of /31 and /32, exclusions once")
  void usableSizes() {
    assertThat(PoolValidator.validate(spec("a", "127.100.0.0/24", null, null, 0)).size()).isEqualTo(254);
    assertThat(PoolValidator.validate(spec("a", "127.100.0.0/30", null, null, 0)).size()).isEqualTo(2);
    assertThat(PoolValidator.validate(spec("a", "127.100.0.0/31", null, null, 0)).size()).isEqualTo(2);
    assertThat(PoolValidator.validate(spec("a", "127.100.0.9/32", null, null, 0)).size()).isEqualTo(1);
    assertThat(PoolValidator.validate(spec("a", "10.0.0.0/8", null, null, 0)).size()).isEqualTo(16_777_214L);
    // 127.100.0.0/29 overlaps the network address; .5 is listed twice (as an address and inside a /31)
    PoolDefinition excluded = PoolValidator.validate(
        spec("a", "127.100.0.0/24", List.of("127.100.0.0/29", "127.100.0.5", "127.100.0.100/31"), null, 0));
    assertThat(excluded.size()).isEqualTo(256 - 2 - 7 - 2);
    assertThat(excluded.isUsable(Ipv4Address.parse("127.100.0.8").bits())).isTrue();
    assertThat(excluded.isUsable(Ipv4Address.parse("127.100.0.7").bits())).isFalse();
    assertThat(excluded.isUsable(Ipv4Address.parse("127.100.0.255").bits())).isFalse();
    assertThat(excluded.isUsable(Ipv4Address.parse("127.101.0.1").bits())).isFalse();
  }

  @Test
  @DisplayName("lease time: 0 means the default, 10..86400 accepted, anything else names leaseSeconds")
  void leaseSeconds() {
    assertThat(PoolValidator.validate(spec("a", "127.100.0.0/24", null, null, 0)).leaseSeconds())
        .isEqualTo(PoolSpec.DEFAULT_LEASE_SECONDS);
    assertThat(PoolValidator.validate(spec("a", "127.100.0.0/24", null, null, 10)).leaseMillis()).isEqualTo(10_000);
    assertThat(PoolValidator.validate(spec("a", "127.100.0.0/24", null, null, 86_400)).leaseSeconds()).isEqualTo(86_400);
    assertThat(refusal(spec("a", "127.100.0.0/24", null, null, 9)).field()).isEqualTo("leaseSeconds");
    assertThat(refusal(spec("a", "127.100.0.0/24", null, null, -5)).field()).isEqualTo("leaseSeconds");
    assertThat(refusal(spec("a", "127.100.0.0/24", null, null, 86_401)).field()).isEqualTo("leaseSeconds");
  }

  @Test
  @DisplayName("names: the pool-name rule, field name")
  void names() {
    assertThat(refusal(spec(null, "127.100.0.0/24", null, null, 0)).field()).isEqualTo("name");
    assertThat(refusal(spec("-x", "127.100.0.0/24", null, null, 0)).field()).isEqualTo("name");
    assertThat(refusal(spec("a/b", "127.100.0.0/24", null, null, 0)).field()).isEqualTo("name");
    assertThat(refusal(spec("x".repeat(64), "127.100.0.0/24", null, null, 0)).field()).isEqualTo("name");
    assertThat(PoolValidator.validate(spec("Default_1.a-b", "127.100.0.0/24", null, null, 0)).name())
        .isEqualTo("Default_1.a-b");
  }

  @Test
  @DisplayName("cidr: malformed, host bits, prefix outside /8../32 all name cidr")
  void cidr() {
    assertThat(refusal(spec("a", null, null, null, 0)).field()).isEqualTo("cidr");
    assertThat(refusal(spec("a", "127.100.0.0", null, null, 0)).field()).isEqualTo("cidr");
    assertThat(refusal(spec("a", "127.100.0.1/24", null, null, 0)).field()).isEqualTo("cidr");
    assertThat(refusal(spec("a", "126.0.0.0/7", null, null, 0)).detail()).contains("/8 to /32");
    assertThat(refusal(spec("a", "::1/128", null, null, 0)).field()).isEqualTo("cidr");
  }

  @Test
  @DisplayName("exclude: the entry's index is named; it must be inside the pool")
  void exclude() {
    VipfarmException outside = refusal(
        spec("a", "127.100.0.0/24", List.of("127.100.0.1", "127.100.0.0/25", "127.101.0.1"), null, 0));
    assertThat(outside.field()).isEqualTo("exclude[2]");
    assertThat(outside.detail()).contains("not inside");
    assertThat(refusal(spec("a", "127.100.0.0/24", List.of("127.100.0.0/23"), null, 0)).field()).isEqualTo("exclude[0]");
    assertThat(refusal(spec("a", "127.100.0.0/24", List.of("x"), null, 0)).field()).isEqualTo("exclude[0]");
    assertThat(refusal(spec("a", "127.100.0.0/24", List.of("127.100.0.3/24"), null, 0)).field()).isEqualTo("exclude[0]");
  }

  @Test
  @DisplayName("reservations: inside, not excluded, not network/broadcast, never twice; the user is named")
  void reservations() {
    assertThat(refusal(spec("a", "127.100.0.0/24", null, Map.of("alice", "127.101.0.1"), 0)).field())
        .isEqualTo("reservations.alice");
    assertThat(refusal(spec("a", "127.100.0.0/24", List.of("127.100.0.9"), Map.of("bob", "127.100.0.9"), 0)).field())
        .isEqualTo("reservations.bob");
    assertThat(refusal(spec("a", "127.100.0.0/24", null, Map.of("carol", "127.100.0.255"), 0)).field())
        .isEqualTo("reservations.carol");
    assertThat(refusal(spec("a", "127.100.0.0/24", null, Map.of("dave", "nope"), 0)).field())
        .isEqualTo("reservations.dave");
    // checked in user-name order, so the second of the two users is the one named
    VipfarmException twice = refusal(
        spec("a", "127.100.0.0/24", null, Map.of("zoe", "127.100.0.7", "amy", "127.100.0.7"), 0));
    assertThat(twice.field()).isEqualTo("reservations.zoe");
    assertThat(twice.detail()).contains("already reserved for 'amy'");
    PoolDefinition ok = PoolValidator.validate(
        spec("a", "127.100.0.0/24", null, Map.of("alice", "127.100.0.7"), 0));
    assertThat(ok.reservationOf("alice")).isEqualTo(Ipv4Address.parse("127.100.0.7").bits());
    assertThat(ok.reservedFor(Ipv4Address.parse("127.100.0.7").bits())).isEqualTo("alice");
    assertThat(ok.reservationOf(null)).isNull();
  }

  @Test
  @DisplayName("fields are checked in document order: the first problem wins")
  void documentOrder() {
    assertThat(refusal(spec("-bad", "nope", List.of("x"), Map.of("a", "y"), 3)).field()).isEqualTo("name");
    assertThat(refusal(spec("ok", "127.100.0.0/24", List.of("x"), Map.of("a", "y"), 3)).field()).isEqualTo("exclude[0]");
  }

  @Test
  @DisplayName("pool names: exactly what [A-Za-z0-9][A-Za-z0-9._-]{0,62} matches is accepted, anything else is INVALID_FIELD")
  void poolNames() {
    java.util.regex.Pattern spec = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    String alphabet = "aZ09._-/ \u00e9:A";
    java.util.Random random = new java.util.Random(5);
    List<String> names = new java.util.ArrayList<>(List.of("a", "pool-1", "x".repeat(63), "x".repeat(64), ".a", "-a", "_a",
        "a.b_c-d", "a b", "\u00e9t\u00e9", "9"));
    for (int k = 0; k < 5000; k++) {
      int length = 1 + random.nextInt(k % 10 == 0 ? 70 : 6);
      StringBuilder name = new StringBuilder();
      for (int i = 0; i < length; i++) {
        name.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      names.add(name.toString());
    }
    for (String name : names) {
      VipfarmException e = catchThrowableOfType(VipfarmException.class, () -> PoolValidator.checkName("pool", name));
      assertThat(e == null).as("'%s'", name).isEqualTo(spec.matcher(name).matches());
      if (e != null) {
        assertThat(e.type()).isEqualTo(ErrorType.INVALID_FIELD);
      }
    }
  }
}
