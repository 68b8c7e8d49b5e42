package io.vipfarm.deploy;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vipfarm.allocation.AllocationMaps;
import io.vipfarm.gateway.EventLog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The Hazelcast member configuration of a control (or all-in-one) node: bound to one address (never the
 * wildcard), TCP-IP join with the given members, multicast only when asked, cloud auto-detection off, no phone-home, and no
 * Hazelcast shutdown hook (ours releases the leases first, then shuts the member down).
 */
final class ClusterConfig {
  private ClusterConfig() {}

  static Config build(NodeOptions o, int clusterPort) {
    // Start from vertx-hazelcast's defaults: they configure the maps the event bus needs.
    Config cfg = ConfigUtil.loadConfig();
    cfg.setClusterName(o.clusterName());
    cfg.setProperty("hazelcast.phone.home.enabled", "false");
    cfg.setProperty("hazelcast.logging.type", "slf4j");
    cfg.setProperty("hazelcast.shutdownhook.enabled", "false");
    cfg.setProperty("hazelcast.socket.bind.any", "false");
    cfg.setProperty("hazelcast.local.localAddress", o.bindAddress());
    if (!o.role().runsControlPlane()) {
      // design.md §8: open-source Hazelcast has no member authentication, so agents never join (not even as lite members)
      throw new IllegalArgumentException("agents do not join the cluster; they connect through the agent bridge");
    }
    // vertx-hazelcast on a member we create ourselves: it finds its node id in this attribute.
    cfg.getMemberAttributeConfig().setAttribute("__vertx.nodeId", UUID.randomUUID().toString());
    AllocationMaps.configure(cfg, o.expectedMembers());
    EventLog.configure(cfg);

    NetworkConfig net = cfg.getNetworkConfig();
    net.setPort(clusterPort).setPortAutoIncrement(false);
    net.getInterfaces().setEnabled(true).setInterfaces(List.of(o.bindAddress()));
    JoinConfig join = net.getJoin();
    join.getMulticastConfig().setEnabled(o.multicast());
    join.getAutoDetectionConfig().setEnabled(false);
    List<String> members = new ArrayList<>(o.clusterMembers());
    members.add(o.bindAddress() + ":" + clusterPort);
    join.getTcpIpConfig().setEnabled(true).setMembers(members);
    return cfg;
  }

  /** The configured port, or a free one on the bind address when 0 was asked for. */
  static int resolvePort(NodeOptions o) {
    if (o.clusterPort() != 0) {
      return o.clusterPort();
    }
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress(InetAddress.getByName(o.bindAddress()), 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free cluster port on " + o.bindAddress(), e);
    }
  }
}
