package io.vipfarm.api.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import java.util.List;

/**
 * The fully resolved policy for one (host, user, groups): no setting is left unset.
 *
 * @param sources names of the policies that matched, highest priority first
 * @param isolationEnabled whether processes outside the session are refused on its loopback addresses
 *     (kernel path)
 * @param isolationAllowUsers system users (names or numeric uids) let through isolation
 */
public record EffectivePolicy(
    boolean loopbackEnabled,
    List<String> loopbackPrograms,
    List<Integer> excludedPorts,
    boolean vipEnabled,
    VipMode vipMode,
    String vipPool,
    List<String> vipPrograms,
    OnExhausted onExhausted,
    boolean dedicatedPerProgram,
    List<String> preferLoopbackProcesses,
    List<String> sources,
    boolean isolationEnabled,
    List<String> isolationAllowUsers) {

  @JsonCreator
  public EffectivePolicy {
    // a session file written before isolation existed has no allow list
    isolationAllowUsers = isolationAllowUsers == null ? List.of() : isolationAllowUsers;
  }

  /** A policy with loopback isolation on for everyone (its default). */
  public EffectivePolicy(boolean loopbackEnabled, List<String> loopbackPrograms, List<Integer> excludedPorts,
      boolean vipEnabled, VipMode vipMode, String vipPool, List<String> vipPrograms, OnExhausted onExhausted,
      boolean dedicatedPerProgram, List<String> preferLoopbackProcesses, List<String> sources) {
    this(loopbackEnabled, loopbackPrograms, excludedPorts, vipEnabled, vipMode, vipPool, vipPrograms, onExhausted,
        dedicatedPerProgram, preferLoopbackProcesses, sources, true, List.of());
  }

  /** What applies when no policy matches: nothing is virtualized; loopback isolation is on. */
  public static EffectivePolicy none() {
    return new EffectivePolicy(false, List.of("*"), List.of(), false, VipMode.PER_SESSION, "default",
        List.of(), OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of());
  }
}
