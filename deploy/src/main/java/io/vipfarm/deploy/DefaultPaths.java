package io.vipfarm.deploy;

import java.nio.file.Path;
import java.util.Map;

/**
 * Default data and run directories: system locations for root (a real install), per-user ones
 * otherwise so that a first try without root works. bin/vipfarm computes the same run dir for exec.
 */
final class DefaultPaths {
  private DefaultPaths() {}

  static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  static Path dataDir(Map<String, String> env) {
    if (isRoot()) {
      return Path.of("/var/lib/vipfarm");
    }
    String xdg = env.get("XDG_DATA_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
    return base.resolve("vipfarm");
  }

  static Path runDir(Map<String, String> env) {
    if (isRoot()) {
      return Path.of("/run/vipfarm");
    }
    String xdg = env.get("XDG_RUNTIME_DIR");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of("/tmp");
    return base.resolve("vipfarm-" + System.getProperty("user.name"));
  }
}
