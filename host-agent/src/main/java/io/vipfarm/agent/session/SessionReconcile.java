package io.vipfarm.agent.session;

import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * What to do after (re)connecting to logind: start the followed logind sessions the agent does not
 * run, end the agent's sessions that logind no longer has (they ended while vipfarm was away).
 *
 * <p>With {@code --sessions logind}, logind is the authority on this host's session ids: an agent
 * session whose id logind does not list as followed is ended, whoever started it.
 */
public record SessionReconcile(List<LogindSession> toStart, List<String> toEnd) {

  public static SessionReconcile of(Collection<LogindSession> logind, Set<String> classes,
      Collection<String> agentSessionIds) {
    List<LogindSession> followed = logind.stream().filter(s -> s.followedWith(classes)).toList();
    Set<String> followedIds = Set.copyOf(followed.stream().map(LogindSession::id).toList());
    List<LogindSession> toStart = followed.stream().filter(s -> !agentSessionIds.contains(s.id())).toList();
    List<String> toEnd = agentSessionIds.stream().filter(id -> !followedIds.contains(id)).sorted().toList();
    return new SessionReconcile(toStart, toEnd);
  }
}
