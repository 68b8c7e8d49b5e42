package io.vipfarm.deploy;

import io.vipfarm.agent.AgentConfig;
import io.vipfarm.agent.session.SessionSources;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything {@code vipfarm start} needs to run one node.
 *
 * @param httpHost where the gateway listens (127.0.0.1 by default: a farm opts in to remote access)
 * @param clusterPort this member's Hazelcast port; 0 picks a free one
 * @param clusterMembers {@code host:port} of other members to join (TCP-IP join; multicast is off)
 * @param bindAddress the address Hazelcast and the clustered event bus bind to
 * @param tlsCert PEM certificate the gateway serves HTTPS with, or null for plain HTTP (with {@code tlsKey})
 * @param tlsKey PEM private key of {@code tlsCert}, or null
 * @param webhookAllow non-loopback hosts webhooks may be sent to ({@code host}, {@code *.domain}, {@code *})
 * @param expectedMembers control members of the farm; the allocation service needs a majority of them
 * @param multicast whether Hazelcast may also find members by multicast (off: TCP-IP join only)
 * @param bridge the agents' TLS link to the control plane
 * @param sessionSources where the agent's sessions come from besides the API ({@code --sessions})
 * @param interception how the host agent enforces (--interception and where the kernel path lives)
 * @param vipInterface the interface the agent puts leased VIPs on, or null for none
 */
public record NodeOptions(
    Role role,
    String httpHost,
    int httpPort,
    String hostId,
    Path dataDir,
    Path runDir,
    String clusterName,
    int clusterPort,
    List<String> clusterMembers,
    String bindAddress,
    Path tlsCert,
    Path tlsKey,
    List<String> webhookAllow,
    int expectedMembers,
    boolean multicast,
    BridgeSettings bridge,
    SessionSources sessionSources,
    AgentConfig.Request interception,
    String vipInterface) {

  public NodeOptions {
    clusterMembers = List.copyOf(clusterMembers);
    webhookAllow = List.copyOf(webhookAllow);
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new IllegalArgumentException("TLS needs both --tls-cert and --tls-key");
    }
    if (expectedMembers < 1) {
      throw new IllegalArgumentException("expected members must be at least 1");
    }
    bridge = bridge == null ? BridgeSettings.NONE : bridge;
    sessionSources = sessionSources == null ? SessionSources.apiOnly() : sessionSources;
    interception = interception == null ? AgentConfig.Request.preload() : interception;
  }

  /** Sessions from the API only, the preload path. */
  public NodeOptions(Role role, String httpHost, int httpPort, String hostId, Path dataDir, Path runDir,
      String clusterName, int clusterPort, List<String> clusterMembers, String bindAddress, Path tlsCert, Path tlsKey,
      List<String> webhookAllow, int expectedMembers, boolean multicast, BridgeSettings bridge) {
    this(role, httpHost, httpPort, hostId, dataDir, runDir, clusterName, clusterPort, clusterMembers, bindAddress,
        tlsCert, tlsKey, webhookAllow, expectedMembers, multicast, bridge, null, null);
  }

  /** No multicast, no bridge. */
  public NodeOptions(Role role, String httpHost, int httpPort, String hostId, Path dataDir, Path runDir,
      String clusterName, int clusterPort, List<String> clusterMembers, String bindAddress, Path tlsCert, Path tlsKey,
      List<String> webhookAllow, int expectedMembers) {
    this(role, httpHost, httpPort, hostId, dataDir, runDir, clusterName, clusterPort, clusterMembers, bindAddress,
        tlsCert, tlsKey, webhookAllow, expectedMembers, false, BridgeSettings.NONE);
  }

  /** No VIP interface. */
  public NodeOptions(Role role, String httpHost, int httpPort, String hostId, Path dataDir, Path runDir,
      String clusterName, int clusterPort, List<String> clusterMembers, String bindAddress, Path tlsCert, Path tlsKey,
      List<String> webhookAllow, int expectedMembers, boolean multicast, BridgeSettings bridge,
      SessionSources sessionSources, AgentConfig.Request interception) {
    this(role, httpHost, httpPort, hostId, dataDir, runDir, clusterName, clusterPort, clusterMembers, bindAddress,
        tlsCert, tlsKey, webhookAllow, expectedMembers, multicast, bridge, sessionSources, interception, null);
  }

  /** Plain HTTP, loopback-only webhooks. */
  public NodeOptions(Role role, String httpHost, int httpPort, String hostId, Path dataDir, Path runDir,
      String clusterName, int clusterPort, List<String> clusterMembers, String bindAddress) {
    this(role, httpHost, httpPort, hostId, dataDir, runDir, clusterName, clusterPort, clusterMembers, bindAddress,
        null, null, List.of(), 1);
  }

  public NodeOptions withHttpPort(int port) {
    return new NodeOptions(role, httpHost, port, hostId, dataDir, runDir, clusterName, clusterPort,
        clusterMembers, bindAddress, tlsCert, tlsKey, webhookAllow, expectedMembers, multicast, bridge,
        sessionSources, interception, vipInterface);
  }
}
