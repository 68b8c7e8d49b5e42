package io.vipfarm.gateway;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.util.UUID;

/** A real standalone Hazelcast member for a test class: 127.0.0.1 only, its own cluster name, joins nobody. */
final class TestMember {
  private TestMember() {}

  static HazelcastInstance start(int eventCapacity) {
    Config config = new Config().setClusterName("vipfarm-test-" + UUID.randomUUID());
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.logging.type", "slf4j");
    config.setProperty("hazelcast.local.localAddress", "127.0.0.1");
    NetworkConfig network = config.getNetworkConfig();
    network.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getTcpIpConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    return Hazelcast.newHazelcastInstance(EventLog.configure(config, eventCapacity));
  }
}
