package io.vipfarm.agent;

import io.vipfarm.agent.ifaddr.VipAddressPlan;
import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the host agent needs to know about its host.
 *
 * @param hostId the host's id in the farm (the launcher's {@code --host-id})
 * @param bootId the kernel's boot id: part of every lease key, because session ids repeat after a reboot
 * @param runDir where the agent writes the sessions' interception rules ({@code --run-dir})
 * @param hostAddresses the host's own non-loopback addresses; a bind to one of them is treated like a
 *     bind to 0.0.0.0
 * @param interception how this host enforces the rules: {@value #PRELOAD} (the LD_PRELOAD shim)
 * @param vipInterface the interface the agent puts leased VIPs on ({@code --vip-interface}), or null for
 *     none: VIPs in 127.0.0.0/8 need none, other VIPs are then expected to be routed to the host already
 */
public record AgentConfig(
    String hostId, String bootId, Path runDir, List<String> hostAddresses, String interception,
    String vipInterface) {
  private static final Logger LOG = LoggerFactory.getLogger(AgentConfig.class);

  /** Enforcement through the LD_PRELOAD shim. */
  public static final String PRELOAD = "preload";
  static final Path BOOT_ID_FILE = Path.of("/proc/sys/kernel/random/boot_id");

  public AgentConfig {
    if (hostId == null || hostId.isBlank()) {
      throw new IllegalArgumentException("a host id is required");
    }
    if (bootId == null || bootId.isBlank()) {
      throw new IllegalArgumentException("a boot id is required");
    }
    Objects.requireNonNull(runDir, "runDir");
    hostAddresses = List.copyOf(hostAddresses);
    Objects.requireNonNull(interception, "interception");
    if (vipInterface != null) {
      VipAddressPlan.checkInterfaceName(vipInterface);
    }
  }

  /** Without VIP interface management. */
  public AgentConfig(String hostId, String bootId, Path runDir, List<String> hostAddresses, String interception) {
    this(hostId, bootId, runDir, hostAddresses, interception, null);
  }

  /** This configuration with leased VIPs put on {@code vipInterface} (null: none). */
  public AgentConfig withVipInterface(String vipInterface) {
    return new AgentConfig(hostId, bootId, runDir, hostAddresses, interception, vipInterface);
  }

  /**
   * The configuration of this machine: its boot id (from {@code /proc/sys/kernel/random/boot_id}, or a
   * random one, logged, where that cannot be read), its own non-loopback addresses and preload
   * interception. Blocking: call it before deploying the agent, not on an event loop.
   */
  public static AgentConfig detect(String hostId, Path runDir) {
    return new AgentConfig(hostId, readBootId(BOOT_ID_FILE), runDir, ownAddresses(), PRELOAD);
  }

  static String readBootId(Path file) {
    try {
      String id = Files.readString(file, StandardCharsets.US_ASCII).strip();
      if (!id.isEmpty()) {
        return id;
      }
      LOG.warn("{} is empty", file);
    } catch (IOException | SecurityException e) {
      LOG.warn("cannot read the boot id from {}: {}", file, e.toString());
    }
    String random = UUID.randomUUID().toString();
    LOG.warn("using the random boot id {}: leases of this agent cannot be told apart from a later boot's"
        + " by boot id", random);
    return random;
  }

  /** The addresses of the host's interfaces that are up, without loopback and IPv6 link-local ones. */
  static List<String> ownAddresses() {
    List<String> addresses = new ArrayList<>();
    try {
      for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
        if (!nic.isUp() || nic.isLoopback()) {
          continue;
        }
        for (InterfaceAddress ia : nic.getInterfaceAddresses()) {
          InetAddress address = ia.getAddress();
          if (address.isLoopbackAddress() || (address instanceof Inet6Address && address.isLinkLocalAddress())) {
            continue;
          }
          String text = withoutScope(address);
          if (!addresses.contains(text)) {
            addresses.add(text);
          }
        }
      }
    } catch (SocketException e) {
      LOG.warn("cannot list the host's network interfaces, writing no host addresses: {}", e.toString());
    }
    return addresses;
  }

  private static String withoutScope(InetAddress address) {
    try {
      return InetAddress.getByAddress(address.getAddress()).getHostAddress();
    } catch (UnknownHostException e) {
      throw new IllegalStateException("an address of a valid length was refused", e);
    }
  }
}
