package io.vipfarm.api.model;

/** A session host known to the farm (GET /api/v1/hosts). */
public record HostView(String hostId, String bootId, String interception, int sessions, long startedAt) {}
