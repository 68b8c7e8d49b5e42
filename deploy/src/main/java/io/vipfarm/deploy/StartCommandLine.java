package io.vipfarm.deploy;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** Parses {@code vipfarm start} options. Unknown or malformed options are refused, never ignored. */
public final class StartCommandLine {
  private StartCommandLine() {}

  static final String USAGE = String.join("\n",
      "usage: vipfarm start [options]",
      "  --role all|control|agent   what this process runs (default all)",
      "  --http-host ADDR           gateway listen address (default 127.0.0.1)",
      "  --http-port N              gateway port (default 8080; 0 picks a free port)",
      "  --host-id ID               this session host's id (default: the hostname)",
      "  --data-dir DIR             admin token and state (default /var/lib/vipfarm as root)",
      "  --run-dir DIR              interception rules for sessions (default /run/vipfarm as root)",
      "  --cluster-name NAME        Hazelcast cluster name (default vipfarm)",
      "  --cluster-port N           this member's cluster port (default 5701; 0 picks a free port)",
      "  --cluster-members H:P,...  other members to join (default: none, a single-member cluster)",
      "  --bind-address ADDR        address the cluster binds to (default 127.0.0.1)",
      "  --expected-members N       control members of the farm: leases are refused on a side of a",
      "                             network split with fewer than a majority of them (default 1)",
      "  --tls-cert FILE            serve the gateway over HTTPS with this PEM certificate (needs --tls-key)",
      "  --tls-key FILE             the PEM private key of --tls-cert",
      "  --webhook-allow H,...      non-loopback webhook hosts allowed (host, *.domain, or *; default none)",
      "  --vip-interface IF         the agent adds each leased VIP outside 127.0.0.0/8 to interface IF",
      "                             (label IF:vf) and removes it on release (default: none; needs root)",
      "environment: VIPFARM_ADMIN_TOKEN sets the admin bearer token (else one is generated",
      "             into <data-dir>/admin-token, mode 0600)");

  private static final Pattern HOST_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
  private static final Pattern MEMBER = Pattern.compile("[A-Za-z0-9.:\\[\\]-]+:\\d{1,5}");

  public static NodeOptions parse(List<String> args, Map<String, String> env) {
    Role role = Role.ALL;
    String httpHost = "127.0.0.1";
    int httpPort = 8080;
    String hostId = null;
    Path dataDir = null;
    Path runDir = null;
    String clusterName = "vipfarm";
    int clusterPort = 5701;
    List<String> members = new ArrayList<>();
    String bindAddress = "127.0.0.1";
    Path tlsCert = null;
    Path tlsKey = null;
    List<String> webhookAllow = new ArrayList<>();
    int expectedMembers = 1;
    String vipInterface = null;

    for (CommandOption option : CommandOption.parse(args)) {
      String name = option.name();
      String value = option.value();
      switch (name) {
        case "--role" -> role = Role.parse(value);
        case "--http-host" -> httpHost = value;
        case "--http-port" -> httpPort = port(name, value);
        case "--host-id" -> hostId = hostId(value);
        case "--data-dir" -> dataDir = Path.of(value).toAbsolutePath();
        case "--run-dir" -> runDir = Path.of(value).toAbsolutePath();
        case "--cluster-name" -> clusterName = nonBlank(name, value);
        case "--cluster-port" -> clusterPort = port(name, value);
        case "--cluster-members" -> members = members(value);
        case "--bind-address" -> bindAddress = nonBlank(name, value);
        case "--tls-cert" -> tlsCert = readableFile(name, value);
        case "--tls-key" -> tlsKey = readableFile(name, value);
        case "--webhook-allow" -> webhookAllow = webhookHosts(value);
        case "--expected-members" -> expectedMembers = positive(name, value, 99);
        case "--vip-interface" -> vipInterface = vipInterface(value);
        default -> throw new UsageException("unknown option " + name);
      }
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new UsageException("--tls-cert and --tls-key go together");
    }
    if (role == Role.AGENT && expectedMembers != 1) {
      throw new UsageException("--expected-members is for control members; an agent holds no leases");
    }
    if (role == Role.CONTROL && vipInterface != null) {
      throw new UsageException("--vip-interface is for agents; a control member holds no sessions");
    }
    return new NodeOptions(
        role,
        httpHost,
        httpPort,
        hostId != null ? hostId : hostId(defaultHostName()),
        dataDir != null ? dataDir : DefaultPaths.dataDir(env),
        runDir != null ? runDir : DefaultPaths.runDir(env),
        clusterName,
        clusterPort,
        members,
        bindAddress,
        tlsCert,
        tlsKey,
        webhookAllow,
        expectedMembers,
        vipInterface);
  }

  private static int positive(String name, String value, int max) {
    try {
      int n = Integer.parseInt(value);
      if (n >= 1 && n <= max) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new UsageException(name + " must be a number from 1 to " + max + " (got '" + value + "')");
  }

  private static String vipInterface(String value) {
    try {
      return io.vipfarm.agent.ifaddr.VipAddressPlan.checkInterfaceName(value);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--vip-interface: " + e.getMessage());
    }
  }

  private static Path readableFile(String name, String value) {
    Path path = Path.of(nonBlank(name, value)).toAbsolutePath();
    if (!java.nio.file.Files.isReadable(path) || !java.nio.file.Files.isRegularFile(path)) {
      throw new UsageException(name + " must name a readable PEM file (got '" + value + "')");
    }
    return path;
  }

  private static List<String> webhookHosts(String value) {
    List<String> out = new ArrayList<>();
    for (String h : value.split(",")) {
      String host = h.trim();
      if (host.isEmpty()) {
        continue;
      }
      if (!host.matches("\\*|(\\*\\.)?[A-Za-z0-9.-]+")) {
        throw new UsageException("--webhook-allow takes host,*.domain,... or * (bad entry '" + host + "')");
      }
      out.add(host);
    }
    return out;
  }

  private static int port(String name, String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw new UsageException(name + " must be a port number 0..65535 (got '" + value + "')");
  }

  private static String hostId(String value) {
    if (!HOST_ID.matcher(value).matches()) {
      throw new UsageException("--host-id must match " + HOST_ID.pattern() + " (got '" + value + "')");
    }
    return value;
  }

  private static String nonBlank(String name, String value) {
    if (value.isBlank()) {
      throw new UsageException(name + " must not be empty");
    }
    return value;
  }

  private static List<String> members(String value) {
    List<String> out = new ArrayList<>();
    for (String m : Arrays.asList(value.split(","))) {
      String member = m.trim();
      if (member.isEmpty()) {
        continue;
      }
      if (!MEMBER.matcher(member).matches()) {
        throw new UsageException("--cluster-members takes host:port,... (bad entry '" + member + "')");
      }
      out.add(member);
    }
    return out;
  }

  private static String defaultHostName() {
    try {
      String name = InetAddress.getLocalHost().getHostName();
      int dot = name.indexOf('.');
      return dot > 0 ? name.substring(0, dot) : name;
    } catch (UnknownHostException e) {
      return "localhost";
    }
  }
}
