package io.vipfarm.agent;

import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VirtualIpView;
import java.util.List;

/**
 * A session running on this host: who runs it, the policy it started with, the leases it holds.
 *
 * @param vipStatus {@link #VIP_NONE}, {@link #VIP_LEASED} or {@link #VIP_FALLBACK}
 * @param rulesFile where its rules file is
 * @param cgroup the cgroup the session came with (its logind scope), as a cgroup2 hierarchy path, or null
 *     when the kernel path makes one for it (or enforcement is by preload)
 */
public record LiveSession(
    String sessionId,
    String user,
    List<String> groups,
    LoopbackAddress loopback,
    EffectivePolicy policy,
    List<HeldLease> leases,
    String vipStatus,
    long startedAt,
    String rulesFile,
    String cgroup) {

  /** No VIP: the policy gives the session none. */
  public static final String VIP_NONE = "none";
  /** The session holds its VIP(s). */
  public static final String VIP_LEASED = "leased";
  /** The pool had no free address (or the lease was lost): the session's programs use the host's address. */
  public static final String VIP_FALLBACK = "fallback-host-ip";

  public LiveSession {
    groups = List.copyOf(groups);
    leases = List.copyOf(leases);
  }

  /** A session without a cgroup of its own. */
  public LiveSession(String sessionId, String user, List<String> groups, LoopbackAddress loopback,
      EffectivePolicy policy, List<HeldLease> leases, String vipStatus, long startedAt, String rulesFile) {
    this(sessionId, user, groups, loopback, policy, leases, vipStatus, startedAt, rulesFile, null);
  }

  public List<VirtualIpView> virtualIps() {
    return leases.stream().map(HeldLease::view).toList();
  }

  /** The loopback when virtual loopback applies to the session, else null. */
  public LoopbackAddress appliedLoopback() {
    return policy.loopbackEnabled() ? loopback : null;
  }

  /** This session with {@code replacement} in place of the lease of the same key, if it still holds one. */
  public LiveSession withLease(HeldLease replacement) {
    LeaseKey key = replacement.lease().key();
    List<HeldLease> updated = leases.stream()
        .map(held -> held.lease().key().equals(key) ? replacement : held)
        .toList();
    return new LiveSession(sessionId, user, groups, loopback, policy, updated, vipStatus, startedAt, rulesFile, cgroup);
  }

  /**
   * This session without the lease of {@code key}. When that was its last VIP, its programs now use the
   * host's address, and the status says so.
   */
  public LiveSession withoutLease(LeaseKey key) {
    List<HeldLease> remaining = leases.stream().filter(held -> !held.lease().key().equals(key)).toList();
    String status = remaining.isEmpty() && VIP_LEASED.equals(vipStatus) ? VIP_FALLBACK : vipStatus;
    return new LiveSession(sessionId, user, groups, loopback, policy, remaining, status, startedAt, rulesFile, cgroup);
  }

  public SessionView view(String hostId) {
    return new SessionView(hostId, sessionId, user, groups, loopback.address(), policy.loopbackEnabled(),
        virtualIps(), vipStatus, startedAt, rulesFile);
  }
}
