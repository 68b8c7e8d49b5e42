package io.vipfarm.api.model;

import java.util.List;

/**
 * A live session on a host, as the gateway shows it.
 *
 * @param loopbackAddress the session's virtual loopback (always computed; applied only when the policy
 *     enables virtual loopback, see {@code loopbackEnabled})
 * @param vipStatus {@code none} (no VIP by policy), {@code leased}, {@code fallback-host-ip} (pool
 *     exhausted, host address used) or {@code refused} (pool exhausted, policy refuses)
 * @param rulesFile where the agent wrote the session's interception rules
 */
public record SessionView(
    String hostId,
    String sessionId,
    String user,
    List<String> groups,
    String loopbackAddress,
    boolean loopbackEnabled,
    List<VirtualIpView> virtualIps,
    String vipStatus,
    long startedAt,
    String rulesFile) {}
