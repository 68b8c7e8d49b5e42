package io.vipfarm.policy;

import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PolicyDocument.Match;
import io.vipfarm.api.model.PolicyDocument.PreferLoopback;
import io.vipfarm.api.model.PolicyDocument.VirtualIp;
import io.vipfarm.api.model.PolicyDocument.VirtualLoopback;
import io.vipfarm.api.model.VipMode;
import java.util.List;

/** Small builders for policy documents in tests. */
final class Policies {
  private Policies() {}

  /** A named document that sets nothing. */
  static PolicyDocument named(String name) {
    return new PolicyDocument(name, null, null, null, null, null);
  }

  /** The example document of design.md §6. */
  static PolicyDocument designExample(String name) {
    return new PolicyDocument(
        name,
        10,
        new Match(List.of("*"), List.of("*"), List.of()),
        new VirtualLoopback(true, List.of("*"), List.of()),
        new VirtualIp(true, VipMode.PER_SESSION, "default", List.of(), OnExhausted.FALLBACK_HOST_IP, null),
        new PreferLoopback(List.of()));
  }

  static PolicyDocument withPriority(PolicyDocument doc, Integer priority) {
    return new PolicyDocument(doc.name(), priority, doc.match(), doc.virtualLoopback(), doc.virtualIp(),
        doc.preferLoopback());
  }

  static PolicyDocument withMatch(PolicyDocument doc, Match match) {
    return new PolicyDocument(doc.name(), doc.priority(), match, doc.virtualLoopback(), doc.virtualIp(),
        doc.preferLoopback());
  }

  static PolicyDocument withLoopback(PolicyDocument doc, VirtualLoopback loopback) {
    return new PolicyDocument(doc.name(), doc.priority(), doc.match(), loopback, doc.virtualIp(),
        doc.preferLoopback());
  }

  static PolicyDocument withVip(PolicyDocument doc, VirtualIp vip) {
    return new PolicyDocument(doc.name(), doc.priority(), doc.match(), doc.virtualLoopback(), vip,
        doc.preferLoopback());
  }

  static PolicyDocument withPreferLoopback(PolicyDocument doc, PreferLoopback prefer) {
    return new PolicyDocument(doc.name(), doc.priority(), doc.match(), doc.virtualLoopback(), doc.virtualIp(),
        prefer);
  }

  static VirtualIp vipEnabled(Boolean enabled) {
    return new VirtualIp(enabled, null, null, null, null, null);
  }

  static VirtualIp vipPool(String pool) {
    return new VirtualIp(null, null, pool, null, null, null);
  }

  static VirtualIp vipPrograms(List<String> programs) {
    return new VirtualIp(null, null, null, programs, null, null);
  }

  static VirtualLoopback loopbackPrograms(List<String> programs) {
    return new VirtualLoopback(null, programs, null);
  }

  static VirtualLoopback excludedPorts(List<Integer> ports) {
    return new VirtualLoopback(null, null, ports);
  }

  static Match hosts(String... globs) {
    return new Match(List.of(globs), null, null);
  }

  static Match users(String... globs) {
    return new Match(null, List.of(globs), null);
  }

  static Match groups(String... globs) {
    return new Match(null, null, List.of(globs));
  }
}
