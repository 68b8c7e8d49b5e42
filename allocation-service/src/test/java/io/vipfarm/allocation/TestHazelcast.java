package io.vipfarm.allocation;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Hazelcast members for tests: bound to 127.0.0.1 only, a random cluster name and port range per
 * cluster, multicast and auto-detection off, phone-home off, allocation maps configured.
 */
final class TestHazelcast {
  private TestHazelcast() {}

  /** One member that joins nobody. */
  static HazelcastInstance standalone() {
    Config config = config("vipfarm-test-" + UUID.randomUUID(), randomBasePort(), 1);
    config.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(false);
    return Hazelcast.newHazelcastInstance(config);
  }

  /** {@code members} members joined over TCP on 127.0.0.1. */
  static List<HazelcastInstance> cluster(int members) {
    return cluster(members, 1);
  }

  /** {@code members} members joined over TCP on 127.0.0.1, with split-brain protection for {@code expected}. */
  static List<HazelcastInstance> cluster(int members, int expected) {
    String name = "vipfarm-test-" + UUID.randomUUID();
    int port = randomBasePort();
    List<HazelcastInstance> instances = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      Config config = config(name, port, expected);
      var tcp = config.getNetworkConfig().getJoin().getTcpIpConfig().setEnabled(true);
      for (int p = port; p < port + members + 2; p++) {
        tcp.addMember("127.0.0.1:" + p);
      }
      instances.add(Hazelcast.newHazelcastInstance(config));
    }
    return instances;
  }

  static void shutdown(List<HazelcastInstance> instances) {
    if (instances == null) {
      return;
    }
    for (HazelcastInstance hz : instances) {
      hz.shutdown();
    }
  }

  private static Config config(String clusterName, int port, int expected) {
    Config config = new Config();
    config.setClusterName(clusterName);
    config.setProperty("hazelcast.phone.home.enabled", "false");
    config.setProperty("hazelcast.socket.bind.any", "false");
    config.setProperty("hazelcast.wait.seconds.before.join", "0");
    NetworkConfig network = config.getNetworkConfig();
    network.setPort(port).setPortAutoIncrement(true).setPortCount(20);
    network.getInterfaces().setEnabled(true).addInterface("127.0.0.1");
    JoinConfig join = network.getJoin();
    join.getMulticastConfig().setEnabled(false);
    join.getAutoDetectionConfig().setEnabled(false);
    return AllocationMaps.configure(config, expected);
  }

  private static int randomBasePort() {
    return 15701 + ThreadLocalRandom.current().nextInt(0, 400) * 25;
  }
}
