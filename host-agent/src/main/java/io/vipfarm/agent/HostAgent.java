package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.agent.ifaddr.VipAddresses;
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
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
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

  /** How long dropped leases stay held after new rules are written: the shim's reload interval, twice. */
  static final long RULES_RELOAD_GRACE_MS = 2_000;

  private final AgentConfig config;
  private final PolicyService policies;
  private final AllocationService allocations;
  private final RulesDirectory rulesDirectory;
  private final SessionEnforcement enforcement;
  private final Supplier<SystemUsers> systemUsers;
  private final Set<String> unknownUsers = new HashSet<>();
  private final SessionJournal journal;
  private final Consumer<VipfarmEvent> events;
  private final LongSupplier clock;
  private final LongFunction<Future<?>> delay;
  private final long startedAt;
  private final VipAddresses vipAddresses;
  private final SessionTable sessions = new SessionTable();
  private final KeyedSerializer<Integer> perLoopback = new KeyedSerializer<>();
  private final Set<LeaseKey> renewing = new HashSet<>();
  private boolean stopping;

  HostAgent(AgentConfig config, PolicyService policies, AllocationService allocations,
      RulesDirectory rulesDirectory, SessionEnforcement enforcement, Supplier<SystemUsers> systemUsers,
      SessionJournal journal, Consumer<VipfarmEvent> events, LongSupplier clock, LongFunction<Future<?>> delay) {
    this(config, policies, allocations, rulesDirectory, enforcement, systemUsers, journal, events, clock, delay,
        VipAddresses.NONE);
  }

  /** @param vipAddresses puts leased VIPs on the host's interface and takes them off before release */
  HostAgent(AgentConfig config, PolicyService policies, AllocationService allocations,
      RulesDirectory rulesDirectory, SessionEnforcement enforcement, Supplier<SystemUsers> systemUsers,
      SessionJournal journal, Consumer<VipfarmEvent> events, LongSupplier clock, LongFunction<Future<?>> delay,
      VipAddresses vipAddresses) {
    this.vipAddresses = vipAddresses;
    this.config = config;
    this.policies = policies;
    this.allocations = allocations;
    this.rulesDirectory = rulesDirectory;
    this.enforcement = enforcement;
    this.systemUsers = systemUsers;
    this.journal = journal;
    this.events = events;
    this.clock = clock;
    this.delay = delay;
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
        new HostView(config.hostId(), config.bootId(), config.interception(), config.interceptionReason(),
            sessions.size(), startedAt));
  }

  // ---- start

  /** What the leasing step got: the leases and the session's VIP status. */
  /** @param acquireMillis how long the acquires took (for the acquire latency metric), or -1 if none ran */
  private record Leasing(List<Lease> leases, String vipStatus, double acquireMillis) {
    Leasing(List<Lease> leases, String vipStatus) {
      this(leases, vipStatus, -1);
    }
  }

  private Future<LiveSession> admitAndStart(SessionRequest request, LoopbackAddress loopback) {
    Optional<LiveSession> running = sessions.admit(request.sessionId(), request.user(), loopback);
    if (running.isPresent()) {
      return Future.succeededFuture(running.get());
    }
    String taken = request.cgroup() == null ? null : sessions.all().stream()
        .filter(s -> request.cgroup().equals(s.cgroup())).map(LiveSession::sessionId).findFirst().orElse(null);
    if (taken != null) {
      return Future.failedFuture(VipfarmException.invalidField("cgroup", request.cgroup() + " is session '"
          + taken + "''s already"));
    }
    return enforcement.admitCgroup(request.cgroup())
        .compose(cgroup -> policies.effective(config.hostId(), request.user(), request.groups())
        .compose(policy -> lease(policy, request)
            .compose(leasing -> applyRules(request, cgroup, loopback, policy, leasing)
                .recover(err -> releaseAll(leasing.leases(), "session '" + request.sessionId() + "' did not start")
                    .compose(v -> Future.failedFuture(err))))));
  }

  private Future<Leasing> lease(EffectivePolicy policy, SessionRequest request) {
    List<AcquireRequest> wanted =
        LeasePlan.requests(policy, config.hostId(), config.bootId(), request.sessionId(), request.user());
    if (wanted.isEmpty()) {
      return Future.succeededFuture(new Leasing(List.of(), LiveSession.VIP_NONE));
    }
    List<Lease> acquired = new ArrayList<>();
    long started = System.nanoTime();
    return acquireInTurn(wanted, 0, acquired)
        .compose(v -> vipAddresses.ensure(leaseAddresses(acquired)))
        .map(v -> new Leasing(List.copyOf(acquired), LiveSession.VIP_LEASED, (System.nanoTime() - started) / 1e6))
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

  private Future<LiveSession> applyRules(SessionRequest request, String cgroup, LoopbackAddress loopback,
      EffectivePolicy policy, Leasing leasing) {
    LiveSession session = new LiveSession(request.sessionId(), request.user(), request.groups(), loopback,
        policy, leasing.leases().stream().map(HeldLease::of).toList(), leasing.vipStatus(), clock.getAsLong(),
        rulesDirectory.fileOf(request.sessionId()).toString(), cgroup);
    String text;
    try {
      text = render(session);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    // the journal first: a crash in between leaves a session that a restart re-adopts, never rules
    // whose leases nobody renews
    return journal.write(config, session)
        .compose(v -> writeRules(session, text))
        .recover(err -> rulesDirectory.remove(session.sessionId()).otherwiseEmpty()
            .compose(v -> enforcement.ended(session.sessionId(), session.loopback(), session.cgroup()).otherwiseEmpty())
            .compose(v -> journal.remove(session.sessionId()).otherwiseEmpty())
            .compose(v -> Future.failedFuture(new VipfarmException(ErrorType.INTERNAL,
                "cannot write or enforce the rules of session '" + session.sessionId() + "': " + err.getMessage()))))
        .map(path -> {
          sessions.put(session);
          Map<String, Object> data = new LinkedHashMap<>();
          data.put("user", session.user());
          data.put("loopbackAddress", session.loopback().address());
          data.put("virtualIps", session.virtualIps());
          data.put("vipStatus", session.vipStatus());
          if (leasing.acquireMillis() >= 0) {
            data.put("acquireMillis", leasing.acquireMillis());
          }
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
        .compose(v -> enforcement.ended(sessionId, session.loopback(), session.cgroup())
            .onFailure(err -> LOG.warn("cannot remove the kernel state of session '{}' (its next start or the"
                + " agent's next start clears it): {}", sessionId, err.getMessage()))
            .otherwiseEmpty())
        .compose(v -> journal.remove(sessionId)
            .onFailure(err -> LOG.warn("cannot remove the session file of '{}': {}", sessionId, err.getMessage()))
            .otherwiseEmpty())
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
    // off the interface first: once released, the address may be granted to another host. Still on it:
    // not released, so it expires (nobody renews it) while later passes retry the removal.
    return vipAddresses.withdraw(leaseAddresses(leases)).compose(
        v -> releaseLeases(leases, why),
        err -> {
          for (Lease lease : leases) {
            LOG.error("{}: {}, so {} is not released; it expires at {}", why, err.getMessage(), lease.address(),
                lease.expiresAt());
          }
          return Future.succeededFuture();
        });
  }

  private Future<Void> releaseLeases(List<Lease> leases, String why) {
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
              .map(held::renewed)
              .recover(err -> leaseAgainIfForgotten(session, held, err))
              .compose(next -> keepRenewed(session.sessionId(), held, next), err -> {
                renewalFailed(session, held, err);
                return Future.succeededFuture();
              })
              // the key stays "renewing" until the session holds the outcome: a renewal of the old fence
              // meanwhile would find it stale and drop the lease just leased again
              .onComplete(ar -> renewing.remove(key));
        }
      }
    }
  }

  /**
   * A lease the allocation service does not know any more (the whole control plane restarted: leases are
   * not stored, design choice of the durable state) is leased again under the same key, so a running
   * session keeps a VIP instead of losing it; a lease taken over by someone else (stale fence) is not.
   */
  private Future<HeldLease> leaseAgainIfForgotten(LiveSession session, HeldLease held, Throwable err) {
    if (!(err instanceof VipfarmException e) || e.type() != ErrorType.UNKNOWN_LEASE) {
      return Future.failedFuture(err);
    }
    Lease lease = held.lease();
    LOG.warn("the allocation service no longer knows {} of session '{}' ({}); leasing it again under the same"
        + " key", lease.address(), session.sessionId(), err.getMessage());
    return allocations.acquire(new AcquireRequest(lease.pool(), lease.key(), session.user()))
        .map(HeldLease::of)
        .recover(failed -> {
          // a refusal (the pool is full, or gone) loses the VIP; an outage is retried at the next renewal
          boolean refused = failed instanceof VipfarmException r && r.type().httpStatus() < 500;
          return Future.failedFuture(refused
              ? new VipfarmException(ErrorType.UNKNOWN_LEASE, "leasing it again was refused: " + failed.getMessage())
              : failed);
        });
  }

  private Future<Void> keepRenewed(String sessionId, HeldLease held, HeldLease next) {
    Optional<LiveSession> holding = sessions.get(sessionId)
        .filter(s -> s.leases().stream().anyMatch(h -> h.lease().key().equals(held.lease().key())));
    if (holding.isEmpty()) {
      return Future.succeededFuture();
    }
    if (next.lease().address().equals(held.lease().address())) {
      sessions.put(holding.get().withLease(next));
      return Future.succeededFuture();
    }
    // leased again on another address: the old one may be another host's by now, so it leaves the interface
    // first; the session's programs learn the new one like any lease change
    String was = held.lease().address();
    String now = next.lease().address();
    LOG.warn("session '{}' now uses VIP {} instead of {}", sessionId, now, was);
    return perLoopback.run(holding.get().loopback().value(), () -> vipAddresses.withdraw(List.of(was))
        .onFailure(err -> LOG.error("session '{}' moved off VIP {}, but {} (later passes retry)", sessionId, was,
            err.getMessage()))
        .otherwiseEmpty()
        .compose(v -> vipAddresses.ensure(List.of(now)))
        .compose(v -> {
          Optional<LiveSession> current = sessions.get(sessionId);
          if (current.isEmpty()) {
            return Future.succeededFuture();
          }
          LiveSession updated = current.get().withLease(next);
          sessions.put(updated);
          return journal.write(config, updated).compose(w -> writeRules(updated, render(updated))).mapEmpty();
        }, err -> {
          LOG.error("session '{}' cannot use its new VIP {}: {}; it goes back to the pool", sessionId, now,
              err.getMessage());
          return allocations.release(LeaseRef.of(next.lease())).otherwiseEmpty()
              .compose(r -> dropLease(sessionId, held.lease().key()));
        }));
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
    // the allocator no longer counts the lease: its address may already be another host's
    List<String> lost = running.get().leases().stream().map(HeldLease::lease).filter(l -> l.key().equals(key))
        .map(Lease::address).toList();
    return vipAddresses.withdraw(lost)
        .onFailure(err -> LOG.error("session '{}' lost its VIP, but {} (later passes retry)", sessionId,
            err.getMessage()))
        .otherwiseEmpty()
        .compose(w -> journal.write(config, reduced))
        .compose(v -> writeRules(reduced, render(reduced)))
        .<Void>mapEmpty()
        .onFailure(err -> LOG.error("cannot rewrite the rules of session '{}' without its lost VIP: {}", sessionId,
            err.getMessage()));
  }

  // ---- policy changes

  /**
   * A policy changed somewhere in the farm ({@code policy.changed}): re-resolves the effective policy of
   * every live session and, where it differs, re-leases its VIPs when the leases it needs changed
   * ({@link LeasePlan}) and rewrites its session file and rules file, which running programs' new sockets
   * follow within about a second (the shim re-reads it). Each session in its own queue; always succeeds.
   */
  Future<Void> policiesChanged() {
    List<Future<?>> refreshes = new ArrayList<>();
    for (LiveSession session : sessions.all()) {
      refreshes.add(perLoopback.run(session.loopback().value(), () -> refreshPolicy(session.sessionId()))
          .onFailure(err -> LOG.warn("session '{}' keeps its previous rules after a policy change: {}",
              session.sessionId(), err.getMessage())));
    }
    return Future.join(refreshes).<Void>mapEmpty().otherwiseEmpty();
  }

  private Future<Void> refreshPolicy(String sessionId) {
    Optional<LiveSession> running = sessions.get(sessionId);
    if (running.isEmpty() || stopping) {
      return Future.succeededFuture();
    }
    LiveSession old = running.get();
    return policies.effective(config.hostId(), old.user(), old.groups()).compose(policy -> {
      if (policy.equals(old.policy())) {
        return Future.succeededFuture();
      }
      render(withPolicy(old, policy, old.leases(), old.vipStatus())); // refuses an unwritable policy first
      LeaseChange change = LeaseChange.between(old.leases(),
          LeasePlan.requests(policy, config.hostId(), config.bootId(), sessionId, old.user()));
      List<Lease> acquired = new ArrayList<>();
      Future<LiveSession> updated = acquireInTurn(change.toAcquire(), 0, acquired)
          .compose(v -> vipAddresses.ensure(leaseAddresses(acquired)))
          .map(v -> {
            List<HeldLease> leases = new ArrayList<>(change.kept());
            acquired.forEach(lease -> leases.add(HeldLease.of(lease)));
            return withPolicy(old, policy, leases, leases.isEmpty() ? LiveSession.VIP_NONE : LiveSession.VIP_LEASED);
          })
          .recover(err -> releaseAll(acquired, "session '" + sessionId + "' could not lease its new VIPs")
              .map(v -> {
                LOG.warn("session '{}' keeps only its unchanged VIPs after a policy change: {}", sessionId,
                    err.getMessage());
                return withPolicy(old, policy, change.kept(),
                    change.kept().isEmpty() ? LiveSession.VIP_FALLBACK : LiveSession.VIP_LEASED);
              }));
      return updated.compose(session -> {
        sessions.put(session);
        return journal.write(config, session)
            .compose(v -> writeRules(session, render(session)))
            .onSuccess(path -> LOG.info("session '{}' follows the changed policy: loopback {}, VIPs {}", sessionId,
                session.appliedLoopback() == null ? "off" : session.loopback().address(),
                session.virtualIps().stream().map(v -> v.address()).toList()))
            .onSuccess(path -> releaseWhenUnused(sessionId, change.toRelease()))
            .mapEmpty();
      });
    });
  }

  /**
   * Releases the leases a policy change dropped, but only after the shim has re-read the new rules
   * (it checks about once a second): until then running programs may still open sockets on the old
   * address, and releasing it earlier could hand it to another session while it is still in use.
   */
  private void releaseWhenUnused(String sessionId, List<HeldLease> dropped) {
    if (dropped.isEmpty()) {
      return;
    }
    List<Lease> leases = dropped.stream().map(HeldLease::lease).toList();
    delay.apply(RULES_RELOAD_GRACE_MS)
        .onComplete(done -> releaseAll(leases, "session '" + sessionId + "' changed policy"));
  }

  private static LiveSession withPolicy(LiveSession s, EffectivePolicy policy, List<HeldLease> leases, String status) {
    return new LiveSession(s.sessionId(), s.user(), s.groups(), s.loopback(), policy, leases, status, s.startedAt(),
        s.rulesFile(), s.cgroup());
  }

  // ---- reclaim after a restart

  /**
   * Re-adopts the sessions that a previous run of this agent left in the {@link SessionJournal} (it went
   * away without ending them: a crash, a kill). A session of this boot keeps its loopback, its rules
   * file and its leases: each lease is renewed with its fence; when the allocator no longer has it under
   * that fence (it expired, or the key was granted again), the same key is acquired again, which returns
   * the same address when it is still free and never takes one from a live lease (nothing is released
   * here). A session of another boot or host id is never inherited: its files are deleted and its leases
   * left to expire. Emits no {@code session.started}: these sessions never ended. Call before serving
   * requests; always succeeds, problems are logged.
   */
  Future<Void> reclaim() {
    // attached first, so that re-adopted sessions' rules reach the maps; reconciled last, so that only
    // what belongs to no re-adopted session is cleared
    return enforcement.attach()
        .compose(v -> reclaimJournal())
        .compose(v -> enforcement.reconcile(liveCgroups())
            .onFailure(err -> LOG.warn("cannot reconcile the kernel path's maps with the live sessions (stale entries"
                + " stay until the next start): {}", err.getMessage()))
            .otherwiseEmpty());
  }

  /** Every live session with the cgroup it came with (null for none). */
  private Map<String, String> liveCgroups() {
    Map<String, String> live = new TreeMap<>();
    sessions.all().forEach(s -> live.put(s.sessionId(), s.cgroup()));
    return live;
  }

  private Future<Void> reclaimJournal() {
    return journal.load()
        .compose(entries -> {
          Future<Void> chain = Future.succeededFuture();
          for (SessionJournal.Entry entry : entries) {
            chain = chain.compose(v -> Future.<Void>succeededFuture()
                .compose(ignored -> readopt(entry))
                .onFailure(err -> LOG.warn("cannot re-adopt session '{}' (its leases will expire): {}",
                    entry.sessionId(), err.getMessage()))
                .otherwiseEmpty());
          }
          return chain;
        })
        .onFailure(err -> LOG.warn("cannot read the sessions of a previous run: {}", err.getMessage()))
        .otherwiseEmpty()
        // re-ensure the re-adopted sessions' VIPs; remove those of sessions and leases not re-adopted
        .compose(v -> vipAddresses.adopt(sessions.all().stream()
            .flatMap(s -> s.leases().stream()).map(h -> h.lease().address()).toList()));
  }

  /** Brings the VIP interface in line with the held leases (repairs drift); always succeeds. */
  Future<Void> reconcileVipAddresses() {
    return vipAddresses.reconcile();
  }

  private Future<Void> readopt(SessionJournal.Entry entry) {
    if (!config.hostId().equals(entry.hostId()) || !config.bootId().equals(entry.bootId())) {
      LOG.info("session '{}' was left by boot {} of '{}', not by this boot: deleting its files, not inheriting"
          + " its leases", entry.sessionId(), entry.bootId(), entry.hostId());
      return journal.remove(entry.sessionId()).compose(v -> rulesDirectory.remove(entry.sessionId()))
          .compose(v -> enforcement.ended(entry.sessionId(), LoopbackAddress.of(entry.sessionId()), entry.cgroup()));
    }
    // a scope that is gone (systemd removes it when its last process ends) means the session ended while
    // the agent was away: nothing of it is left to enforce
    return enforcement.admitCgroup(entry.cgroup())
        .compose(cgroup -> readoptLive(entry), err -> {
          LOG.info("session '{}' lost its cgroup while the agent was away ({}): its programs are gone, ending it",
              entry.sessionId(), err.getMessage());
          return journal.remove(entry.sessionId()).compose(v -> rulesDirectory.remove(entry.sessionId()))
              .compose(v -> enforcement.ended(entry.sessionId(), LoopbackAddress.of(entry.sessionId()), entry.cgroup()))
              .compose(v -> releaseAll(entry.leases().stream().map(HeldLease::lease).toList(),
                  "session '" + entry.sessionId() + "' ended while the agent was away"));
        });
  }

  private Future<Void> readoptLive(SessionJournal.Entry entry) {
    LoopbackAddress loopback = LoopbackAddress.of(entry.sessionId());
    List<Future<HeldLease>> reclaimed = entry.leases().stream().map(held -> reclaimLease(entry, held)).toList();
    return Future.join(reclaimed).compose(all -> {
      List<HeldLease> kept = reclaimed.stream().map(Future::result).filter(h -> h != null).toList();
      String status = kept.isEmpty() && LiveSession.VIP_LEASED.equals(entry.vipStatus())
          ? LiveSession.VIP_FALLBACK : entry.vipStatus();
      LiveSession session = new LiveSession(entry.sessionId(), entry.user(), entry.groups(), loopback,
          entry.policy(), kept, status, entry.startedAt(), rulesDirectory.fileOf(entry.sessionId()).toString(),
          entry.cgroup());
      boolean unchanged = addresses(kept).equals(addresses(entry.leases()));
      // the rules are written again in any case: the policy's users may map to other uids now, and the
      // kernel path's maps must hold what the file says
      return journal.write(config, session)
          .compose(v -> writeRules(session, render(session)))
          .map(v -> {
            sessions.put(session);
            LOG.info("session '{}' of {} re-adopted after a restart: loopback {}, VIPs {}{}", session.sessionId(),
                session.user(), loopback.address(), addresses(kept), unchanged ? "" : " (some VIPs lost)");
            return null;
          });
    });
  }

  /** The lease back under its fence, or the same key leased again, or null when it is lost. */
  private Future<HeldLease> reclaimLease(SessionJournal.Entry entry, HeldLease held) {
    Lease lease = held.lease();
    return allocations.renew(LeaseRef.of(lease))
        .map(held::renewed)
        .recover(err -> {
          boolean gone = err instanceof VipfarmException e
              && (e.type() == ErrorType.STALE_LEASE || e.type() == ErrorType.UNKNOWN_LEASE);
          if (!gone) {
            LOG.warn("cannot renew {} of session '{}' now, keeping it for the renewal to retry: {}", lease.address(),
                entry.sessionId(), err.getMessage());
            return Future.succeededFuture(held);
          }
          return allocations.acquire(new AcquireRequest(lease.pool(), lease.key(), entry.user()))
              .map(HeldLease::of)
              .recover(lost -> {
                LOG.warn("session '{}' lost its VIP {} while the agent was away: {}", entry.sessionId(),
                    lease.address(), lost.getMessage());
                return Future.succeededFuture(null);
              });
        });
  }

  private static List<String> leaseAddresses(List<Lease> leases) {
    return leases.stream().map(Lease::address).toList();
  }

  private static List<String> addresses(List<HeldLease> leases) {
    return leases.stream().map(h -> h.lease().pool() + "/" + h.lease().address()).sorted().toList();
  }

  // ---- helpers

  private String render(LiveSession session) {
    EffectivePolicy policy = session.policy();
    List<Long> allowUids = systemUsers.get().uidsOf(policy.isolationAllowUsers(), user -> {
      if (unknownUsers.add(user)) {
        LOG.warn("loopbackIsolation.allowUsers names '{}', which is not a user of this host: skipped", user);
      }
    });
    SessionRules.Isolation isolation =
        new SessionRules.Isolation(enforcement.loopback6Of(session.appliedLoopback()), allowUids);
    return SessionRules.render(session.sessionId(), session.appliedLoopback(), isolation, policy,
        session.virtualIps(), config.hostAddresses());
  }

  /**
   * Writes the session's rules file, with its IPv6 loopback and cgroup made first and the kernel path's
   * maps set from the file after it: what the file says is what both paths enforce.
   */
  private Future<Path> writeRules(LiveSession session, String text) {
    return enforcement.prepare(session)
        .compose(v -> rulesDirectory.write(session.sessionId(), text))
        .compose(path -> enforcement.applied(session, path).map(path));
  }

  private SessionView view(LiveSession session) {
    return session.view(config.hostId());
  }
}
