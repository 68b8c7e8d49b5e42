package io.vipfarm.deploy.bridge;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.multimap.MultiMap;
import io.vipfarm.gateway.GatewayVerticle;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Which agents the farm knows, when each was last heard of and which sessions it runs, kept in
 * Hazelcast so that every control member agrees, whichever member an agent is connected to. Blocking
 * calls: use from a worker. An agent that moves to another control member keeps its entry; one not
 * heard of for longer than the grace is gone, and exactly one member (the one whose remove succeeds)
 * reports it.
 */
final class HostPresence {
  /** host id to the member uuid it registered through (the value only makes the remove a compare-and-remove). */
  static final String PRESENT_MAP = "vipfarm-agent-presence";
  /** host id to the ids of its running sessions, as seen in its events and its session list. */
  static final String SESSIONS_MAP = GatewayVerticle.HOST_SESSIONS_MAP;

  private final IMap<String, String> present;
  private final IMap<String, Long> seen;
  private final MultiMap<String, String> sessions;

  HostPresence(HazelcastInstance hazelcast) {
    this.present = hazelcast.getMap(PRESENT_MAP);
    this.seen = hazelcast.getMap(GatewayVerticle.HOST_SEEN_MAP);
    this.sessions = hazelcast.getMultiMap(SESSIONS_MAP);
  }

  /**
   * An agent registered its address through a member; its session list, when it could be read (else
   * null), replaces what was known.
   */
  void registered(String hostId, String member, long now, Collection<String> sessionIds) {
    // heard of before present: a sweep that finds the host present without a heartbeat takes it for gone
    seen.set(hostId, now);
    present.set(hostId, member);
    if (sessionIds != null) {
      sessions.remove(hostId);
      sessionIds.forEach(id -> sessions.put(hostId, id));
    }
  }

  void heard(String hostId, long now) {
    seen.set(hostId, now);
  }

  void sessionStarted(String hostId, String sessionId) {
    sessions.put(hostId, sessionId);
  }

  void sessionEnded(String hostId, String sessionId) {
    sessions.remove(hostId, sessionId);
  }

  /** The agent said it leaves (a clean stop): nothing is left to report for it. */
  void left(String hostId) {
    present.delete(hostId);
    sessions.remove(hostId);
  }

  /** A host whose agent is gone, with the sessions it was running. */
  record Departure(String hostId, long lastSeen, List<String> sessionIds) {}

  /**
   * Takes out the agents, among those whose entry this member owns, not heard of since {@code now - graceMs}.
   * Each departure is returned by exactly one member.
   */
  List<Departure> takeGone(long now, long graceMs) {
    List<Departure> gone = new ArrayList<>();
    Set<String> owned = present.localKeySet();
    for (String hostId : owned) {
      String member = present.get(hostId);
      Long last = seen.get(hostId);
      if (member == null || !isGone(last, now, graceMs)) {
        continue;
      }
      if (present.remove(hostId, member)) {
        gone.add(new Departure(hostId, last == null ? 0 : last, List.copyOf(sessions.remove(hostId))));
      }
    }
    return gone;
  }

  static boolean isGone(Long lastSeen, long now, long graceMs) {
    return lastSeen == null || now - lastSeen > graceMs;
  }
}
