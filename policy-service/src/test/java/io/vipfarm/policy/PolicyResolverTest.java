package io.vipfarm.policy;

import static io.vipfarm.policy.Policies.designExample;
import static io.vipfarm.policy.Policies.excludedPorts;
import static io.vipfarm.policy.Policies.named;
import static io.vipfarm.policy.Policies.vipEnabled;
import static io.vipfarm.policy.Policies.vipPool;
import static io.vipfarm.policy.Policies.withLoopback;
import static io.vipfarm.policy.Policies.withMatch;
import static io.vipfarm.policy.Policies.withPreferLoopback;
import static io.vipfarm.policy.Policies.withPriority;
import static io.vipfarm.policy.Policies.withVip;
import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PolicyDocument.Match;
import io.vipfarm.api.model.PolicyDocument.PreferLoopback;
import io.vipfarm.api.model.PolicyDocument.VirtualIp;
import io.vipfarm.api.model.PolicyDocument.VirtualLoopback;
import io.vipfarm.api.model.VipMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class PolicyResolverTest {
  private static final List<String> NO_GROUPS = List.of();

  private final PolicyResolver resolver = new PolicyResolver();

  private EffectivePolicy resolve(List<PolicyDocument> policies) {
    return resolver.resolve(policies, "h1", "alice", List.of("sales"));
  }

  @Test
  @DisplayName("without policies nothing is virtualized")
  void noPolicies() {
    assertThat(resolve(List.of())).isEqualTo(EffectivePolicy.none());
  }

  @Test
  @DisplayName("when no policy matches the result is the default with no sources")
  void nothingMatches() {
    PolicyDocument elsewhere = withMatch(designExample("elsewhere"), new Match(List.of("other-*"), null, null));

    assertThat(resolve(List.of(elsewhere))).isEqualTo(EffectivePolicy.none());
  }

  @Test
  @DisplayName("one full policy gives every one of its settings")
  void singleFullPolicy() {
    PolicyDocument doc = new PolicyDocument("full", 5, null,
        new VirtualLoopback(true, List.of("python3", "node"), List.of(22, 5432)),
        new VirtualIp(true, VipMode.PER_PROGRAM, "crm", List.of("crm*"), OnExhausted.REFUSE, true),
        new PreferLoopback(List.of("java")));

    EffectivePolicy effective = resolve(List.of(doc));

    assertThat(effective).isEqualTo(new EffectivePolicy(true, List.of("python3", "node"), List.of(22, 5432), true,
        VipMode.PER_PROGRAM, "crm", List.of("crm*"), OnExhausted.REFUSE, true, List.of("java"), List.of("full")));
  }

  @Test
  @DisplayName("a higher policy setting only virtualIp.enabled=false turns the VIP off and keeps the lower loopback")
  void partialOverrideKeepsLowerSettings() {
    PolicyDocument base = designExample("base");
    PolicyDocument noVip = withVip(withPriority(named("no-vip"), 100), vipEnabled(false));

    EffectivePolicy effective = resolve(List.of(base, noVip));

    assertThat(effective.vipEnabled()).isFalse();
    assertThat(effective.loopbackEnabled()).isTrue();
    assertThat(effective.loopbackPrograms()).containsExactly("*");
    assertThat(effective.vipPool()).isEqualTo("default");
    assertThat(effective.vipMode()).isEqualTo(VipMode.PER_SESSION);
    assertThat(effective.sources()).containsExactly("no-vip", "base");
  }

  @Test
  @DisplayName("a lower policy cannot override what a higher one sets")
  void lowerDoesNotOverride() {
    PolicyDocument high = withVip(withPriority(named("high"), 10), vipEnabled(false));
    PolicyDocument low = withVip(withPriority(named("low"), 1), vipEnabled(true));

    assertThat(resolve(List.of(low, high)).vipEnabled()).isFalse();
  }

  @Test
  @DisplayName("each setting falls through to the highest policy that sets it")
  void settingBySetting() {
    PolicyDocument top = withVip(withPriority(named("top"), 30), vipPool("crm"));
    PolicyDocument middle = withLoopback(withPriority(named("middle"), 20), excludedPorts(List.of(22)));
    PolicyDocument bottom = withPreferLoopback(
        withLoopback(withVip(withPriority(named("bottom"), 10), new VirtualIp(true, null, "default", null, null, null)),
            new VirtualLoopback(true, null, List.of(80))),
        new PreferLoopback(List.of("java")));

    EffectivePolicy effective = resolve(List.of(bottom, top, middle));

    assertThat(effective.vipPool()).isEqualTo("crm");
    assertThat(effective.vipEnabled()).isTrue();
    assertThat(effective.excludedPorts()).containsExactly(22);
    assertThat(effective.loopbackEnabled()).isTrue();
    assertThat(effective.loopbackPrograms()).containsExactly("*");
    assertThat(effective.preferLoopbackProcesses()).containsExactly("java");
    assertThat(effective.onExhausted()).isEqualTo(OnExhausted.FALLBACK_HOST_IP);
    assertThat(effective.sources()).containsExactly("top", "middle", "bottom");
  }

  @Test
  @DisplayName("an empty list is a setting: it clears what a lower policy lists")
  void emptyListOverrides() {
    PolicyDocument high = withLoopback(withPriority(named("high"), 2), excludedPorts(List.of()));
    PolicyDocument low = withLoopback(withPriority(named("low"), 1), excludedPorts(List.of(22, 80)));

    assertThat(resolve(List.of(low, high)).excludedPorts()).isEmpty();
  }

  @Test
  @DisplayName("on equal priority the name that sorts first wins")
  void tieGoesToFirstName() {
    PolicyDocument alpha = withVip(withPriority(named("alpha"), 7), vipPool("pool-a"));
    PolicyDocument beta = withVip(withPriority(named("beta"), 7), vipPool("pool-b"));

    EffectivePolicy effective = resolve(List.of(beta, alpha));

    assertThat(effective.vipPool()).isEqualTo("pool-a");
    assertThat(effective.sources()).containsExactly("alpha", "beta");
  }

  @Test
  @DisplayName("an absent priority counts as 0 and ties with an explicit 0")
  void absentPriorityIsZero() {
    PolicyDocument implicit = withVip(named("a-implicit"), vipPool("implicit"));
    PolicyDocument explicit = withVip(withPriority(named("b-explicit"), 0), vipPool("explicit"));
    PolicyDocument one = withVip(withPriority(named("z-one"), 1), vipEnabled(true));

    EffectivePolicy effective = resolve(List.of(explicit, one, implicit));

    assertThat(effective.vipPool()).isEqualTo("implicit");
    assertThat(effective.sources()).containsExactly("z-one", "a-implicit", "b-explicit");
  }

  @Test
  @DisplayName("priority beats name order")
  void priorityBeatsName() {
    PolicyDocument aaa = withVip(withPriority(named("aaa"), 1), vipPool("first-by-name"));
    PolicyDocument zzz = withVip(withPriority(named("zzz"), 2), vipPool("higher"));

    assertThat(resolve(List.of(aaa, zzz)).vipPool()).isEqualTo("higher");
  }

  @Test
  @DisplayName("the result does not depend on the order policies are given in")
  void orderIndependent() {
    List<PolicyDocument> policies = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      policies.add(withVip(withPriority(named("p" + i), i % 3), vipPool("pool" + i)));
    }
    EffectivePolicy expected = resolve(policies);
    Random random = new Random(42);
    for (int round = 0; round < 20; round++) {
      Collections.shuffle(policies, random);
      assertThat(resolve(policies)).isEqualTo(expected);
    }
    assertThat(expected.vipPool()).isEqualTo("pool11");
    assertThat(expected.sources()).startsWith("p11", "p2", "p5", "p8");
  }

  @Test
  @DisplayName("sources list every matching policy, also those that set nothing, and no other")
  void sourcesListMatchingPolicies() {
    PolicyDocument empty = named("empty");
    PolicyDocument other = withMatch(withPriority(named("other-users"), 99), new Match(null, List.of("bob"), null));
    PolicyDocument base = designExample("base");

    assertThat(resolve(List.of(empty, other, base)).sources()).containsExactly("base", "empty");
  }

  static Stream<Arguments> matching() {
    return Stream.of(
        Arguments.of("no match section", null, "h1", "alice", NO_GROUPS, true),
        Arguments.of("all lists empty", new Match(List.of(), List.of(), List.of()), "h1", "alice", NO_GROUPS, true),
        Arguments.of("host glob matches", new Match(List.of("h*"), null, null), "h1", "alice", NO_GROUPS, true),
        Arguments.of("host glob does not match", new Match(List.of("db-?"), null, null), "h1", "alice", NO_GROUPS, false),
        Arguments.of("second host glob matches", new Match(List.of("db-?", "h[0-9]"), null, null), "h1", "alice",
            NO_GROUPS, true),
        Arguments.of("host match is case-sensitive", new Match(List.of("H1"), null, null), "h1", "alice", NO_GROUPS,
            false),
        Arguments.of("user glob matches", new Match(null, List.of("al*"), null), "h1", "alice", NO_GROUPS, true),
        Arguments.of("user glob does not match", new Match(null, List.of("bob"), null), "h1", "alice", NO_GROUPS,
            false),
        Arguments.of("user not a prefix match", new Match(null, List.of("ali"), null), "h1", "alice", NO_GROUPS,
            false),
        Arguments.of("user in the listed group", new Match(null, null, List.of("sales")), "h1", "alice",
            List.of("staff", "sales"), true),
        Arguments.of("user in none of the listed groups", new Match(null, null, List.of("sales", "hr")), "h1", "alice",
            List.of("staff"), false),
        Arguments.of("user without groups and a group constraint", new Match(null, null, List.of("sales")), "h1",
            "alice", NO_GROUPS, false),
        Arguments.of("group glob matches", new Match(null, null, List.of("sales-*")), "h1", "alice",
            List.of("sales-emea"), true),
        Arguments.of("host, user and group all hold", new Match(List.of("h*"), List.of("alice"), List.of("sales")),
            "h1", "alice", List.of("sales"), true),
        Arguments.of("group holds but user does not", new Match(List.of("h*"), List.of("bob"), List.of("sales")),
            "h1", "alice", List.of("sales"), false),
        Arguments.of("user holds but host does not", new Match(List.of("db*"), List.of("alice"), null), "h1",
            "alice", List.of("sales"), false));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matching")
  @DisplayName("a policy applies when hosts, users and groups all match")
  void matchesSubject(String why, Match match, String host, String user, List<String> groups, boolean expected) {
    PolicyDocument doc = withMatch(designExample("p"), match);

    assertThat(resolver.matches(doc, host, user, groups)).as(why).isEqualTo(expected);
    EffectivePolicy effective = resolver.resolve(List.of(doc), host, user, groups);
    assertThat(effective.sources()).isEqualTo(expected ? List.of("p") : List.of());
  }

  @Test
  @DisplayName("a null group list means the user is in no group")
  void nullGroups() {
    PolicyDocument sales = withMatch(designExample("sales"), new Match(null, null, List.of("*")));
    PolicyDocument all = withVip(named("all"), vipPool("everyone"));

    EffectivePolicy effective = resolver.resolve(List.of(sales, all), "h1", "alice", null);

    assertThat(effective.sources()).containsExactly("all");
    assertThat(effective.vipPool()).isEqualTo("everyone");
  }

  @Test
  @DisplayName("a group-specific high policy applies only to members")
  void groupSpecificOverride() {
    PolicyDocument base = designExample("base");
    PolicyDocument devs = withVip(withMatch(withPriority(named("devs"), 50), new Match(null, null, List.of("dev*"))),
        vipEnabled(false));

    assertThat(resolver.resolve(List.of(base, devs), "h1", "carol", List.of("developers")).vipEnabled()).isFalse();
    assertThat(resolver.resolve(List.of(base, devs), "h1", "alice", List.of("sales")).vipEnabled()).isTrue();
  }
}
