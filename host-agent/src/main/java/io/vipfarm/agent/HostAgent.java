package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.HostView;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.LeaseRef;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session lifecycle of one host: admission, leases, rules files, renewal, events.
 *
 * <p>Operations on one session run one after the other: they are queued by loopback address, so a
 * second start of a session waits for the first, and so do two ids that would share a loopback. All
 * methods must be called on the agent's event loop ({@link HostAgentVerticle} does so).
 */
final class HostAgent implements HostAgentService {
  private static final Logger LOG = LoggerFactory.getLogger(HostAgent.class);

  private final AgentConfig config;
  private final PolicyService policies;
  private final AllocationService allocations;
  private final RulesDirectory rulesDirectory;
  private final Consumer<VipfarmEvent> events;
  private final LongSupplier clock;
  private final long startedAt;
  private final SessionTable sessions = new SessionTable();
  private final KeyedSerializer<Integer> perLoopback = new KeyedSerializer<>();
  private final Set<LeaseKey> renewing = new HashSet<>();
  private boolean stopping;

  HostAgent(AgentConfig config, PolicyService policies, AllocationService allocations,
      RulesDirectory rulesDirectory, Consumer<VipfarmEvent> events, LongSupplier clock) {
    this.config = config;
    this.policies = policies;
    this.allocations = allocations;
    this.rulesDirectory = rulesDirectory;
    this.events = events;
    this.clock = clock;
    this.startedAt = clock.getAsLong();
  }

  // ---- HostAgentService

