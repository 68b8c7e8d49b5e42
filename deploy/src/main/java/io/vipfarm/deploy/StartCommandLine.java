package io.vipfarm.deploy;

import io.vipfarm.agent.AgentConfig;
import io.vipfarm.agent.Interception;
import io.vipfarm.agent.Loopback6;
import io.vipfarm.agent.session.SessionSources;
import io.vipfarm.deploy.bridge.BridgeTls;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/** Parses {@code vipfarm start} options. Unknown or malformed options are refused, never ignored. */
public final class StartCommandLine {
  private StartCommandLine() {}

  static final String USAGE = String.join("\n",
      "usage: vipfarm start [options]",
      "  --config FILE              read settings from a YAML file (keys: the option names without --)",
      "  --role all|control|agent   what this process runs (default all)",
      "  --http-host ADDR           gateway listen address (default 127.0.0.1)",
      "  --http-port N              gateway port (default 8080; 0 picks a free port)",
      "  --host-id ID               this session host's id (default: the hostname)",
      "  --data-dir DIR             admin token and state (default /var/lib/vipfarm as root)",
      "  --run-dir DIR              interception rules for sessions (default /run/vipfarm as root)",
      "  --cluster-name NAME        Hazelcast cluster name (default vipfarm)",
      "  --cluster-port N           this member's cluster port (default 5701; 0 picks a free port)",
      "  --cluster-members H:P,...  other members to join (default: none, a single-member cluster)",
      "  --bind-address ADDR        address the cluster and the agent bridge bind to (default 127.0.0.1)",
      "  --multicast                also find members by multicast (default: TCP-IP join only)",
      "  --expected-members N       control members of the farm: leases are refused on a side of a",
      "                             network split with fewer than a majority of them (default 1)",
      "  --tls-cert FILE            serve the gateway over HTTPS with this PEM certificate (needs --tls-key)",
      "  --tls-key FILE             the PEM private key of --tls-cert",
      "  --webhook-allow H,...      non-loopback webhook hosts allowed (host, *.domain, or *; default none)",
      "  --vip-interface IF         the agent adds each leased VIP outside 127.0.0.0/8 to interface IF",
      "                             (label IF:vf) and removes it on release (default: none; needs root)",
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
      "agent bridge (agents never join the cluster; they connect to the control members over TLS):",
      "  --bridge-port N            control: where the agent bridge listens (default " + BridgeSettings.DEFAULT_PORT + ")",
      "  --bridge-cert FILE         this process's PEM certificate from `vipfarm ca issue` (control and agent)",
      "  --bridge-key FILE          its PEM private key",
      "  --bridge-ca FILE           the farm CA's PEM certificate",
      "  --control-members H:P,...  agent: the control members' bridges, tried in turn",
      "  --agent-grace N            control: seconds an agent may go unheard before host.left (default "
          + BridgeSettings.DEFAULT_GRACE_SECONDS + ")",
      "precedence: options > environment (VIPFARM_ + the name in capitals, - as _, e.g. VIPFARM_CLUSTER_NAME)",
      "            > --config file (or VIPFARM_CONFIG) > defaults",
      "environment: VIPFARM_ADMIN_TOKEN sets the admin bearer token (else one is generated",
      "             into <data-dir>/admin-token, mode 0600)");

  private static final Pattern HOST_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
  private static final Pattern MEMBER = Pattern.compile("[A-Za-z0-9.:\\[\\]-]+:\\d{1,5}");

  /** Every setting, by option name; each also a config file key and a VIPFARM_ variable. */
  static final List<String> SETTINGS = List.of("--role", "--http-host", "--http-port", "--host-id", "--data-dir",
      "--run-dir", "--cluster-name", "--cluster-port", "--cluster-members", "--bind-address", "--multicast",
      "--expected-members", "--tls-cert", "--tls-key", "--webhook-allow", "--bridge-port", "--bridge-cert",
      "--bridge-key", "--bridge-ca", "--control-members", "--agent-grace", "--sessions", "--logind-classes",
      "--logind-bus", "--interception", "--cgroup-parent", "--bpf-pin-dir", "--loopback6-prefix", "--vip-interface");
  /** Settings that make no sense for an agent, which holds no cluster data and serves no HTTP. */
  private static final Set<String> NOT_FOR_AGENT = Set.of("--http-host", "--http-port", "--cluster-name",
      "--cluster-port", "--cluster-members", "--bind-address", "--multicast", "--expected-members", "--tls-cert",
      "--tls-key", "--webhook-allow", "--bridge-port", "--agent-grace");
  /** Settings of an agent's own host, meaningless on a control member. */
  private static final Set<String> AGENT_ONLY = Set.of("--control-members", "--host-id", "--run-dir", "--sessions",
      "--logind-classes", "--logind-bus", "--interception", "--cgroup-parent", "--bpf-pin-dir", "--loopback6-prefix",
      "--vip-interface");

