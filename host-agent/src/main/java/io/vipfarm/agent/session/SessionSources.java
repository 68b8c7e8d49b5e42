package io.vipfarm.agent.session;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Where this host's sessions come from, besides the gateway API (which always works).
 *
 * <p>The default is the API only: following logind is something an administrator asks for. A
 * developer running {@code vipfarm start} on a desktop would otherwise turn their own desktop session
 * into a vipfarm session, and on a real farm the choice between logind and PAM is deliberate (both
 * see the same logins; logind also sees sessions that PAM does not name).
 *
 * @param logind follow systemd-logind's sessions on the system bus ({@code --sessions logind})
 * @param pam serve the local control socket that {@code vipfarm session open|close} (pam_exec) calls
 * @param logindBus the D-Bus address of the system bus where logind is
 * @param logindClasses the logind session classes that become vipfarm sessions ({@code user} by default)
 */
public record SessionSources(boolean logind, boolean pam, String logindBus, Set<String> logindClasses) {
  public static final String SYSTEM_BUS = "unix:path=/run/dbus/system_bus_socket";
  /** The D-Bus convention for where the system bus is, when not at {@link #SYSTEM_BUS}. */
  public static final String SYSTEM_BUS_ENV = "DBUS_SYSTEM_BUS_ADDRESS";
  /** logind's session classes (org.freedesktop.login1(5), systemd 256+ adds the -early/-light/manager ones). */
  static final Set<String> KNOWN_CLASSES = Set.of("user", "user-early", "user-incomplete", "greeter",
      "lock-screen", "background", "background-light", "manager", "manager-early");

  public SessionSources {
    logindClasses = Set.copyOf(logindClasses);
    if (logind && (logindBus == null || logindBus.isBlank())) {
      throw new IllegalArgumentException("following logind needs a bus address");
    }
  }

  /** Sessions come from the gateway API only (what {@code vipfarm start} does unless told otherwise). */
  public static SessionSources apiOnly() {
    return new SessionSources(false, false, null, Set.of("user"));
  }

  public boolean any() {
    return logind || pam;
  }

  /**
   * The sources named by {@code --sessions} (a comma list of {@code api}, {@code logind}, {@code pam});
   * {@code classes} ({@code --logind-classes}) and {@code bus} ({@code --logind-bus}) may be null.
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static SessionSources parse(String sessions, String classes, String bus, Map<String, String> env) {
    boolean logind = false;
    boolean pam = false;
    for (String part : (sessions == null ? "api" : sessions).split(",")) {
      switch (part.trim()) {
        case "api" -> { }
        case "logind" -> logind = true;
        case "pam" -> pam = true;
        default -> throw new IllegalArgumentException(
            "--sessions takes a comma list of api, logind, pam (got '" + part.trim() + "')");
      }
    }
    if (!logind && (classes != null || bus != null)) {
      throw new IllegalArgumentException("--logind-classes and --logind-bus need --sessions logind");
    }
    Set<String> wanted = new LinkedHashSet<>();
    for (String c : (classes == null ? "user" : classes).split(",")) {
      String name = c.trim();
      if (!KNOWN_CLASSES.contains(name)) {
        throw new IllegalArgumentException("--logind-classes: unknown logind session class '" + name
            + "' (known: " + String.join(", ", KNOWN_CLASSES.stream().sorted().toList()) + ")");
      }
      wanted.add(name);
    }
    String address = bus != null ? bus : env.getOrDefault(SYSTEM_BUS_ENV, SYSTEM_BUS);
    if (logind && address.isBlank()) {
      throw new IllegalArgumentException("--logind-bus must not be empty");
    }
    return new SessionSources(logind, pam, logind ? address : null, wanted);
  }

  /** For logs: {@code api,logind(user),pam}. */
  public String describe() {
    StringBuilder out = new StringBuilder("api");
    if (logind) {
      out.append(",logind(").append(String.join("+", logindClasses.stream().sorted().toList())).append(")");
    }
    if (pam) {
      out.append(",pam");
    }
    return out.toString();
  }
}
