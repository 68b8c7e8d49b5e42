package io.vipfarm.api.model;

import com.fasterxml.jackson.annotation.JsonCreator;

/**
 * A session host known to the farm (GET /api/v1/hosts).
 *
 * @param interception the path the host enforces with: kernel or preload
 * @param interceptionReason why that path (for a fallback to preload: what the kernel path lacked)
 */
public record HostView(String hostId, String bootId, String interception, String interceptionReason, int sessions,
    long startedAt) {

  @JsonCreator
  public HostView {}

  public HostView(String hostId, String bootId, String interception, int sessions, long startedAt) {
    this(hostId, bootId, interception, null, sessions, startedAt);
  }
}
