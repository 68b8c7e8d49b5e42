package io.vipfarm.api.model;

import java.util.List;

/** Start a session on a host (POST /api/v1/hosts/{hostId}/sessions). */
public record SessionRequest(String sessionId, String user, List<String> groups) {
  public SessionRequest {
    groups = groups == null ? List.of() : List.copyOf(groups);
  }
}
