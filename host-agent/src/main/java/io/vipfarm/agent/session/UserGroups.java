package io.vipfarm.agent.session;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The groups of a user on this host, as {@code id -Gn} reports them: through NSS, so LDAP/SSSD groups
 * of a farm count like local ones. Blocking (it runs a process): call it on a worker thread.
 */
final class UserGroups {
  private static final Logger LOG = LoggerFactory.getLogger(UserGroups.class);
  /** What a user name may look like before it is given to a command (no options, no paths). */
  private static final Pattern USER = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.@-]{0,255}\\$?");

  private UserGroups() {}

  /** The user's groups, or none (logged) when they cannot be read: the session still starts. */
  static List<String> of(String user) {
    if (user == null || !USER.matcher(user).matches()) {
      LOG.warn("not looking up the groups of the user name '{}'", user);
      return List.of();
    }
    try {
      Process process = new ProcessBuilder("id", "-Gn", "--", user).redirectErrorStream(true).start();
      byte[] out = process.getInputStream().readAllBytes();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        LOG.warn("id -Gn {} did not finish: starting the session without groups", user);
        return List.of();
      }
      String text = new String(out, StandardCharsets.UTF_8).strip();
      if (process.exitValue() != 0) {
        LOG.warn("cannot read the groups of {} ({}): starting the session without groups", user, text);
        return List.of();
      }
      return Arrays.stream(text.split("\\s+")).filter(g -> !g.isEmpty()).distinct().toList();
    } catch (IOException e) {
      LOG.warn("cannot run id -Gn {}: {}; starting the session without groups", user, e.toString());
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }
}
