package io.vipfarm.agent;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where sessions' cgroups live: one directory per session, {@code <parent>/session-<id>}, under a
 * parent cgroup in the cgroup2 hierarchy that vipfarm attaches its programs to (never the root cgroup or
 * a system slice): its own {@code vipfarm.slice}, which it creates, or systemd's {@code user.slice} with
 * logind, whose session scopes are then enforced in place ({@link KernelEnforcement#ownCgroup}).
 *
 * @param parent the sessions' parent cgroup directory
 */
public record CgroupTree(Path parent) {
  /** The parent's name under the cgroup2 mount when none is configured. */
  public static final String DEFAULT_PARENT = "vipfarm.slice";
  private static final String PREFIX = "session-";

  public CgroupTree {
    parent = parent.toAbsolutePath().normalize();
  }

  /** The default tree under {@code cgroup2Mount}. */
  public static CgroupTree under(Path cgroup2Mount) {
    return new CgroupTree(cgroup2Mount.resolve(DEFAULT_PARENT));
  }

  /** The cgroup of {@code sessionId} (a plain word, see {@link LoopbackAddress}). */
  public Path sessionDir(String sessionId) {
    LoopbackAddress.of(sessionId); // refuses anything that is not a session id (no '/', no '..')
    return parent.resolve(PREFIX + sessionId);
  }

  /** The session id of a directory under the parent, when it is a session's cgroup. */
  public Optional<String> sessionOf(Path dir) {
    if (!parent.equals(dir.toAbsolutePath().normalize().getParent())) {
      return Optional.empty();
    }
    String name = dir.getFileName().toString();
    if (!name.startsWith(PREFIX)) {
      return Optional.empty();
    }
    String id = name.substring(PREFIX.length());
    try {
      LoopbackAddress.of(id);
      return Optional.of(id);
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * The mount point of the cgroup2 (unified) hierarchy in {@code mounts} ({@code /proc/self/mounts}
   * text): {@code /sys/fs/cgroup} on a unified host, {@code /sys/fs/cgroup/unified} on a hybrid one.
   */
  public static Optional<Path> cgroup2Mount(String mounts) {
    for (String line : mounts.split("\n")) {
      String[] fields = line.trim().split("\\s+");
      if (fields.length >= 3 && fields[2].equals("cgroup2")) {
        return Optional.of(Path.of(unescape(fields[1])));
      }
    }
    return Optional.empty();
  }

  /** Mount points escape white space as octal ({@code \040}). */
  private static String unescape(String field) {
    StringBuilder out = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && i + 3 < field.length() && field.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }
}
