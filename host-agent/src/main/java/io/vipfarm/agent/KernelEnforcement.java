package io.vipfarm.agent;

import io.vipfarm.api.VipfarmException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel path on this host: one set of BPF programs attached to the sessions' parent cgroup, one
 * child cgroup per session ({@link CgroupTree}), and each session's rules in the maps under its cgroup's
 * id. Programs, links and maps are pinned under {@code pinDir}, so sessions stay enforced while the agent
 * is away (a crash, kill -9, an upgrade); a starting agent attaches again (idempotent) and reconciles the
 * maps with its live sessions.
 *
 * <p>A session may come with a cgroup of its own (logind: its scope, {@link #ownCgroup}): then that cgroup
 * is the session's, its map entries are keyed by its id, and vipfarm neither creates nor removes it (it
 * belongs to systemd); ending the session only clears its entries.
 *
 * <p>For {@code vipfarm exec}, each session's cgroup directory is also written to
 * {@code <run-dir>/sessions/<id>.cgroup}. Every method blocks (cgroupfs, the loader): call it on a worker
 * thread.
 */
public final class KernelEnforcement {
  private static final Logger LOG = LoggerFactory.getLogger(KernelEnforcement.class);
  static final String CGROUP_SUFFIX = ".cgroup";

  private final BpfLoader loader;
  private final Path pinDir;
  private final CgroupTree cgroups;
  private final Path sessionsDir;
  /** Says that vipfarm created the parent cgroup (names it), so that a clean stop removes it and only then. */
  private final Path createdMarker;
  /** The cgroup2 mount, found on first use (only sessions with a cgroup of their own need it). */
  private Path cgroup2Mount;

  public KernelEnforcement(BpfLoader loader, Path pinDir, CgroupTree cgroups, Path runDir) {
    this.loader = loader;
    this.pinDir = pinDir;
    this.cgroups = cgroups;
    this.sessionsDir = runDir.resolve("sessions");
    this.createdMarker = runDir.resolve("cgroup-parent.created");
  }

  public CgroupTree cgroups() {
    return cgroups;
  }

  public Path pinDir() {
    return pinDir;
  }

  /**
   * Creates the parent cgroup and attaches the programs to it (when they already are, this build's
   * programs take over the pinned links in place: an upgrade keeps sessions enforced). When the
   * pinned state cannot be taken back (a vipfarm upgrade changed the maps' layout, or the pin dir was
   * attached to another parent), it is detached and attached afresh, once: the caller then sets every
   * live session's rules again, as it does on every start.
   */
  public void attach() throws IOException {
    if (!Files.isDirectory(cgroups.parent())) {
      Files.createDirectories(cgroups.parent());
      AtomicFile.write(createdMarker, cgroups.parent() + "\n", RulesDirectory.FILE_MODE);
    }
    try {
      loader.attach(pinDir, cgroups.parent());
    } catch (IOException first) {
      LOG.warn("cannot take back the pinned kernel path in {} ({}): detaching it and attaching afresh; live"
          + " sessions pass through until their rules are set again", pinDir, first.getMessage());
      loader.detach(pinDir);
      loader.attach(pinDir, cgroups.parent());
    }
  }

  /**
   * Brings the maps and the session cgroups in line with {@code liveSessions}: map entries of cgroups that
   * are not a live session's are cleared; cgroups of sessions that are not live any more are removed.
   * Live sessions' entries are kept (their rules are set again by the caller). Returns what was cleared.
   */
  public Reconciled reconcile(Set<String> liveSessions) throws IOException {
    return reconcile(liveSessions.stream().collect(Collectors.toMap(s -> s, s -> NONE)));
  }

  /**
   * {@link #reconcile(Set)} for live sessions that may have cgroups of their own: {@code liveSessions}
   * maps each id to its own cgroup directory, or to {@link #NONE}.
   */
  public Reconciled reconcile(Map<String, Path> liveSessions) throws IOException {
    Set<Long> liveIds = new HashSet<>();
    for (Map.Entry<String, Path> session : liveSessions.entrySet()) {
      Path dir = cgroupOf(session.getKey(), session.getValue());
      if (Files.isDirectory(dir)) {
        liveIds.add(cgroupId(dir));
      }
    }
    List<Long> cleared = new ArrayList<>();
    for (long id : loader.list(pinDir)) {
      if (!liveIds.contains(id)) {
        loader.clear(pinDir, id);
        cleared.add(id);
      }
    }
    List<String> removed = new ArrayList<>();
    try (DirectoryStream<Path> children = Files.newDirectoryStream(cgroups.parent())) {
      for (Path child : children) {
        String session = cgroups.sessionOf(child).orElse(null);
        if (session != null && Files.isDirectory(child) && !liveSessions.containsKey(session)) {
          removeCgroup(session, child);
          removed.add(session);
        }
      }
    }
    return new Reconciled(cleared, removed);
  }

  /** What {@link #reconcile} did: map entries cleared (cgroup ids), cgroups removed (session ids). */
  public record Reconciled(List<Long> clearedIds, List<String> removedSessions) {}

  /** No cgroup of its own: the session gets {@code <parent>/session-<id>}. */
  public static final Path NONE = Path.of("");

  /**
   * The directory of a session's own cgroup, given as its cgroup2 hierarchy path ({@code
   * /user.slice/user-1000.slice/session-3.scope}). It must exist and lie 1 to {@value #MAX_DEPTH} levels
   * below the parent the programs are attached to (the programs look no deeper), and must not be a cgroup
   * vipfarm makes for another session.
   *
   * @throws VipfarmException (invalid field {@code cgroup}) when it does not qualify
   */
  public Path ownCgroup(String hierarchyPath) throws IOException {
    Path dir = resolve(hierarchyPath);
    Path parent = cgroups.parent();
    if (!dir.startsWith(parent) || dir.equals(parent)) {
      throw VipfarmException.invalidField("cgroup", hierarchyPath + " is not inside " + parent
          + ", where the kernel path's programs are attached (see --cgroup-parent)");
    }
    if (parent.relativize(dir).getNameCount() > MAX_DEPTH) {
      throw VipfarmException.invalidField("cgroup", hierarchyPath + " lies more than " + MAX_DEPTH
          + " levels below " + parent + ": the programs do not look that deep");
    }
    if (cgroups.sessionOf(dir).isPresent()) {
      throw VipfarmException.invalidField("cgroup", hierarchyPath + " is a cgroup vipfarm makes for a session");
    }
    if (!Files.isRegularFile(dir.resolve("cgroup.procs"))) {
      throw VipfarmException.invalidField("cgroup", hierarchyPath + " does not exist (no " + dir + ")");
    }
    return dir;
  }

  /**
   * Where the cgroup2 hierarchy path {@code hierarchyPath} is in the file system (no check that it exists
   * or may be used: {@link #ownCgroup} does that).
   */
  public Path resolve(String hierarchyPath) throws IOException {
    if (hierarchyPath == null || !hierarchyPath.startsWith("/") || hierarchyPath.indexOf('\0') >= 0) {
      throw VipfarmException.invalidField("cgroup", "must be a cgroup2 path such as"
          + " /user.slice/user-1000.slice/session-3.scope, not '" + hierarchyPath + "'");
    }
    Path relative = Path.of(hierarchyPath.substring(1)).normalize();
    if (relative.toString().isEmpty() || relative.startsWith("..")) {
      throw VipfarmException.invalidField("cgroup", "the root cgroup is never a session's");
    }
    return cgroup2Mount().resolve(relative).normalize();
  }

  /** How deep below the parent a session's cgroup may be: the programs look up 4 ancestor levels. */
  static final int MAX_DEPTH = 4;

  /** Creates the session's cgroup (if needed) and records where it is for {@code vipfarm exec}. */
  public Path prepare(String sessionId) throws IOException {
    return prepare(sessionId, NONE);
  }

  /**
   * Records where the session's cgroup is for {@code vipfarm exec}: its own ({@code ownCgroup}, from
   * {@link #ownCgroup}, left as it is) or {@code <parent>/session-<id>}, created if needed.
   */
  public Path prepare(String sessionId, Path ownCgroup) throws IOException {
    Path dir = cgroupOf(sessionId, ownCgroup);
    if (ownCgroup.equals(NONE)) {
      Files.createDirectories(dir);
    }
    AtomicFile.write(sessionsDir.resolve(sessionId + CGROUP_SUFFIX), dir + "\n", RulesDirectory.FILE_MODE);
    return dir;
  }

  /** Puts {@code rulesFile} into the maps for the session's cgroup: running programs follow at once. */
  public void apply(String sessionId, Path rulesFile) throws IOException {
    apply(sessionId, NONE, rulesFile);
  }

  /** {@link #apply(String, Path)} for a session that may have a cgroup of its own ({@link #NONE}: none). */
  public void apply(String sessionId, Path ownCgroup, Path rulesFile) throws IOException {
    loader.set(pinDir, cgroupOf(sessionId, ownCgroup), rulesFile);
  }

  private Path cgroupOf(String sessionId, Path ownCgroup) {
    return ownCgroup.equals(NONE) ? cgroups.sessionDir(sessionId) : ownCgroup;
  }

  private Path cgroup2Mount() throws IOException {
    if (cgroup2Mount == null) {
      cgroup2Mount = AgentConfig.cgroup2Mount()
          .orElseThrow(() -> new IOException("no cgroup2 hierarchy is mounted (see /proc/self/mounts)"));
    }
    return cgroup2Mount;
  }

  /**
   * Removes the session's map entries and its cgroup. Processes still in it (the session ended while they
   * ran) are moved to the parent cgroup first, where no entry matches them: they keep running and pass
   * through, as without vipfarm. They are not killed: ending processes is the session manager's business.
   */
  public void end(String sessionId) throws IOException {
    end(sessionId, NONE);
  }

  /**
   * {@link #end(String)} for a session that may have a cgroup of its own: that one keeps its processes and
   * stays (systemd removes a scope when its processes are gone); only its map entries are cleared, so its
   * processes pass through from now on.
   */
  public void end(String sessionId, Path ownCgroup) throws IOException {
    Path dir = cgroupOf(sessionId, ownCgroup);
    Files.deleteIfExists(sessionsDir.resolve(sessionId + CGROUP_SUFFIX));
    if (!Files.isDirectory(dir)) {
      return;
    }
    loader.clear(pinDir, cgroupId(dir));
    if (ownCgroup.equals(NONE)) {
      removeCgroup(sessionId, dir);
    }
  }

  /**
   * Detaches and unpins the programs and removes the parent cgroup when vipfarm created it (a clean stop,
   * after every session ended). A parent that existed before (systemd's {@code user.slice}, for logind
   * sessions' scopes) is left as it is, with its processes. What cannot be removed is logged and left.
   */
  public void detach() throws IOException {
    loader.detach(pinDir);
    try {
      Files.deleteIfExists(pinDir);
    } catch (IOException e) {
      LOG.warn("cannot remove the pin directory {}: {}", pinDir, e.toString());
    }
    if (!createdParent()) {
      return;
    }
    Files.deleteIfExists(createdMarker);
    try {
      moveProcesses(cgroups.parent(), cgroups.parent().getParent());
      Files.deleteIfExists(cgroups.parent());
    } catch (IOException e) {
      LOG.warn("cannot remove the sessions' parent cgroup {}: {}", cgroups.parent(), e.toString());
    }
  }

  /** Whether {@link #attach} created the parent (this run or an earlier one with the same run dir). */
  private boolean createdParent() throws IOException {
    try {
      return Files.readString(createdMarker, StandardCharsets.UTF_8).strip().equals(cgroups.parent().toString());
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /** A cgroup2 directory's id: its inode number (what bpf_get_current_cgroup_id() returns). */
  public static long cgroupId(Path dir) throws IOException {
    return ((Number) Files.getAttribute(dir, "unix:ino")).longValue();
  }

  private void removeCgroup(String sessionId, Path dir) throws IOException {
    int moved = moveProcesses(dir, cgroups.parent());
    if (moved > 0) {
      LOG.warn("session '{}' ended with {} process(es) still in its cgroup: moved to {}, they are no longer"
          + " rewritten", sessionId, moved, cgroups.parent());
    }
    Files.deleteIfExists(sessionsDir.resolve(sessionId + CGROUP_SUFFIX));
    Files.deleteIfExists(dir);
  }

  /** Moves every process of cgroup {@code from} to {@code to}; how many there were. */
  private static int moveProcesses(Path from, Path to) throws IOException {
    List<String> pids;
    try {
      pids = Files.readAllLines(from.resolve("cgroup.procs"), StandardCharsets.US_ASCII);
    } catch (NoSuchFileException e) {
      return 0;
    }
    int moved = 0;
    for (String pid : pids) {
      if (pid.isBlank()) {
        continue;
      }
      try {
        Files.writeString(to.resolve("cgroup.procs"), pid.strip(), StandardCharsets.US_ASCII);
        moved++;
      } catch (IOException e) {
        // the process exited meanwhile (ESRCH): nothing to move
      }
    }
    return moved;
  }
}