  @Override
  public Future<SessionView> startSession(SessionRequest request) {
    if (request == null) {
      return Future.failedFuture(VipfarmException.invalidField("body", "a session request is required"));
    }
    LoopbackAddress loopback;
    try {
      loopback = LoopbackAddress.of(request.sessionId());
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    if (request.user() == null || request.user().isBlank()) {
      return Future.failedFuture(VipfarmException.invalidField("user", "a user name is required"));
    }
    if (stopping) {
      return Future.failedFuture(VipfarmException.unavailable("the host agent of '" + config.hostId()
          + "' is stopping"));
    }
    return perLoopback.run(loopback.value(), () -> admitAndStart(request, loopback)).map(this::view);
  }

  @Override
  public Future<SessionView> endSession(String sessionId) {
    LoopbackAddress loopback;
    try {
      loopback = LoopbackAddress.of(sessionId);
    } catch (VipfarmException e) {
      return Future.failedFuture(VipfarmException.unknownSession(config.hostId(), sessionId));
    }
    // queued behind a start of the same session that is still under way
    return perLoopback.run(loopback.value(), () -> end(sessionId)).map(this::view);
  }

  @Override
  public Future<SessionView> getSession(String sessionId) {
    return sessions.get(sessionId)
        .map(s -> Future.succeededFuture(view(s)))
        .orElseGet(() -> Future.failedFuture(VipfarmException.unknownSession(config.hostId(), sessionId)));
  }

  @Override
  public Future<List<SessionView>> listSessions() {
    return Future.succeededFuture(sessions.all().stream().map(this::view).toList());
  }

  @Override
  public Future<HostView> describe() {
    return Future.succeededFuture(
        new HostView(config.hostId(), config.bootId(), config.interception(), sessions.size(), startedAt));
  }

  // ---- start

  /** What the leasing step got: the leases and the session's VIP status. */
  private record Leasing(List<Lease> leases, String vipStatus) {}

  private Future<LiveSession> admitAndStart(SessionRequest request, LoopbackAddress loopback) {
    Optional<LiveSession> running = sessions.admit(request.sessionId(), request.user(), loopback);
    if (running.isPresent()) {
      return Future.succeededFuture(running.get());
    }
    return policies.effective(config.hostId(), request.user(), request.groups())
        .compose(policy -> lease(policy, request)
            .compose(leasing -> applyRules(request, loopback, policy, leasing)
                .recover(err -> releaseAll(leasing.leases(), "session '" + request.sessionId() + "' did not start")
                    .compose(v -> Future.failedFuture(err)))));
  }

  private Future<Leasing> lease(EffectivePolicy policy, SessionRequest request) {
    List<AcquireRequest> wanted =
        LeasePlan.requests(policy, config.hostId(), config.bootId(), request.sessionId(), request.user());
    if (wanted.isEmpty()) {
      return Future.succeededFuture(new Leasing(List.of(), LiveSession.VIP_NONE));
    }
    List<Lease> acquired = new ArrayList<>();
    return acquireInTurn(wanted, 0, acquired)
        .map(v -> new Leasing(List.copyOf(acquired), LiveSession.VIP_LEASED))
        .recover(err -> releaseAll(acquired, "session '" + request.sessionId() + "' could not lease all its VIPs")
            .compose(v -> exhausted(err, policy, request)));
  }

  /** Acquires {@code wanted} one after the other from {@code index}, adding each lease to {@code acquired}. */
  private Future<Void> acquireInTurn(List<AcquireRequest> wanted, int index, List<Lease> acquired) {
    if (index == wanted.size()) {
      return Future.succeededFuture();
    }
    return allocations.acquire(wanted.get(index))
        .compose(lease -> {
          acquired.add(lease);
          return acquireInTurn(wanted, index + 1, acquired);
        });
  }

  /** After a failed acquire (whose leases are released): fall back to the host address, or fail. */
  private Future<Leasing> exhausted(Throwable err, EffectivePolicy policy, SessionRequest request) {
    if (!(err instanceof VipfarmException e) || e.type() != ErrorType.POOL_EXHAUSTED) {
      return Future.failedFuture(err);
    }
    // The allocation service emits pool.exhausted (with host and session): one source, no duplicates.
    if (policy.onExhausted() == OnExhausted.FALLBACK_HOST_IP) {
      LOG.warn("pool '{}' is exhausted: session '{}' of {} uses the host's address", policy.vipPool(),
          request.sessionId(), request.user());
      return Future.succeededFuture(new Leasing(List.of(), LiveSession.VIP_FALLBACK));
    }
    LOG.warn("pool '{}' is exhausted: session '{}' of {} refused (policy onExhausted=refuse)", policy.vipPool(),
        request.sessionId(), request.user());
    return Future.failedFuture(new VipfarmException(ErrorType.POOL_EXHAUSTED,
        "pool '" + policy.vipPool() + "' has no free address and the policy refuses a session without its VIP"));
  }

  private Future<LiveSession> applyRules(
      SessionRequest request, LoopbackAddress loopback, EffectivePolicy policy, Leasing leasing) {
    LiveSession session = new LiveSession(request.sessionId(), request.user(), request.groups(), loopback,
        policy, leasing.leases().stream().map(HeldLease::of).toList(), leasing.vipStatus(), clock.getAsLong(),
        rulesDirectory.fileOf(request.sessionId()).toString());
    String text;
    try {
      text = render(session);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    return rulesDirectory.write(session.sessionId(), text)
        .recover(err -> Future.failedFuture(new VipfarmException(ErrorType.INTERNAL,
            "cannot write the rules of session '" + session.sessionId() + "': " + err.getMessage())))
        .map(path -> {
          sessions.put(session);
          Map<String, Object> data = new LinkedHashMap<>();
          data.put("user", session.user());
          data.put("loopbackAddress", session.loopback().address());
          data.put("virtualIps", session.virtualIps());
          data.put("vipStatus", session.vipStatus());
          events.accept(VipfarmEvent.submit(VipfarmEvent.SESSION_STARTED, config.hostId(), session.sessionId(), data));
          LOG.info("session '{}' of {} started: loopback {}, VIPs {}", session.sessionId(), session.user(),
              session.loopback().address(), session.virtualIps().stream().map(v -> v.address()).toList());
          return session;
        });
  }

  // ---- end

  private Future<LiveSession> end(String sessionId) {
    Optional<LiveSession> running = sessions.get(sessionId);
    if (running.isEmpty()) {
      return Future.failedFuture(VipfarmException.unknownSession(config.hostId(), sessionId));
    }
    LiveSession session = running.get();
    return rulesDirectory.remove(sessionId)
        .recover(err -> Future.failedFuture(new VipfarmException(ErrorType.INTERNAL,
            "cannot remove the rules of session '" + sessionId + "', so it keeps its leases: " + err.getMessage())))
        .compose(v -> {
          sessions.remove(sessionId);
          List<Lease> leases = session.leases().stream().map(HeldLease::lease).toList();
          return releaseAll(leases, "session '" + sessionId + "' ended");
        })
        .map(v -> {
          Map<String, Object> data = new LinkedHashMap<>();
          data.put("user", session.user());
          data.put("loopbackAddress", session.loopback().address());
          data.put("virtualIps", session.virtualIps());
          events.accept(VipfarmEvent.submit(VipfarmEvent.SESSION_ENDED, config.hostId(), sessionId, data));
          LOG.info("session '{}' of {} ended", sessionId, session.user());
          return session;
        });
  }

  /**
   * Releases {@code leases}; always succeeds. A failed release is logged: the lease is no longer renewed,
   * so it expires.
   */
  private Future<Void> releaseAll(List<Lease> leases, String why) {
    List<Future<?>> releases = new ArrayList<>();
    for (Lease lease : leases) {
      releases.add(allocations.release(LeaseRef.of(lease))
          .onFailure(err -> LOG.warn("{}: cannot release {} (it will expire at {}): {}", why, lease.address(),
              lease.expiresAt(), err.getMessage())));
    }
    return Future.join(releases).<Void>mapEmpty().otherwiseEmpty();
  }

  /** Ends every session, releasing its leases; refuses new starts from now on. Always succeeds. */
  Future<Void> endAll() {
    stopping = true;
    return perLoopback.drained().compose(v -> {
      List<Future<?>> ends = new ArrayList<>();
      for (LiveSession session : sessions.all()) {
        ends.add(endSession(session.sessionId())
            .onFailure(err -> LOG.warn("cannot end session '{}' cleanly: {}", session.sessionId(), err.getMessage())));
      }
      return Future.join(ends).<Void>mapEmpty().otherwiseEmpty();
    });
  }

  // ---- renewal

  /** Renews every lease with less than 2/3 of its lease time left (at most one renewal per lease at a time). */
  void renewDueLeases() {
    long now = clock.getAsLong();
    for (LiveSession session : sessions.all()) {
      for (HeldLease held : session.leases()) {
        LeaseKey key = held.lease().key();
        if (held.renewalDue(now) && renewing.add(key)) {
          allocations.renew(LeaseRef.of(held.lease()))
              .onComplete(ar -> renewing.remove(key))
              .onSuccess(renewed -> keepRenewed(session.sessionId(), held, renewed))
              .onFailure(err -> renewalFailed(session, held, err));
        }
      }
    }
  }

  private void keepRenewed(String sessionId, HeldLease held, Lease renewed) {
    sessions.get(sessionId)
        .filter(s -> s.leases().stream().anyMatch(h -> h.lease().key().equals(held.lease().key())))
        .ifPresent(s -> sessions.put(s.withLease(held.renewed(renewed))));
  }

  private void renewalFailed(LiveSession session, HeldLease held, Throwable err) {
    Lease lease = held.lease();
    boolean gone = err instanceof VipfarmException e
        && (e.type() == ErrorType.STALE_LEASE || e.type() == ErrorType.UNKNOWN_LEASE);
    if (!gone) {
      LOG.warn("cannot renew {} of session '{}' (expires at {}), retrying: {}", lease.address(),
          session.sessionId(), lease.expiresAt(), err.getMessage());
      return;
    }
    LOG.warn("session '{}' lost its VIP {}: {}; its programs no longer use it", session.sessionId(),
        lease.address(), err.getMessage());
    perLoopback.run(session.loopback().value(), () -> dropLease(session.sessionId(), lease.key()));
  }

  private Future<Void> dropLease(String sessionId, LeaseKey key) {
    Optional<LiveSession> running = sessions.get(sessionId);
    if (running.isEmpty()) {
      return Future.succeededFuture();
    }
    LiveSession reduced = running.get().withoutLease(key);
    sessions.put(reduced);
    return rulesDirectory.write(sessionId, render(reduced))
        .<Void>mapEmpty()
        .onFailure(err -> LOG.error("cannot rewrite the rules of session '{}' without its lost VIP: {}", sessionId,
            err.getMessage()));
  }

  // ---- helpers

  private String render(LiveSession session) {
    return SessionRules.render(session.sessionId(), session.appliedLoopback(), session.policy(),
        session.virtualIps(), config.hostAddresses());
  }

  private SessionView view(LiveSession session) {
    return session.view(config.hostId());
  }
}
