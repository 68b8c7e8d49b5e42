package io.vipfarm.api.model;

import java.util.List;

/**
 * Start a session on a host (POST /api/v1/hosts/{hostId}/sessions).
 *
 * @param cgroup the cgroup the session already has, as its path in the cgroup2 hierarchy
 *     ({@code /user.slice/user-1000.slice/session-3.scope}, the {@code 0::} line of
 *     {@code /proc/<pid>/cgroup}), or null for none. Set by a local session source (logind: the
 *     session's scope), not by the HTTP API: on the kernel path the agent enforces the session through
 *     this cgroup instead of creating one; it must lie inside the cgroup the programs are attached to.
 */
public record SessionRequest(String sessionId, String user, List<String> groups, String cgroup) {
  public SessionRequest {
    groups = groups == null ? List.of() : List.copyOf(groups);
  }

  /** A session without a cgroup of its own (the agent makes one on the kernel path). */
  public SessionRequest(String sessionId, String user, List<String> groups) {
    this(sessionId, user, groups, null);
  }
}
