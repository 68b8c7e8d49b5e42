package io.vipfarm.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel path on this host: one set of BPF programs attached to the sessions' parent cgroup, one
 * child cgroup per session ({@link CgroupTree}), and each session's rules in the maps under its cgroup's
 * id. Programs, links and maps are pinned under {@code pinDir}, so sessions stay enforced while the agent
 * is away (a crash, kill -9, an upgrade); a starting agent attaches again (idempotent) and reconciles the
 * maps with its live sessions.
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

  public KernelEnforcement(BpfLoader loader, Path pinDir, CgroupTree cgroups, Path runDir) {
    this.loader = loader;
    this.pinDir = pinDir;
    this.cgroups = cgroups;
    this.sessionsDir = runDir.resolve("sessions");
  }

  public CgroupTree cgroups() {
    return cgroups;
  }

  public Path pinDir() {
    return pinDir;
  }

  /**
   * Creates the parent cgroup and attaches the programs to it (a no-op when they already are). When the
   * pinned state cannot be taken back (a vipfarm upgrade changed the maps' layout, or the pin dir was
   * attached to another parent), it is detached and attached afresh, once: the caller then sets every
   * live session's rules again, as it does on every start.
   */
  public void attach() throws IOException {
    Files.createDirectories(cgroups.parent());
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
    Set<Long> liveIds = new HashSet<>();
    for (String session : liveSessions) {
      Path dir = cgroups.sessionDir(session);
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
        if (session != null && Files.isDirectory(child) && !liveSessions.contains(session)) {
          removeCgroup(session, child);
          removed.add(session);
        }
      }
    }
    return new Reconciled(cleared, removed);
  }

  /** What {@link #reconcile} did: map entries cleared (cgroup ids), cgroups removed (session ids). */
  public record Reconciled(List<Long> clearedIds, List<String> removedSessions) {}

  /** Creates the session's cgroup (if needed) and records where it is for {@code vipfarm exec}. */
  public Path prepare(String sessionId) throws IOException {
    Path dir = cgroups.sessionDir(sessionId);
    Files.createDirectories(dir);
    AtomicFile.write(sessionsDir.resolve(sessionId + CGROUP_SUFFIX), dir + "\n", RulesDirectory.FILE_MODE);
    return dir;
  }

  /** Puts {@code rulesFile} into the maps for the session's cgroup: running programs follow at once. */
  public void apply(String sessionId, Path rulesFile) throws IOException {
    loader.set(pinDir, cgroups.sessionDir(sessionId), rulesFile);
  }

  /**
   * Removes the session's map entries and its cgroup. Processes still in it (the session ended while they
   * ran) are moved to the parent cgroup first, where no entry matches them: they keep running and pass
   * through, as without vipfarm. They are not killed: ending processes is the session manager's business.
   */
  public void end(String sessionId) throws IOException {
    Path dir = cgroups.sessionDir(sessionId);
    Files.deleteIfExists(sessionsDir.resolve(sessionId + CGROUP_SUFFIX));
    if (!Files.isDirectory(dir)) {
      return;
    }
    loader.clear(pinDir, cgroupId(dir));
    removeCgroup(sessionId, dir);
  }

  /**
   * Detaches and unpins the programs and removes the parent cgroup (a clean stop, after every session
   * ended). What cannot be removed is logged and left.
   */
  public void detach() throws IOException {
    loader.detach(pinDir);
    try {
      Files.deleteIfExists(pinDir);
    } catch (IOException e) {
      LOG.warn("cannot remove the pin directory {}: {}", pinDir, e.toString());
    }
    try {
      moveProcesses(cgroups.parent(), cgroups.parent().getParent());
      Files.deleteIfExists(cgroups.parent());
    } catch (IOException e) {
      LOG.warn("cannot remove the sessions' parent cgroup {}: {}", cgroups.parent(), e.toString());
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
