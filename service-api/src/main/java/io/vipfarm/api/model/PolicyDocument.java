package io.vipfarm.api.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;

/**
 * A policy as administrators write it (PUT /api/v1/policies/{name}). Every setting may be left out
 * (null): resolution takes each setting from the highest-priority matching policy that sets it.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PolicyDocument(
    String name,
    Integer priority,
    Match match,
    VirtualLoopback virtualLoopback,
    VirtualIp virtualIp,
    PreferLoopback preferLoopback,
    LoopbackIsolation loopbackIsolation) {

  @JsonCreator
  public PolicyDocument {}

  /** A document without a loopback isolation setting. */
  public PolicyDocument(String name, Integer priority, Match match, VirtualLoopback virtualLoopback,
      VirtualIp virtualIp, PreferLoopback preferLoopback) {
    this(name, priority, match, virtualLoopback, virtualIp, preferLoopback, null);
  }

  /**
   * Whom the policy applies to. Hosts and users are glob lists; a missing or empty list matches all.
   * Groups: when non-empty, the user must be in one of them (in addition to matching users).
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Match(List<String> hosts, List<String> users, List<String> groups) {}

  /** Citrix-style virtual loopback: 127.0.0.1 becomes the session's own 127.X.X.X. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record VirtualLoopback(Boolean enabled, List<String> programs, List<Integer> excludedPorts) {}

  /**
   * RDS-style virtual IP.
   *
   * @param dedicatedPerProgram in per-program mode, give each listed program its own lease instead of
   *     sharing the session's one address
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record VirtualIp(
      Boolean enabled,
      VipMode mode,
      String pool,
      List<String> programs,
      OnExhausted onExhausted,
      Boolean dedicatedPerProgram) {}

  /** Processes that keep using the virtual loopback for 127.0.0.1 even when they have a VIP. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record PreferLoopback(List<String> processes) {}

  /**
   * Loopback isolation (kernel path only): a process outside session S that connects or sends to S's
   * loopback addresses is refused.
   *
   * @param enabled on unless a policy turns it off
   * @param allowUsers system users (names, or numeric uids) let through anyway, e.g. a monitoring agent
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record LoopbackIsolation(Boolean enabled, List<String> allowUsers) {}

  public PolicyDocument withName(String newName) {
    return new PolicyDocument(newName, priority, match, virtualLoopback, virtualIp, preferLoopback, loopbackIsolation);
  }
}
