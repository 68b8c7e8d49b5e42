package io.vipfarm.policy;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.util.UUID;

/** A single Hazelcast member for tests: loopback only, no discovery, its own random cluster. */
final class StandaloneHazelcast {
  private StandaloneHazelcast() {}

  static HazelcastInstance start() {
    Config config = new Config()
        .setClusterName("vipfarm-policy-test-" + UUID.randomUUID())
        .setProperty("hazelcast.phone.home.enabled", "false")
        .setProperty("hazelcast.local.localAddress", "127.0.0.1")
        .setProperty("hazelcast.shutdownhook.enabled", "false");
    NetworkConfig network = config.getNetworkConfig();
    // Port 0: the OS picks a free port, so parallel builds never collide.
    network.setPort(0).setPortAutoIncrement(false);
    network.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    // TCP-IP join with no other members: this node forms its own cluster at once.
    join.getTcpIpConfig().setEnabled(true);
    return Hazelcast.newHazelcastInstance(config);
  }
}
