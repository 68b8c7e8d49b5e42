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
import java.util.Optional;
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
 * @param interception how this host enforces the rules: {@value Interception#KERNEL} or
 *     {@value #PRELOAD} (the LD_PRELOAD shim)
 * @param interceptionReason why that path (for a fallback to preload, what the kernel path lacked)
 * @param kernel where the kernel path lives, or null on the preload path
 * @param loopback6 the prefix of the sessions' IPv6 loopbacks, or null when this host cannot have them
 *     (then no {@code loopback6} is written and {@code ::1} passes through)
 * @param vipInterface the interface the agent puts leased VIPs on ({@code --vip-interface}), or null for
 *     none: VIPs in 127.0.0.0/8 need none, other VIPs are then expected to be routed to the host already
 */
public record AgentConfig(
    String hostId, String bootId, Path runDir, List<String> hostAddresses, String interception,
    String interceptionReason, KernelPath kernel, Loopback6 loopback6, String vipInterface) {
  private static final Logger LOG = LoggerFactory.getLogger(AgentConfig.class);

  /** Enforcement through the LD_PRELOAD shim. */
  public static final String PRELOAD = "preload";
  /** System property naming the loader program instead of the one shipped next to the jars. */
  public static final String LOADER_PROPERTY = "vipfarm.bpf.loader";
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
    if (Interception.KERNEL.equals(interception) != (kernel != null)) {
      throw new IllegalArgumentException("the kernel path needs its settings, and only it");
    }
    if (vipInterface != null) {
      VipAddressPlan.checkInterfaceName(vipInterface);
    }
  }

  /** Without VIP interface management. */
  public AgentConfig(String hostId, String bootId, Path runDir, List<String> hostAddresses, String interception,
      String interceptionReason, KernelPath kernel, Loopback6 loopback6) {
    this(hostId, bootId, runDir, hostAddresses, interception, interceptionReason, kernel, loopback6, null);
  }

  /** This configuration with leased VIPs put on {@code vipInterface} (null: none). */
  public AgentConfig withVipInterface(String vipInterface) {
    return new AgentConfig(hostId, bootId, runDir, hostAddresses, interception, interceptionReason, kernel, loopback6,
        vipInterface);
  }

  /** The preload path without IPv6 loopbacks. */
  public AgentConfig(String hostId, String bootId, Path runDir, List<String> hostAddresses, String interception) {
    this(hostId, bootId, runDir, hostAddresses, interception, "preload", null, null, null);
  }

  /**
   * Where the kernel path lives on this host.
   *
   * @param loader the {@code vipfarm-bpf} program
   * @param pinDir where programs, links and maps are pinned (bpffs)
   * @param cgroups the sessions' parent cgroup
   */
  public record KernelPath(Path loader, Path pinDir, CgroupTree cgroups) {}

  /**
   * What {@code vipfarm start} asks for.
   *
   * @param interception auto, kernel or preload
   * @param loader the loader program, or null for {@code vipfarm-bpf} in the {@code native} directory next
   *     to the agent's jar (lib/native in the distribution, target/native in a build)
   * @param pinDir or null for {@code /sys/fs/bpf/vipfarm-<host-id>}
   * @param cgroupParent or null for {@code <cgroup2 mount>/vipfarm.slice}
   * @param loopback6Prefix or null for {@value Loopback6#DEFAULT_PREFIX}; {@value #NO_LOOPBACK6} for no IPv6
   *     session loopbacks
   */
  public record Request(String interception, Path loader, Path pinDir, Path cgroupParent, String loopback6Prefix) {
    /** The loopback6 prefix that turns IPv6 session loopbacks off. */
    public static final String NO_LOOPBACK6 = "none";

    /**
     * Preload, without IPv6 session loopbacks: what in-process nodes of tests and benchmarks use, so that
     * they leave no address on the host's {@code lo}.
     */
    public static Request preload() {
      return new Request(Interception.PRELOAD, null, null, null, NO_LOOPBACK6);
    }
  }

  /**
   * The configuration of this machine: its boot id (from {@code /proc/sys/kernel/random/boot_id}, or a
   * random one, logged, where that cannot be read), its own non-loopback addresses and preload
   * interception. Blocking: call it before deploying the agent, not on an event loop.
   */
  public static AgentConfig detect(String hostId, Path runDir) {
    return new AgentConfig(hostId, readBootId(BOOT_ID_FILE), runDir, ownAddresses(), PRELOAD);
  }

  /**
   * The configuration of this machine for {@code request}: the enforcement path (probing the kernel path
   * unless preload was asked for; the reason of a fallback is logged) and the IPv6 loopbacks when this
   * host can have them. Blocking: runs the loader's probe.
   *
   * @throws Interception.UnavailableException when kernel was asked for and does not work here
   */
  public static AgentConfig detect(String hostId, Path runDir, Request request) {
    boolean root = isRoot();
    Path loader = request.loader() != null ? request.loader() : defaultLoader();
    Path[] parent = new Path[1];
    Interception interception = Interception.choose(request.interception(), () -> {
      if (!root) {
        return Interception.Probe.missing("not running as root (loading BPF programs needs it)");
      }
      Optional<Path> mount = request.cgroupParent() != null ? Optional.of(request.cgroupParent().getParent())
          : cgroup2Mount();
      if (mount.isEmpty()) {
        return Interception.Probe.missing("no cgroup2 hierarchy is mounted (see /proc/self/mounts)");
      }
      parent[0] = request.cgroupParent() != null ? request.cgroupParent() : mount.get().resolve(CgroupTree.DEFAULT_PARENT);
      String problem = new BpfLoader(loader).probe();
      return problem == null ? Interception.Probe.ok() : Interception.Probe.missing(problem);
    });
    KernelPath kernel = null;
    if (interception.kernel()) {
      Path pinDir = request.pinDir() != null ? request.pinDir()
          : Path.of("/sys/fs/bpf/vipfarm-" + hostId.replaceAll("[^A-Za-z0-9._-]", "_")); // flat: the loader
      // pins into a directory whose parent is the bpffs mount itself
      kernel = new KernelPath(loader, pinDir.toAbsolutePath(), new CgroupTree(parent[0]));
      LOG.info("interception: kernel ({}); sessions' cgroups under {}, programs pinned in {}",
          interception.reason(), kernel.cgroups().parent(), kernel.pinDir());
    } else {
      LOG.info("interception: preload ({})", interception.reason());
    }
    Loopback6 loopback6 = null;
    String problem = Request.NO_LOOPBACK6.equals(request.loopback6Prefix()) ? "turned off (loopback6 prefix 'none')"
        : Loopback6Addresses.problem(root);
    if (problem == null) {
      loopback6 = Loopback6.parse(request.loopback6Prefix() != null ? request.loopback6Prefix()
          : Loopback6.DEFAULT_PREFIX);
      LOG.info("sessions' IPv6 loopbacks (what ::1 becomes) are in {}", loopback6);
    } else {
      LOG.info("no IPv6 session loopbacks: {}; ::1 passes through in every session", problem);
    }
    return new AgentConfig(hostId, readBootId(BOOT_ID_FILE), runDir, ownAddresses(), interception.mode(),
        interception.reason(), kernel, loopback6);
  }

  /**
   * {@code vipfarm-bpf} in the {@code native} directory next to the jar (or classes directory) of the agent;
   * the system property {@value #LOADER_PROPERTY} overrides it (development: a loader built elsewhere).
   */
  static Path defaultLoader() {
    String override = System.getProperty(LOADER_PROPERTY);
    if (override != null && !override.isBlank()) {
      return Path.of(override).toAbsolutePath();
    }
    try {
      Path code = Path.of(AgentConfig.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return code.getParent().resolve("native").resolve("vipfarm-bpf");
    } catch (Exception e) {
      return Path.of("vipfarm-bpf");
    }
  }

  /** Whether this process runs as uid 0 (the owner of /proc/self is the effective uid). */
  static boolean isRoot() {
    try {
      return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  static Optional<Path> cgroup2Mount() {
    try {
      return CgroupTree.cgroup2Mount(Files.readString(Path.of("/proc/self/mounts"), StandardCharsets.UTF_8));
    } catch (IOException e) {
      LOG.warn("cannot read /proc/self/mounts: {}", e.toString());
      return Optional.empty();
    }
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
