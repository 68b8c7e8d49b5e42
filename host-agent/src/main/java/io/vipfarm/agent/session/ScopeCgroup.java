package io.vipfarm.agent.session;

import io.vipfarm.agent.CgroupTree;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where a logind session's scope is in the cgroup2 hierarchy. logind's {@code Scope} property is only the
 * unit name ({@code session-3.scope}); its place in the tree depends on the user's slice and on systemd's
 * configuration. It is found, in this order:
 * <ol>
 *   <li>from the session's {@code Leader}: the {@code 0::} line of {@code /proc/<leader>/cgroup}, cut after
 *       the path element named like the scope (the leader may sit in a sub-cgroup of it). A leader that is
 *       gone or in another cgroup gives nothing here.
 *   <li>else by name in the cgroup2 tree: {@code /user.slice/user-<uid>.slice/<scope>} (systemd's layout)
 *       when it exists, else the only directory of that name at most {@value #SEARCH_DEPTH} levels deep.
 * </ol>
 * Nothing found (no scope, several candidates): the session has no cgroup of its own, and the kernel path
 * makes one for it (its programs are then enforced when started through {@code vipfarm exec}). Blocking:
 * call on a worker thread.
 */
final class ScopeCgroup {
  static final int SEARCH_DEPTH = 4;

  private ScopeCgroup() {}

  /** The scope's cgroup2 path ({@code /user.slice/user-1000.slice/session-3.scope}), if found. */
  static Optional<String> of(LogindSession session, Path proc, Optional<Path> cgroup2Mount) {
    String scope = session.scope();
    if (scope == null || scope.isBlank() || scope.contains("/")) {
      return Optional.empty();
    }
    if (session.leader() > 0) {
      Optional<String> fromLeader = fromProcCgroup(read(proc.resolve(session.leader() + "/cgroup")), scope);
      if (fromLeader.isPresent()) {
        return fromLeader;
      }
    }
    return cgroup2Mount.flatMap(mount -> byName(mount, scope, session.uid()));
  }

  /** The path up to and including the element {@code scope} in the {@code 0::} line of {@code text}. */
  static Optional<String> fromProcCgroup(String text, String scope) {
    for (String line : text.split("\n")) {
      if (!line.startsWith("0::/")) {
        continue;
      }
      String path = line.substring(3).strip();
      int at = (path + "/").indexOf("/" + scope + "/");
      return at < 0 ? Optional.empty() : Optional.of(path.substring(0, at + 1 + scope.length()));
    }
    return Optional.empty();
  }

  private static Optional<String> byName(Path mount, String scope, long uid) {
    Path usual = mount.resolve("user.slice").resolve("user-" + uid + ".slice").resolve(scope);
    if (uid >= 0 && Files.isDirectory(usual)) {
      return Optional.of("/" + mount.relativize(usual));
    }
    List<Path> found = new ArrayList<>();
    try (Stream<Path> tree = Files.find(mount, SEARCH_DEPTH,
        (path, attrs) -> attrs.isDirectory() && path.getFileName() != null
            && path.getFileName().toString().equals(scope))) {
      tree.limit(2).forEach(found::add);
    } catch (IOException | java.io.UncheckedIOException e) {
      return Optional.empty();
    }
    return found.size() == 1 ? Optional.of("/" + mount.relativize(found.get(0))) : Optional.empty();
  }

  /** This host's cgroup2 mount ({@code /proc/self/mounts}), if any. */
  static Optional<Path> cgroup2Mount() {
    return CgroupTree.cgroup2Mount(read(Path.of("/proc/self/mounts")));
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      return ""; // the leader is gone (or no such file): nothing found there
    }
  }
}
