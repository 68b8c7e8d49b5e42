package io.vipfarm.agent;

import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The sessions running on one host, indexed by session id and by loopback address, and the rule for
 * admitting a new one. Not thread-safe: the host agent uses it from one event loop.
 */
public final class SessionTable {
  private final Map<String, LiveSession> byId = new HashMap<>();
  private final Map<Integer, String> idByLoopback = new HashMap<>();

  /**
   * Decides whether session {@code sessionId} of {@code user} may start.
   *
   * @return the running session when the same user starts it again (the start is idempotent), or empty
   *     when the session may start
   * @throws VipfarmException SESSION_EXISTS when it runs for another user; CONFLICT when another live
   *     session already uses the same loopback address
   */
  public Optional<LiveSession> admit(String sessionId, String user, LoopbackAddress loopback) {
    LiveSession running = byId.get(sessionId);
    if (running != null) {
      if (running.user().equals(user)) {
        return Optional.of(running);
      }
      throw new VipfarmException(ErrorType.SESSION_EXISTS,
          "session '" + sessionId + "' is already running for another user");
    }
    String holder = idByLoopback.get(loopback.value());
    if (holder != null) {
      throw new VipfarmException(ErrorType.CONFLICT,
          "session '" + sessionId + "' would use loopback " + loopback.address() + ", which live session '"
              + holder + "' already uses; end that session first");
    }
    return Optional.empty();
  }

  /** Adds or replaces a session (replacing keeps its loopback). */
  public void put(LiveSession session) {
    LiveSession previous = byId.put(session.sessionId(), session);
    if (previous != null && previous.loopback().value() != session.loopback().value()) {
      idByLoopback.remove(previous.loopback().value());
    }
    idByLoopback.put(session.loopback().value(), session.sessionId());
  }

  public Optional<LiveSession> get(String sessionId) {
    return Optional.ofNullable(byId.get(sessionId));
  }

  public Optional<LiveSession> remove(String sessionId) {
    LiveSession removed = byId.remove(sessionId);
    if (removed != null) {
      idByLoopback.remove(removed.loopback().value());
    }
    return Optional.ofNullable(removed);
  }

  /** All sessions, ordered by loopback address (numeric ids in order, then c ids). */
  public List<LiveSession> all() {
    List<LiveSession> sessions = new ArrayList<>(byId.values());
    sessions.sort(Comparator.comparingInt(s -> s.loopback().value()));
    return sessions;
  }

  public int size() {
    return byId.size();
  }
}
