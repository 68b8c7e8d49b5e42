package io.vipfarm.agent.session;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows systemd-logind: a logind session of a followed class becomes a vipfarm session with the same
 * id, user and the user's groups on this host, and ends when logind removes it.
 *
 * <p>Each {@code SessionNew}/{@code SessionRemoved} only says "session X changed": the follower then
 * asks logind what X is now and makes the agent match (start it, or end it). Work on one id runs one
 * step after the other, so a quick login/logout ends with the agent in logind's final state even if
 * D-Bus threads deliver the two signals out of order. After every (re)connect it reconciles all
 * sessions: it starts logind's sessions the agent lacks and ends the agent's sessions logind no longer
 * has (they ended while vipfarm was away). A lost bus is reconnected every {@code retryDelay}.
 *
 * <p>Runs on the event-loop context it was created on; every D-Bus call and group lookup runs on a
 * worker thread.
 */
final class LogindFollower {
  private static final Logger LOG = LoggerFactory.getLogger(LogindFollower.class);

  private static final Path PROC = Path.of("/proc");
  /** The first retry of a session start that met an unavailable control plane; doubles up to the maximum. */
  static final long START_RETRY_MS = 500;
  static final long MAX_START_RETRY_MS = 30_000;

  private final Vertx vertx;
  private final Context context;
  private final HostAgentService agent;
  private final SessionSources sources;
  private final Duration retryDelay;
  private final Map<String, Future<Void>> queued = new HashMap<>();
  /** Sessions whose start failed for a reason that passes (the control plane briefly unavailable): retries made. */
  private final Map<String, Integer> startRetries = new HashMap<>();
  private LogindBus bus;
  private long retryTimer = -1;
  private boolean stopped;
  private boolean warnedUnreachable;

