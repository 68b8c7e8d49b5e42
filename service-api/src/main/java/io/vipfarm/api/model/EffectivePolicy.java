package io.vipfarm.api.model;

import java.util.List;

/**
 * The fully resolved policy for one (host, user, groups): no setting is left unset.
 *
 * @param sources names of the policies that matched, highest priority first
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
    List<String> sources) {

  /** What applies when no policy matches: nothing is virtualized. */
  public static EffectivePolicy none() {
    return new EffectivePolicy(false, List.of("*"), List.of(), false, VipMode.PER_SESSION, "default",
        List.of(), OnExhausted.FALLBACK_HOST_IP, false, List.of(), List.of());
  }
}
