package io.vipfarm.policy;

import static io.vipfarm.policy.Policies.named;
import static io.vipfarm.policy.Policies.withPriority;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PolicyDocument.LoopbackIsolation;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The loopback isolation setting: validated, resolved setting by setting like the others. */
class LoopbackIsolationPolicyTest {
  private final PolicyResolver resolver = new PolicyResolver();
  private final PolicyValidator validator = new PolicyValidator();

  private static PolicyDocument isolation(String name, int priority, Boolean enabled, List<String> allowUsers) {
    PolicyDocument doc = withPriority(named(name), priority);
    return new PolicyDocument(doc.name(), doc.priority(), null, null, null, null,
        new LoopbackIsolation(enabled, allowUsers));
  }

  private EffectivePolicy resolve(PolicyDocument... docs) {
    return resolver.resolve(List.of(docs), "h1", "alice", List.of());
  }

  @Test
  @DisplayName("isolation is on with nobody let through when no policy sets it")
  void onByDefault() {
    assertThat(resolve().isolationEnabled()).isTrue();
    assertThat(resolve(named("other")).isolationEnabled()).isTrue();
    assertThat(resolve(named("other")).isolationAllowUsers()).isEmpty();
  }

  @Test
  @DisplayName("a policy turns it off; a higher one can turn it on again")
  void turnedOffAndOn() {
    assertThat(resolve(isolation("off", 1, false, null)).isolationEnabled()).isFalse();
    assertThat(resolve(isolation("off", 1, false, null), isolation("on", 5, true, null)).isolationEnabled()).isTrue();
  }

  @Test
  @DisplayName("enabled and allowUsers fall through separately")
  void settingBySetting() {
    EffectivePolicy policy = resolve(isolation("users", 1, null, List.of("postgres", "998")),
        isolation("off", 5, false, null));

    assertThat(policy.isolationEnabled()).isFalse();
    assertThat(policy.isolationAllowUsers()).containsExactly("postgres", "998");
    assertThat(policy.sources()).containsExactly("off", "users");
  }

  @Test
  @DisplayName("an empty allow list set by a higher policy clears a lower one's")
  void emptyListClears() {
    EffectivePolicy policy = resolve(isolation("users", 1, null, List.of("postgres")),
        isolation("none", 5, null, List.of()));

    assertThat(policy.isolationAllowUsers()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"postgres", "_apt", "systemd-network", "nobody", "host$", "0", "65534", "a.b"})
  @DisplayName("user names and uids are accepted")
  void acceptsUsers(String user) {
    assertThatCode(() -> validator.validate(isolation("p", 1, true, List.of(user)))).doesNotThrowAnyException();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "-rf", "bad user", "a/b", "a:b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
  @DisplayName("a malformed user is refused naming its index")
  void refusesUsers(String user) {
    VipfarmException e = catchThrowableOfType(VipfarmException.class,
        () -> validator.validate(isolation("p", 1, true, List.of("root", user))));

    assertThat(e.type()).isEqualTo(ErrorType.INVALID_FIELD);
    assertThat(e.field()).isEqualTo("loopbackIsolation.allowUsers[1]");
  }

  @Test
  @DisplayName("a null entry is refused")
  void refusesNull() {
    VipfarmException e = catchThrowableOfType(VipfarmException.class,
        () -> validator.validate(isolation("p", 1, true, Arrays.asList((String) null))));

    assertThat(e.field()).isEqualTo("loopbackIsolation.allowUsers[0]");
  }

  @Test
  @DisplayName("the setting goes through the wire format and back")
  void wireRoundTrip() {
    PolicyDocument doc = isolation("p", 3, false, List.of("postgres"));
    EffectivePolicy policy = resolve(doc);

    assertThat(Json.readStrict(Json.toJson(doc).encode(), PolicyDocument.class)).isEqualTo(doc);
    assertThat(Json.fromJson(Json.toJson(policy), EffectivePolicy.class)).isEqualTo(policy);
  }
}
