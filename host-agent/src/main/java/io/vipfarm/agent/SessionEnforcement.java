package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the agent does for a session besides writing its rules file: its IPv6 loopback address on
 * {@code lo} (when the host has them) and, on the kernel path, its cgroup and map entries. Blocking work
 * runs on worker threads, unordered: one session's steps are already chained (and sessions queued one
 * after the other by the agent), while different sessions' steps may run side by side.
 */
final class SessionEnforcement {
  private static final Logger LOG = LoggerFactory.getLogger(SessionEnforcement.class);

  private final Vertx vertx;
  private final KernelEnforcement kernel;
  private final Loopback6 loopback6;
  private final Loopback6Addresses addresses;
  /**
   * Sessions already prepared by this agent, with the IPv6 loopback added for them (or "" for none): a
   * policy change then goes straight to the map update, without spawning {@code ip} again. Event loop only.
   */
  private final Map<String, String> prepared = new HashMap<>();

  /**
   * @param kernel the kernel path, or null on the preload path
   * @param loopback6 the IPv6 loopback prefix, or null when this host has none (then ::1 passes through)
   */
  SessionEnforcement(Vertx vertx, KernelEnforcement kernel, Loopback6 loopback6, Loopback6Addresses addresses) {
    this.vertx = vertx;
    this.kernel = kernel;
    this.loopback6 = loopback6;
    this.addresses = addresses;
  }

  /** The session's IPv6 loopback, or null when it has none. */
  String loopback6Of(LoopbackAddress loopback) {
    return loopback6 == null || loopback == null ? null : loopback6.addressOf(loopback);
  }

  /**
   * The cgroup a starting session comes with, once checked ({@link KernelEnforcement#ownCgroup}): what the
   * session keeps. Null for none, and on the preload path, where a cgroup changes nothing.
   */
  Future<String> admitCgroup(String cgroup) {
    if (cgroup == null || kernel == null) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> {
      kernel.ownCgroup(cgroup);
      return cgroup;
    }, false);
  }

  /** Before the session's rules are written: its IPv6 loopback exists, its cgroup too. */
  Future<Void> prepare(LiveSession session) {
    String address = loopback6Of(session.appliedLoopback());
    String key = address == null ? "" : address;
    if ((address == null && kernel == null) || key.equals(prepared.get(session.sessionId()))) {
      return Future.succeededFuture();
    }
    return blocking(() -> {
      if (address != null) {
        addresses.add(address);
      }
      if (kernel != null) {
        kernel.prepare(session.sessionId(),
            session.cgroup() == null ? KernelEnforcement.NONE : kernel.ownCgroup(session.cgroup()));
      }
    }).onSuccess(v -> prepared.put(session.sessionId(), key));
  }

  /** After the session's rules file was written: the kernel path's maps follow it. */
  Future<Void> applied(LiveSession session, Path rulesFile) {
    return kernel == null ? Future.succeededFuture()
        : blocking(() -> kernel.apply(session.sessionId(), ownCgroup(session.cgroup()), rulesFile));
  }

  /**
   * The session ended (its rules file is gone): map entries, cgroup (unless it is the session's own,
   * {@code cgroup}) and IPv6 loopback go too.
   */
  Future<Void> ended(String sessionId, LoopbackAddress loopback, String cgroup) {
    prepared.remove(sessionId);
    String address = loopback6Of(loopback);
    if (address == null && kernel == null) {
      return Future.succeededFuture();
    }
    return blocking(() -> {
      if (kernel != null) {
        kernel.end(sessionId, ownCgroup(cgroup));
      }
      if (address != null) {
        addresses.remove(address);
      }
    });
  }

  /** On agent start: attaches the programs to the sessions' parent cgroup (a no-op when they still are). */
  Future<Void> attach() {
    return kernel == null ? Future.succeededFuture() : blocking(kernel::attach);
  }

  /**
   * On agent start, after the previous run's sessions were re-adopted (and their rules set again): clears
   * the map entries and cgroups of sessions that are not live any more.
   */
  Future<Void> reconcile(Map<String, String> liveSessions) {
    if (kernel == null) {
      return Future.succeededFuture();
    }
    return blocking(() -> {
      Map<String, Path> live = new HashMap<>();
      for (Map.Entry<String, String> session : liveSessions.entrySet()) {
        live.put(session.getKey(), ownCgroup(session.getValue()));
      }
      KernelEnforcement.Reconciled done = kernel.reconcile(live);
      LOG.info("kernel path attached to {} (pinned in {}): {} live session(s), stale map entries cleared {},"
          + " stale session cgroups removed {}", kernel.cgroups().parent(), kernel.pinDir(), liveSessions.size(),
          done.clearedIds(), done.removedSessions());
    });
  }

  /** A clean stop, after every session ended: the programs are detached and unpinned. */
  Future<Void> stop() {
    return kernel == null ? Future.succeededFuture() : blocking(kernel::detach);
  }

  /** The directory of a session's own cgroup, or {@link KernelEnforcement#NONE}. Blocking. */
  private Path ownCgroup(String cgroup) throws Exception {
    return cgroup == null ? KernelEnforcement.NONE : kernel.resolve(cgroup);
  }

  private interface BlockingStep {
    void run() throws Exception;
  }

  private Future<Void> blocking(BlockingStep step) {
    return vertx.executeBlocking(() -> {
      step.run();
      return null;
    }, false);
  }
}
