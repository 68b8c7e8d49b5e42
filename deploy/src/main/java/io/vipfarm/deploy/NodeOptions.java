package io.vipfarm.deploy;

import java.nio.file.Path;
import java.util.List;

/**
 * Everything {@code vipfarm start} needs to run one node.
 *
 * @param httpHost where the gateway listens (127.0.0.1 by default: a farm opts in to remote access)
 * @param clusterPort this member's Hazelcast port; 0 picks a free one
 * @param clusterMembers {@code host:port} of other members to join (TCP-IP join; multicast is off)
 * @param bindAddress the address Hazelcast and the clustered event bus bind to
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
    String bindAddress) {

  public NodeOptions {
    clusterMembers = List.copyOf(clusterMembers);
  }

  public NodeOptions withHttpPort(int port) {
    return new NodeOptions(role, httpHost, port, hostId, dataDir, runDir, clusterName, clusterPort,
        clusterMembers, bindAddress);
  }
}
