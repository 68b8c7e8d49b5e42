package io.vipfarm.policy;

import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PolicyDocument.LoopbackIsolation;
import io.vipfarm.api.model.PolicyDocument.Match;
import io.vipfarm.api.model.PolicyDocument.PreferLoopback;
import io.vipfarm.api.model.PolicyDocument.VirtualIp;
import io.vipfarm.api.model.PolicyDocument.VirtualLoopback;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * Resolves the effective policy of a (host, user, groups) from all stored policy documents.
 *
 * <p><b>Matching.</b> A document applies when all three hold:
 *
 * <ul>
 *   <li>{@code match.hosts} is absent or empty, or one of its globs matches the host;
 *   <li>{@code match.users} is absent or empty, or one of its globs matches the user;
 *   <li>{@code match.groups} is absent or empty, or one of its globs matches one of the user's groups.
 * </ul>
 *
 * Globs are {@link GlobPattern}s (fnmatch semantics, case-sensitive). A document without
 * {@code match} applies to everyone.
 *
 * <p><b>Precedence.</b> Matching documents are ordered by {@link #PRECEDENCE}: higher
 * {@code priority} first (absent counts as 0); on equal priority the name that sorts first
 * (ordinal, case-sensitive {@link String#compareTo}) wins. Names are unique, so the order is total
 * and the result never depends on storage order.
 *
 * <p><b>Merge.</b> Setting by setting, the value comes from the first document in that order that
 * sets it (non-null); a list counts as set even when empty, so {@code "excludedPorts": []} clears
 * ports a lower policy lists. A setting no matching document sets takes its value from
 * {@link EffectivePolicy#none()}. Hence a high-priority document holding only
 * {@code virtualIp.enabled=false} turns the VIP off while every loopback setting still comes from
 * the lower documents.
 */
public final class PolicyResolver {

  /** Highest priority first, then name ascending. */
  public static final Comparator<PolicyDocument> PRECEDENCE =
      Comparator.comparingInt(PolicyResolver::priorityOf)
          .reversed()
          .thenComparing(PolicyDocument::name, Comparator.nullsLast(Comparator.naturalOrder()));

  /**
   * @param host the host id, required
   * @param user the user name, required
   * @param groups the user's groups; null means none
   */
  public EffectivePolicy resolve(Collection<PolicyDocument> policies, String host, String user, List<String> groups) {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(user, "user");
    List<String> userGroups = groups == null ? List.of() : groups.stream().filter(Objects::nonNull).toList();
    List<PolicyDocument> ordered = policies.stream()
        .filter(doc -> matches(doc, host, user, userGroups))
        .sorted(PRECEDENCE)
        .toList();
    return merge(ordered);
  }

  /** Whether {@code doc} applies to this host, user and groups. */
  public boolean matches(PolicyDocument doc, String host, String user, List<String> groups) {
    Match match = doc.match();
    if (match == null) {
      return true;
    }
    return anyGlobMatches(match.hosts(), List.of(host))
        && anyGlobMatches(match.users(), List.of(user))
        && anyGlobMatches(match.groups(), groups);
  }

  /** Absent or empty globs place no constraint; otherwise some glob must match some candidate. */
  private static boolean anyGlobMatches(List<String> globs, List<String> candidates) {
    if (globs == null || globs.isEmpty()) {
      return true;
    }
    return globs.stream()
        .map(GlobPattern::compile)
        .anyMatch(glob -> candidates.stream().anyMatch(glob::matches));
  }

  /** Setting by setting, the first non-null value in precedence order, else the default. */
  private static EffectivePolicy merge(List<PolicyDocument> ordered) {
    EffectivePolicy none = EffectivePolicy.none();
    Settings first = new Settings(ordered);
    return new EffectivePolicy(
        first.of(loopback(VirtualLoopback::enabled), none.loopbackEnabled()),
        List.copyOf(first.of(loopback(VirtualLoopback::programs), none.loopbackPrograms())),
        List.copyOf(first.of(loopback(VirtualLoopback::excludedPorts), none.excludedPorts())),
        first.of(vip(VirtualIp::enabled), none.vipEnabled()),
        first.of(vip(VirtualIp::mode), none.vipMode()),
        first.of(vip(VirtualIp::pool), none.vipPool()),
        List.copyOf(first.of(vip(VirtualIp::programs), none.vipPrograms())),
        first.of(vip(VirtualIp::onExhausted), none.onExhausted()),
        first.of(vip(VirtualIp::dedicatedPerProgram), none.dedicatedPerProgram()),
        List.copyOf(first.of(preferLoopback(PreferLoopback::processes), none.preferLoopbackProcesses())),
        ordered.stream().map(PolicyDocument::name).toList(),
        first.of(isolation(LoopbackIsolation::enabled), none.isolationEnabled()),
        List.copyOf(first.of(isolation(LoopbackIsolation::allowUsers), none.isolationAllowUsers())));
  }

  private static int priorityOf(PolicyDocument doc) {
    return doc.priority() == null ? 0 : doc.priority();
  }

  private static <T> Function<PolicyDocument, T> loopback(Function<VirtualLoopback, T> setting) {
    return doc -> doc.virtualLoopback() == null ? null : setting.apply(doc.virtualLoopback());
  }

  private static <T> Function<PolicyDocument, T> vip(Function<VirtualIp, T> setting) {
    return doc -> doc.virtualIp() == null ? null : setting.apply(doc.virtualIp());
  }

  private static <T> Function<PolicyDocument, T> preferLoopback(Function<PreferLoopback, T> setting) {
    return doc -> doc.preferLoopback() == null ? null : setting.apply(doc.preferLoopback());
  }

  private static <T> Function<PolicyDocument, T> isolation(Function<LoopbackIsolation, T> setting) {
    return doc -> doc.loopbackIsolation() == null ? null : setting.apply(doc.loopbackIsolation());
  }

  /** The matching documents in precedence order, asked for one setting at a time. */
  private record Settings(List<PolicyDocument> ordered) {
    <T> T of(Function<PolicyDocument, T> setting, T fallback) {
      for (PolicyDocument doc : ordered) {
        T value = setting.apply(doc);
        if (value != null) {
          return value;
        }
      }
      return fallback;
    }
  }
}
