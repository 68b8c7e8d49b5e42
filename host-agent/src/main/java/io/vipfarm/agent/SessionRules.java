package io.vipfarm.agent;

import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.model.VirtualIpView;
import java.util.List;

/**
 * Renders a session's interception rules in the text format of docs/rules-format.md (version 1),
 * which the preload shim reads.
 *
 * <ul>
 *   <li>{@code loopback4} is written when virtual loopback applies: the policy enables it and lists
 *       at least one program ({@code loopback-programs}; an empty program list means no program).
 *   <li>The session-wide VIP (the lease with no program) becomes {@code vip4}; in {@code per-session}
 *       mode with {@code vip-programs *}, in {@code per-program} mode with the policy's program globs.
 *   <li>Each dedicated lease (one per program glob) becomes a {@code program-vip glob address} line.
 *   <li>{@code excluded-ports}, {@code prefer-loopback} and {@code host-addresses} are written when
 *       they are not empty.
 * </ul>
 *
 * <p>With {@link Isolation} (what the agent always passes; the shorter form is the version-1 subset), the
 * loopback block also carries {@code loopback6} (the session's IPv6 loopback, when the host has one for
 * it: without it {@code ::1} passes through), {@code isolation on|off} and, when on,
 * {@code isolation-allow-uids}. The shim ignores these; the kernel path reads them.
 *
 * <p>Values are space-separated words in that format, so a glob or address holding white space or
 * {@code #} (which would start a comment) cannot be written: it is refused as INVALID_FIELD naming
 * the policy setting, rather than written into a different rule.
 */
public final class SessionRules {
  private SessionRules() {}

  /**
   * The rules file text.
   *
   * @param loopback the session's loopback, or null when virtual loopback is off for it
   * @param vips the session's leased VIPs (empty when it has none)
   * @param hostAddresses the host's own addresses
   */
  public static String render(String sessionId, LoopbackAddress loopback, EffectivePolicy policy,
      List<VirtualIpView> vips, List<String> hostAddresses) {
    return render(sessionId, loopback, null, policy, vips, hostAddresses);
  }

  /**
   * What the loopback block says beyond IPv4 (read by the kernel path).
   *
   * @param loopback6 the session's IPv6 loopback, or null when this host has none for it
   * @param allowUids uids let through isolation (resolved from the policy's user names)
   */
  public record Isolation(String loopback6, List<Long> allowUids) {
    public Isolation {
      allowUids = List.copyOf(allowUids);
    }
  }

  /** The rules file text with the kernel path's loopback directives ({@code isolation} null: none). */
  public static String render(String sessionId, LoopbackAddress loopback, Isolation isolation,
      EffectivePolicy policy, List<VirtualIpView> vips, List<String> hostAddresses) {
    StringBuilder text = new StringBuilder();
    line(text, "vipfarm-rules", List.of("1"));
    line(text, "session", List.of(word("sessionId", sessionId)));
    if (loopback != null && !policy.loopbackPrograms().isEmpty()) {
      line(text, "loopback4", List.of(loopback.address()));
      if (isolation != null && isolation.loopback6() != null) {
        line(text, "loopback6", List.of(isolation.loopback6()));
      }
      line(text, "loopback-programs", words("virtualLoopback.programs", policy.loopbackPrograms()));
      if (isolation != null) {
        line(text, "isolation", List.of(policy.isolationEnabled() ? "on" : "off"));
        if (policy.isolationEnabled() && !isolation.allowUids().isEmpty()) {
          line(text, "isolation-allow-uids", isolation.allowUids().stream().map(String::valueOf).toList());
        }
      }
    }
    if (!policy.excludedPorts().isEmpty()) {
      line(text, "excluded-ports", policy.excludedPorts().stream().map(SessionRules::port).toList());
    }
    for (VirtualIpView vip : vips) {
      if (vip.program() == null) {
        List<String> programs = policy.vipMode() == VipMode.PER_SESSION
            ? List.of("*")
            : words("virtualIp.programs", policy.vipPrograms());
        if (!programs.isEmpty()) {
          line(text, "vip4", List.of(word("virtualIps.address", vip.address())));
          line(text, "vip-programs", programs);
        }
      }
    }
    for (VirtualIpView vip : vips) {
      if (vip.program() != null) {
        line(text, "program-vip",
            List.of(word("virtualIp.programs", vip.program()), word("virtualIps.address", vip.address())));
      }
    }
    if (!policy.preferLoopbackProcesses().isEmpty()) {
      line(text, "prefer-loopback", words("preferLoopback.processes", policy.preferLoopbackProcesses()));
    }
    if (!hostAddresses.isEmpty()) {
      line(text, "host-addresses", words("hostAddresses", hostAddresses));
    }
    return text.toString();
  }

  private static void line(StringBuilder text, String keyword, List<String> values) {
    text.append(keyword);
    for (String value : values) {
      text.append(' ').append(value);
    }
    text.append('\n');
  }

  private static List<String> words(String field, List<String> values) {
    return values.stream().map(v -> word(field, v)).toList();
  }

  private static String word(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw VipfarmException.invalidField(field, "an empty value cannot be written to the rules file");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c <= ' ' || c == '#' || c == 0x7f) {
        throw VipfarmException.invalidField(field,
            "'" + value.strip() + "' holds white space, a control character or '#' and cannot be written"
                + " to the rules file");
      }
    }
    return value;
  }

  private static String port(Integer port) {
    if (port == null || port < 1 || port > 65535) {
      throw VipfarmException.invalidField("virtualLoopback.excludedPorts", "not a port: " + port);
    }
    return Integer.toString(port);
  }
}