  /** One setting and where it came from, for messages that say what to change. */
  private record Setting(String name, String value, String source) {}

  public static NodeOptions parse(List<String> args, Map<String, String> env) {
    List<Setting> settings = new ArrayList<>();
    List<CommandOption> flags = CommandOption.parse(args, Set.of("--multicast"));
    String configFile = env.get("VIPFARM_CONFIG");
    for (CommandOption flag : flags) {
      if (flag.name().equals("--config")) {
        configFile = nonBlank("--config", flag.value());
      }
    }
    if (configFile != null) {
      for (Map.Entry<String, String> e : ConfigFile.read(Path.of(configFile)).entrySet()) {
        settings.add(new Setting("--" + e.getKey(), e.getValue(), "config file " + configFile));
      }
    }
    for (String name : SETTINGS) {
      String variable = envName(name);
      if (env.containsKey(variable)) {
        settings.add(new Setting(name, env.get(variable), "environment " + variable));
      }
    }
    flags.stream().filter(f -> !f.name().equals("--config"))
        .forEach(f -> settings.add(new Setting(f.name(), f.value(), f.name())));

    Role role = Role.ALL;
    for (Setting s : settings) {
      if (s.name().equals("--role")) {
        role = Role.parse(s.value());
      }
    }
    Map<String, Setting> given = new LinkedHashMap<>();
    for (Setting s : settings) {
      if (!SETTINGS.contains(s.name())) {
        throw new UsageException("unknown option " + s.name() + (s.source().equals(s.name()) ? "" : " (in " + s.source() + ")"));
      }
      given.put(s.name(), s);
    }
    refuseContradictions(role, given);

    String httpHost = "127.0.0.1";
    int httpPort = 8080;
    String hostId = null;
    Path dataDir = null;
    Path runDir = null;
    String clusterName = "vipfarm";
    int clusterPort = 5701;
    List<String> members = new ArrayList<>();
    String bindAddress = "127.0.0.1";
    boolean multicast = false;
    Path tlsCert = null;
    Path tlsKey = null;
    List<String> webhookAllow = new ArrayList<>();
    int expectedMembers = 1;
    int bridgePort = BridgeSettings.DEFAULT_PORT;
    Path bridgeCert = null;
    Path bridgeKey = null;
    Path bridgeCa = null;
    List<String> controlMembers = new ArrayList<>();
    int agentGrace = BridgeSettings.DEFAULT_GRACE_SECONDS;
    String sessions = null;
    String logindClasses = null;
    String logindBus = null;
    String interception = "auto";
    Path cgroupParent = null;
    Path pinDir = null;
    String loopback6Prefix = null;
    String vipInterface = null;

    for (Setting setting : given.values()) {
      String name = setting.name();
      String value = setting.value();
      try {
        switch (name) {
          case "--role" -> role = Role.parse(value);
          case "--http-host" -> httpHost = value;
          case "--http-port" -> httpPort = port(name, value);
          case "--host-id" -> hostId = hostId(value);
          case "--data-dir" -> dataDir = Path.of(value).toAbsolutePath();
          case "--run-dir" -> runDir = Path.of(value).toAbsolutePath();
          case "--cluster-name" -> clusterName = nonBlank(name, value);
          case "--cluster-port" -> clusterPort = port(name, value);
          case "--cluster-members" -> members = members(name, value);
          case "--bind-address" -> bindAddress = nonBlank(name, value);
          case "--multicast" -> multicast = bool(name, value);
          case "--tls-cert" -> tlsCert = readableFile(name, value);
          case "--tls-key" -> tlsKey = readableFile(name, value);
          case "--webhook-allow" -> webhookAllow = webhookHosts(value);
          case "--expected-members" -> expectedMembers = positive(name, value, 99);
          case "--bridge-port" -> bridgePort = port(name, value);
          case "--bridge-cert" -> bridgeCert = readableFile(name, value);
          case "--bridge-key" -> bridgeKey = readableFile(name, value);
          case "--bridge-ca" -> bridgeCa = readableFile(name, value);
          case "--control-members" -> controlMembers = members(name, value);
          case "--agent-grace" -> agentGrace = positive(name, value, 86_400);
          case "--sessions" -> sessions = value;
          case "--logind-classes" -> logindClasses = value;
          case "--logind-bus" -> logindBus = value;
          case "--interception" -> interception = interception(value);
          case "--cgroup-parent" -> cgroupParent = Path.of(nonBlank(name, value)).toAbsolutePath().normalize();
          case "--bpf-pin-dir" -> pinDir = Path.of(nonBlank(name, value)).toAbsolutePath().normalize();
          case "--loopback6-prefix" -> loopback6Prefix = loopback6Prefix(value);
          case "--vip-interface" -> vipInterface = vipInterface(value);
          default -> throw new UsageException("unknown option " + name);
        }
      } catch (UsageException e) {
        throw setting.source().equals(name) ? e : new UsageException(e.getMessage() + " (from " + setting.source() + ")");
      }
    }
    if ((tlsCert == null) != (tlsKey == null)) {
      throw new UsageException("--tls-cert and --tls-key go together");
    }
    int bridgeFiles = (bridgeCert == null ? 0 : 1) + (bridgeKey == null ? 0 : 1) + (bridgeCa == null ? 0 : 1);
    if (bridgeFiles != 0 && bridgeFiles != 3) {
      throw new UsageException("--bridge-cert, --bridge-key and --bridge-ca go together");
    }
    if (role != Role.ALL && bridgeFiles == 0) {
      throw new UsageException("--role " + role.name().toLowerCase(Locale.ROOT) + " needs --bridge-cert, --bridge-key"
          + " and --bridge-ca: agents reach the control plane only over TLS with certificates of the farm CA"
          + " (create them with: vipfarm ca init --dir D; vipfarm ca issue --dir D ...)");
    }
    if (role == Role.AGENT && controlMembers.isEmpty()) {
      throw new UsageException("--role agent needs --control-members host:port,... (the control members' bridges)");
    }
    String resolvedHostId = hostId != null ? hostId : hostId(defaultHostName());
    BridgeTls tls = bridgeFiles == 0 ? null : new BridgeTls(bridgeCert, bridgeKey, bridgeCa);
    if (role == Role.AGENT) {
      requireCertificateOf(resolvedHostId, bridgeCert);
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
    if (role == Role.CONTROL && vipInterface != null) {
      throw new UsageException("--vip-interface is for agents; a control member holds no sessions");
    }
    return new NodeOptions(
        role,
        httpHost,
        httpPort,
        resolvedHostId,
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
        multicast,
        new BridgeSettings(bridgePort, tls, controlMembers, agentGrace),
        sources,
        new AgentConfig.Request(interception, null, pinDir, cgroupParent, loopback6Prefix),
        vipInterface);
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

  static String envName(String option) {
    return "VIPFARM_" + option.substring(2).toUpperCase(Locale.ROOT).replace('-', '_');
  }

  private static void refuseContradictions(Role role, Map<String, Setting> given) {
    for (Setting s : given.values()) {
      String from = s.source().equals(s.name()) ? "" : " (from " + s.source() + ")";
      if (role == Role.AGENT && NOT_FOR_AGENT.contains(s.name())) {
        throw new UsageException(s.name() + " is not for --role agent" + from + ": an agent never joins the"
            + " cluster and serves no HTTP; it reaches the control plane through --control-members");
      }
      if (role != Role.AGENT && s.name().equals("--control-members")) {
        throw new UsageException("--control-members is for --role agent" + from
            + "; control members join each other with --cluster-members");
      }
      if (role == Role.CONTROL && AGENT_ONLY.contains(s.name())) {
        throw new UsageException(s.name() + " is for agents" + from + ": --role control runs no host agent");
      }
    }
  }

  /** An agent acts only for the host id in its certificate: a mismatch would be refused frame by frame later. */
  private static void requireCertificateOf(String hostId, Path cert) {
    String cn;
    try {
      cn = BridgeTls.commonName(cert).orElse(null);
    } catch (java.io.IOException e) {
      throw new UsageException("--bridge-cert: " + e.getMessage());
    }
    if (!hostId.equals(cn)) {
      throw new UsageException("--bridge-cert " + cert + " is for host '" + cn + "', not --host-id '" + hostId
          + "' (issue one with: vipfarm ca issue --dir D --host-id " + hostId + ")");
    }
  }

  private static boolean bool(String name, String value) {
    return switch (value.toLowerCase(Locale.ROOT)) {
      case "true", "yes", "on" -> true;
      case "false", "no", "off" -> false;
      default -> throw new UsageException(name + " must be true or false (got '" + value + "')");
    };
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

  private static List<String> members(String name, String value) {
    List<String> out = new ArrayList<>();
    for (String m : Arrays.asList(value.split(","))) {
      String member = m.trim();
      if (member.isEmpty()) {
        continue;
      }
      if (!MEMBER.matcher(member).matches()) {
        throw new UsageException(name + " takes host:port,... (bad entry '" + member + "')");
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