  LogindFollower(Vertx vertx, HostAgentService agent, SessionSources sources, Duration retryDelay) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.agent = agent;
    this.sources = sources;
    this.retryDelay = retryDelay;
  }

  /** Connects and reconciles once; when logind cannot be reached, keeps trying in the background. */
  Future<Void> start() {
    return connect();
  }

  Future<Void> stop() {
    stopped = true;
    vertx.cancelTimer(retryTimer);
    LogindBus closing = bus;
    bus = null;
    return closing == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
      closing.close();
      return null;
    });
  }

  private Future<Void> connect() {
    String address = sources.logindBus();
    return vertx.executeBlocking(() -> LogindBus.connect(address,
            id -> context.runOnContext(v -> sync(id)),
            () -> context.runOnContext(v -> lost())))
        .compose(connected -> {
          if (stopped) {
            return vertx.executeBlocking(() -> {
              connected.close();
              return null;
            });
          }
          bus = connected;
          warnedUnreachable = false;
          LOG.info("following systemd-logind at {} (session classes {})", address, sources.logindClasses());
          return reconcile();
        })
        .onFailure(err -> {
          if (!warnedUnreachable) {
            LOG.warn("cannot follow systemd-logind at {}: {}; retrying every {} s", address, err.toString(),
                retryDelay.toSeconds());
            warnedUnreachable = true;
          }
          retryLater();
        })
        .otherwiseEmpty();
  }

  private void lost() {
    if (stopped || bus == null) {
      return;
    }
    LOG.warn("lost the connection to systemd-logind at {}: sessions are not followed until it is back",
        sources.logindBus());
    LogindBus broken = bus;
    bus = null;
    vertx.executeBlocking(() -> {
      broken.close();
      return null;
    });
    retryLater();
  }

  private void retryLater() {
    if (!stopped) {
      retryTimer = vertx.setTimer(Math.max(1, retryDelay.toMillis()), id -> connect());
    }
  }

  /** Brings every session logind or the agent has in line with logind. */
  private Future<Void> reconcile() {
    LogindBus current = bus;
    return vertx.executeBlocking(current::sessions)
        .compose(logind -> agent.listSessions().map(running -> {
          List<String> agentIds = running.stream().map(SessionView::sessionId).toList();
          SessionReconcile plan = SessionReconcile.of(logind, sources.logindClasses(), agentIds);
          if (!plan.toEnd().isEmpty()) {
            LOG.info("ending sessions logind no longer has: {}", plan.toEnd());
          }
          Set<String> ids = new LinkedHashSet<>();
          plan.toStart().forEach(s -> ids.add(s.id()));
          ids.addAll(plan.toEnd());
          return ids;
        }))
        .compose(ids -> Future.join(ids.stream().map(this::sync).toList()).<Void>mapEmpty())
        .onFailure(err -> LOG.warn("cannot reconcile the sessions with systemd-logind: {}", err.toString()))
        .otherwiseEmpty();
  }

  /** Makes the agent's session {@code id} match logind's, after whatever is already queued for it. */
  Future<Void> sync(String id) {
    Future<Void> previous = queued.getOrDefault(id, Future.succeededFuture());
    Future<Void> next = previous.eventually(() -> syncNow(id));
    queued.put(id, next);
    next.onComplete(ar -> queued.remove(id, next));
    return next;
  }

  private Future<Void> syncNow(String id) {
    LogindBus current = bus;
    if (current == null || stopped) {
      return Future.succeededFuture(); // the reconcile after the reconnect catches up
    }
    return vertx.executeBlocking(() -> current.session(id))
        .compose(session -> session.filter(s -> s.followedWith(sources.logindClasses())).isPresent()
            ? ensureStarted(session.get())
            : ensureEnded(id, session))
        .onSuccess(v -> startRetries.remove(id))
        .onFailure(err -> {
          if (passes(err) && !stopped) {
            retryStart(id, err);
          } else {
            startRetries.remove(id);
            LOG.warn("cannot follow logind session '{}': {}", id, err.toString());
          }
        })
        .otherwiseEmpty();
  }

  /**
   * A session whose start met an unavailable control plane (a member joining or leaving, no quorum for
   * a moment) is synced again after a growing delay, for as long as logind has it: otherwise it would
   * run unenforced until the next reconnect.
   */
  private void retryStart(String id, Throwable err) {
    int attempt = startRetries.merge(id, 1, Integer::sum);
    long delayMs = Math.min(MAX_START_RETRY_MS, START_RETRY_MS << Math.min(attempt - 1, 10));
    LOG.warn("logind session '{}' cannot start now ({}); trying again in {} ms (attempt {})", id,
        ((VipfarmException) err).getMessage(), delayMs, attempt + 1);
    vertx.setTimer(delayMs, t -> context.runOnContext(v -> sync(id)));
  }

  private static boolean passes(Throwable err) {
    return isType(err, ErrorType.SERVICE_UNAVAILABLE) || isType(err, ErrorType.TOO_MANY_RETRIES);
  }

  private Future<Void> ensureStarted(LogindSession session) {
    return vertx.executeBlocking(() -> new SessionRequest(session.id(), session.user(),
            UserGroups.of(session.user()),
            ScopeCgroup.of(session, PROC, ScopeCgroup.cgroup2Mount()).orElse(null)))
        .compose(request -> start(session, request)
            .recover(err -> {
              if (!isType(err, ErrorType.INVALID_FIELD) || request.cgroup() == null) {
                return Future.failedFuture(err);
              }
              // the scope is outside the cgroup the kernel path is attached to (--cgroup-parent): the
              // session still runs, enforced for what vipfarm exec starts, and the operator is told why
              LOG.warn("logind session '{}': its scope {} cannot be enforced ({}); it runs without it: only"
                  + " programs started with 'vipfarm exec' are covered by the kernel path", session.id(),
                  request.cgroup(), err.getMessage());
              return start(session, new SessionRequest(request.sessionId(), request.user(), request.groups()));
            }))
        .mapEmpty();
  }

  private Future<SessionView> start(LogindSession session, SessionRequest request) {
    return start(request)
        .onSuccess(view -> LOG.info("logind session '{}' of {} ({}, scope {}{}, {}{}) runs with loopback {}",
            session.id(), session.user(), session.sessionClass(), session.scope(),
            request.cgroup() == null ? "" : " at " + request.cgroup(), session.service(),
            session.remote() ? ", remote" : "", view.loopbackAddress()));
  }

  private Future<SessionView> start(SessionRequest request) {
    return agent.startSession(request)
        .recover(err -> isType(err, ErrorType.SESSION_EXISTS)
            // the agent still runs an older session of another user under this id: logind decides
            ? agent.endSession(request.sessionId()).compose(ended -> agent.startSession(request))
            : Future.failedFuture(err));
  }


  private Future<Void> ensureEnded(String id, Optional<LogindSession> session) {
    return agent.endSession(id)
        .onSuccess(view -> LOG.info("logind session '{}' of {} {}", id, view.user(),
            session.isEmpty() ? "was removed: ended" : "is of class '" + session.get().sessionClass()
                + "', which is not followed: ended"))
        .<Void>mapEmpty()
        .recover(err -> isType(err, ErrorType.UNKNOWN_SESSION) ? Future.succeededFuture() : Future.failedFuture(err));
  }

  private static boolean isType(Throwable err, ErrorType type) {
    return err instanceof VipfarmException e && e.type() == type;
  }
}
