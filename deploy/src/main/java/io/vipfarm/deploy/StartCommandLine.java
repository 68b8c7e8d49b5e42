package io.vipfarm.deploy;

import io.vipfarm.agent.session.SessionSources;
import io.vipfarm.agent.AgentConfig;
import io.vipfarm.agent.Interception;
import io.vipfarm.agent.Loopback6;
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
      "  --sessions api|logind|pam  where the agent's sessions come from, a comma list (default api: the",
      "                             gateway only); logind: follow systemd-logind; pam: serve the local",
      "                             control socket for `vipfarm session open|close` (pam_exec)",
      "  --logind-classes C,...     logind session classes that become sessions (default user)",
      "  --logind-bus ADDRESS       D-Bus address of the system bus (default $DBUS_SYSTEM_BUS_ADDRESS,",
      "                             else unix:path=/run/dbus/system_bus_socket)",
      "  --interception MODE        auto|kernel|preload: how sessions are enforced (default auto: kernel",
      "                             where the host supports it, else preload; kernel refuses to start without it)",
      "  --cgroup-parent DIR        the sessions' parent cgroup (default <cgroup2 mount>/vipfarm.slice)",
      "  --bpf-pin-dir DIR          where the kernel path is pinned (default /sys/fs/bpf/vipfarm-<host-id>)",
      "  --loopback6-prefix P/64    the sessions' IPv6 loopbacks (default fd7f:7f7f:7f7f::/64; none: ::1 passes through)",
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
    String sessions = null;
    String logindClasses = null;
    String logindBus = null;
    String interception = "auto";
    Path cgroupParent = null;
    Path pinDir = null;
    String loopback6Prefix = null;

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
        case "--sessions" -> sessions = value;
        case "--logind-classes" -> logindClasses = value;
        case "--logind-bus" -> logindBus = value;
        case "--interception" -> interception = interception(value);
        case "--cgroup-parent" -> cgroupParent = Path.of(nonBlank(name, value)).toAbsolutePath().normalize();
        case "--bpf-pin-dir" -> pinDir = Path.of(nonBlank(name, value)).toAbsolutePath().normalize();
        case "--loopback6-prefix" -> loopback6Prefix = loopback6Prefix(value);
        default -> throw new UsageException("unknown option " + name);
      }
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new UsageException("--tls-cert and --tls-key go together");
    }
    if (role == Role.AGENT && expectedMembers != 1) {
      throw new UsageException("--expected-members is for control members; an agent holds no leases");
    }
    SessionSources sources;
    try {
      sources = SessionSources.parse(sessions, logindClasses, logindBus, env);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    if (sources.any() && !role.runsAgent()) {
      throw new UsageException("--sessions " + sessions + " needs an agent: --role all or agent");
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
        sources,
        new AgentConfig.Request(interception, null, pinDir, cgroupParent, loopback6Prefix));
  }

  private static String interception(String value) {
    try {
      return Interception.parseRequest(value);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--interception " + e.getMessage().replaceFirst("^interception ", ""));
    }
  }

  private static String loopback6Prefix(String value) {
    if (value.equals(AgentConfig.Request.NO_LOOPBACK6)) {
      return value;
    }
    try {
      return Loopback6.parse(value).toString();
    } catch (IllegalArgumentException e) {
      throw new UsageException("--loopback6-prefix: " + e.getMessage());
    }
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
