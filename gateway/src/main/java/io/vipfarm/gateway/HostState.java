package io.vipfarm.gateway;

import io.vipfarm.api.model.HostView;

/**
 * A host as GET /api/v1/hosts shows it.
 *
 * @param joinedAt when its agent started (epoch millis), 0 when unknown
 * @param lastHeartbeat when its agent last answered any gateway or pinged the agent bridge (epoch millis), 0 when never
 * @param reachable whether it answered this request
 * @param interceptionReason why the host enforces with that path (null when unreachable)
 */
record HostState(String hostId, String bootId, String interception, int sessions, long joinedAt,
    long lastHeartbeat, boolean reachable, String interceptionReason) {

  static HostState of(HostView view, long now) {
    return new HostState(view.hostId(), view.bootId(), view.interception(), view.sessions(), view.startedAt(), now,
        true, view.interceptionReason());
  }

  /** @param sessions the sessions it was last known to run (an agent gone silent still has them until host.left) */
  static HostState unreachable(String hostId, Long lastSeen, int sessions) {
    return new HostState(hostId, null, "unreachable", sessions, 0, lastSeen == null ? 0 : lastSeen, false, null);
  }
}
