package io.vipfarm.agent.session;

import java.util.Set;

/**
 * What vipfarm reads of one systemd-logind session (the properties of its
 * {@code org.freedesktop.login1.Session} object).
 *
 * @param id logind's session id ({@code 3}, {@code c1}): the vipfarm session id as it is
 * @param user the user name ({@code Name})
 * @param uid the user's uid ({@code User})
 * @param sessionClass {@code user}, {@code greeter}, {@code lock-screen}, {@code background}, ...
 * @param scope the systemd scope unit holding the session's processes ({@code session-3.scope}): the
 *     cgroup the kernel path attaches to
 * @param remote whether logind counts it as a remote login (ssh, xrdp)
 * @param state {@code online}, {@code active} or {@code closing}
 * @param service the PAM service that opened it ({@code sshd}, {@code login}, {@code xrdp-sesman})
 * @param leader the pid of the session's leader process ({@code Leader}), 0 when unknown: its cgroup is
 *     the scope's ({@link ScopeCgroup})
 */
public record LogindSession(String id, String user, long uid, String sessionClass, String scope, boolean remote,
    String state, String service, long leader) {

  public LogindSession(String id, String user, long uid, String sessionClass, String scope, boolean remote,
      String state, String service) {
    this(id, user, uid, sessionClass, scope, remote, state, service, 0);
  }

  /**
   * Whether vipfarm runs this session: its class is followed. A {@code closing} session still is (its
   * user logged out but programs of it still run, and they keep their addresses until they end and
   * logind removes the session).
   */
  public boolean followedWith(Set<String> classes) {
    return classes.contains(sessionClass) && user != null && !user.isBlank();
  }
}
