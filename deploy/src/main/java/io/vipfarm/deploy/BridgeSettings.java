package io.vipfarm.deploy;

import io.vipfarm.deploy.bridge.BridgeTls;
import java.util.List;

/**
 * The agents' link to the control plane (the TLS event-bus bridge).
 *
 * @param port where a control member's bridge listens (on its {@code --bind-address})
 * @param tls this side's certificate, key and the farm CA; null runs no bridge (a single machine)
 * @param controlMembers for an agent: the control members' bridges, {@code host:port}, tried in turn
 * @param agentGraceSeconds for a control member: how long an agent may go unheard before it has left
 */
public record BridgeSettings(int port, BridgeTls tls, List<String> controlMembers, int agentGraceSeconds) {
  public static final int DEFAULT_PORT = 7443;
  public static final int DEFAULT_GRACE_SECONDS = 30;
  public static final BridgeSettings NONE = new BridgeSettings(DEFAULT_PORT, null, List.of(), DEFAULT_GRACE_SECONDS);

  public BridgeSettings {
    controlMembers = List.copyOf(controlMembers);
  }
}
