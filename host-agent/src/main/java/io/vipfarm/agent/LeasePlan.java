package io.vipfarm.agent;

import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipMode;
import java.util.List;

/**
 * The leases a session needs under its effective policy, all from the policy's pool and for the
 * session's user (so a reservation applies):
 *
 * <ul>
 *   <li>VIP off: none.
 *   <li>{@code per-session}: one session-wide lease (program null).
 *   <li>{@code per-program}, shared: one session-wide lease, used by the listed programs; none when the
 *       policy lists no program (nobody would use it).
 *   <li>{@code per-program} with {@code dedicatedPerProgram}: one lease per listed program glob, keyed
 *       by that glob.
 * </ul>
 */
public final class LeasePlan {
  private LeasePlan() {}

  public static List<AcquireRequest> requests(
      EffectivePolicy policy, String hostId, String bootId, String sessionId, String user) {
    if (!policy.vipEnabled()) {
      return List.of();
    }
    if (policy.vipMode() == VipMode.PER_SESSION) {
      return List.of(request(policy, hostId, bootId, sessionId, null, user));
    }
    List<String> programs = policy.vipPrograms().stream().distinct().toList();
    if (programs.isEmpty()) {
      return List.of();
    }
    if (!policy.dedicatedPerProgram()) {
      return List.of(request(policy, hostId, bootId, sessionId, null, user));
    }
    return programs.stream().map(p -> request(policy, hostId, bootId, sessionId, p, user)).toList();
  }

  private static AcquireRequest request(
      EffectivePolicy policy, String hostId, String bootId, String sessionId, String program, String user) {
    return new AcquireRequest(policy.vipPool(), new LeaseKey(hostId, bootId, sessionId, program), user);
  }
}
