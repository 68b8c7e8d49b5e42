package io.vipfarm.policy;

import static io.vipfarm.policy.Policies.designExample;
import static io.vipfarm.policy.Policies.excludedPorts;
import static io.vipfarm.policy.Policies.groups;
import static io.vipfarm.policy.Policies.hosts;
import static io.vipfarm.policy.Policies.loopbackPrograms;
import static io.vipfarm.policy.Policies.named;
import static io.vipfarm.policy.Policies.users;
import static io.vipfarm.policy.Policies.vipPool;
import static io.vipfarm.policy.Policies.vipPrograms;
import static io.vipfarm.policy.Policies.withLoopback;
import static io.vipfarm.policy.Policies.withMatch;
import static io.vipfarm.policy.Policies.withPreferLoopback;
import static io.vipfarm.policy.Policies.withPriority;
import static io.vipfarm.policy.Policies.withVip;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PolicyDocument.Match;
import io.vipfarm.api.model.PolicyDocument.PreferLoopback;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class PolicyValidatorTest {
  private final PolicyValidator validator = new PolicyValidator();

  @Test
  @DisplayName("the example document of design.md accepts")
  void acceptsDesignExample() {
    assertThatCode(() -> validator.validate(designExample("sales"))).doesNotThrowAnyException();
  }

  @Test
  @DisplayName("a document with only a name is valid: every setting may fall through")
  void acceptsNameOnly() {
    assertThatCode(() -> validator.validate(named("empty"))).doesNotThrowAnyException();
  }

  @ParameterizedTest
  @ValueSource(strings = {"a", "Z9", "sales-team", "a.b_c-d", "0lead", "x23456789012345678901234567890123456789012345678901234567890123"})
  @DisplayName("names of 1 to 63 letters, digits, '.', '_', '-' starting alphanumeric are valid")
  void acceptsNames(String name) {
    assertThatCode(() -> validator.validate(named(name))).doesNotThrowAnyException();
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 500_000, 1_000_000})
  @DisplayName("priorities from 0 to 1000000 are valid")
  void acceptsPriorities(int priority) {
    assertThatCode(() -> validator.validate(withPriority(named("p"), priority))).doesNotThrowAnyException();
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 22, 65_535})
  @DisplayName("excluded ports from 1 to 65535 are valid")
  void acceptsPorts(int port) {
    assertThatCode(() -> validator.validate(withLoopback(named("p"), excludedPorts(List.of(port)))))
        .doesNotThrowAnyException();
  }

  @Test
  @DisplayName("globs with brackets, classes and escapes are valid")
  void acceptsRichGlobs() {
    PolicyDocument doc = withMatch(named("p"), new Match(List.of("web-[0-9]*", "*.farm"), List.of("[[:lower:]]*"),
        List.of("sales", "\\*literal")));
    assertThatCode(() -> validator.validate(doc)).doesNotThrowAnyException();
  }

  static Stream<Arguments> invalidDocuments() {
    PolicyDocument base = named("p");
    return Stream.of(
        Arguments.of("missing name", named(null), "name", "is required"),
        Arguments.of("empty name", named(""), "name", "is required"),
        Arguments.of("name starting with '-'", named("-x"), "name", "must be 1 to 63"),
        Arguments.of("name with '/'", named("a/b"), "name", "must be 1 to 63"),
        Arguments.of("name with space", named("a b"), "name", "must be 1 to 63"),
        Arguments.of("name of 64 characters", named("x".repeat(64)), "name", "must be 1 to 63"),
        Arguments.of("negative priority", withPriority(base, -1), "priority", "between 0 and 1000000"),
        Arguments.of("priority too large", withPriority(base, 1_000_001), "priority", "between 0 and 1000000"),
        Arguments.of("empty host glob", withMatch(base, hosts("")), "match.hosts[0]", "must not be empty"),
        Arguments.of("host glob with '/'", withMatch(base, hosts("*", "a/b")), "match.hosts[1]", "'/'"),
        Arguments.of("null user glob", withMatch(base, new Match(null, Collections.singletonList(null), null)),
            "match.users[0]", "not null"),
        Arguments.of("user glob with control char", withMatch(base, users("al\u0007ice")), "match.users[0]",
            "control characters"),
        Arguments.of("user glob with newline", withMatch(base, users("alice\n")), "match.users[0]",
            "control characters"),
        Arguments.of("unclosed bracket in group glob", withMatch(base, groups("ok", "sales[")),
            "match.groups[1]", "is not a valid glob"),
        Arguments.of("unknown class in program glob",
            withLoopback(base, loopbackPrograms(List.of("*", "[[:word:]]"))),
            "virtualLoopback.programs[1]", "unknown character class"),
        Arguments.of("program glob with a path",
            withLoopback(base, loopbackPrograms(List.of("/usr/bin/python3"))),
            "virtualLoopback.programs[0]", "'/'"),
        Arguments.of("glob longer than 255", withLoopback(base, loopbackPrograms(List.of("x".repeat(256)))),
            "virtualLoopback.programs[0]", "at most 255"),
        Arguments.of("port 0", withLoopback(base, excludedPorts(List.of(0))),
            "virtualLoopback.excludedPorts[0]", "1 to 65535"),
        Arguments.of("port 65536", withLoopback(base, excludedPorts(List.of(80, 65_536))),
            "virtualLoopback.excludedPorts[1]", "1 to 65535"),
        Arguments.of("null port", withLoopback(base, excludedPorts(Arrays.asList(80, null))),
            "virtualLoopback.excludedPorts[1]", "1 to 65535"),
        Arguments.of("too many ports",
            withLoopback(base, excludedPorts(Collections.nCopies(PolicyValidator.MAX_LIST_ENTRIES + 1, 80))),
            "virtualLoopback.excludedPorts", "at most 256"),
        Arguments.of("empty pool", withVip(base, vipPool("")), "virtualIp.pool", "is required"),
        Arguments.of("bad pool name", withVip(base, vipPool("my pool")), "virtualIp.pool", "must be 1 to 63"),
        Arguments.of("bad VIP program glob", withVip(base, vipPrograms(List.of("crm", "a\\"))),
            "virtualIp.programs[1]", "is not a valid glob"),
        Arguments.of("empty prefer-loopback process",
            withPreferLoopback(base, new PreferLoopback(List.of("java", "", "node"))),
            "preferLoopback.processes[1]", "must not be empty"));
  }

  @ParameterizedTest(name = "{0} -> {2}")
  @MethodSource("invalidDocuments")
  @DisplayName("an invalid document is refused with INVALID_FIELD naming the field and the reason")
  void refusesInvalidDocuments(String why, PolicyDocument doc, String field, String reason) {
    VipfarmException e = catchThrowableOfType(VipfarmException.class, () -> validator.validate(doc));

    assertThat(e).as(why).isNotNull();
    assertThat(e.type()).isEqualTo(ErrorType.INVALID_FIELD);
    assertThat(e.field()).isEqualTo(field);
    assertThat(e.detail()).startsWith(field + ": ").contains(reason);
  }

  @Test
  @DisplayName("the first problem in document order is the one reported")
  void reportsFirstProblem() {
    PolicyDocument doc = withLoopback(withPriority(named("p"), -5), excludedPorts(List.of(0)));

    VipfarmException e = catchThrowableOfType(VipfarmException.class, () -> validator.validate(doc));

    assertThat(e.field()).isEqualTo("priority");
  }

  @Test
  @DisplayName("a missing document is refused as 'body'")
  void refusesNull() {
    VipfarmException e = catchThrowableOfType(VipfarmException.class, () -> validator.validate(null));

    assertThat(e.field()).isEqualTo("body");
  }

  @Test
  @DisplayName("a query needs a host and a user; groups may be absent")
  void validatesQuery() {
    assertThatCode(() -> validator.validateQuery("h1", "alice", null)).doesNotThrowAnyException();
    assertThatCode(() -> validator.validateQuery("h1", "alice", List.of("sales"))).doesNotThrowAnyException();

    assertThat(queryField(null, "alice", null)).isEqualTo("host");
    assertThat(queryField("h1", " ", null)).isEqualTo("user");
    List<String> groupsWithBlank = new ArrayList<>(List.of("sales", ""));
    assertThat(queryField("h1", "alice", groupsWithBlank)).isEqualTo("groups[1]");
  }

  private String queryField(String host, String user, List<String> groups) {
    return catchThrowableOfType(VipfarmException.class, () -> validator.validateQuery(host, user, groups)).field();
  }
}
