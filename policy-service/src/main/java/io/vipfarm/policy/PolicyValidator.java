package io.vipfarm.policy;

import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PolicyDocument.LoopbackIsolation;
import io.vipfarm.api.model.PolicyDocument.Match;
import io.vipfarm.api.model.PolicyDocument.PreferLoopback;
import io.vipfarm.api.model.PolicyDocument.VirtualIp;
import io.vipfarm.api.model.PolicyDocument.VirtualLoopback;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Checks the meaning of a policy document and of an effective-policy query. The gateway's strict
 * JSON reader has already refused unknown fields and wrong types; what is left is ranges, names and
 * glob syntax.
 *
 * <p>Fields are checked in document order and the first problem is thrown as
 * {@link VipfarmException#invalidField} with a dotted path such as {@code virtualLoopback.programs[1]}.
 * A document that passes is safe to store and to hand to the shim's matcher unchanged.
 */
public final class PolicyValidator {
  public static final int MIN_PRIORITY = 0;
  public static final int MAX_PRIORITY = 1_000_000;
  /** Longest glob; longer than any file, user, group or host name (NAME_MAX, LOGIN_NAME_MAX, HOST_NAME_MAX). */
  public static final int MAX_GLOB_LENGTH = 255;
  /** Most entries in one list, so a document stays small enough to ship to every agent. */
  public static final int MAX_LIST_ENTRIES = 256;

  /** Policy and pool names: they appear in URLs and in events. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
  /** A user name as useradd accepts it, or a uid. */
  private static final Pattern USER = Pattern.compile("[A-Za-z0-9_.][A-Za-z0-9_.-]{0,30}\\$?|[0-9]{1,10}");
  private static final String NAME_RULE =
      "must be 1 to 63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";

  /** @throws VipfarmException INVALID_FIELD for the first problem found */
  public void validate(PolicyDocument doc) {
    if (doc == null) {
      throw VipfarmException.invalidField("body", "a policy document is required");
    }
    requireName("name", doc.name());
    checkPriority(doc.priority());
    checkMatch(doc.match());
    checkVirtualLoopback(doc.virtualLoopback());
    checkVirtualIp(doc.virtualIp());
    checkPreferLoopback(doc.preferLoopback());
    checkLoopbackIsolation(doc.loopbackIsolation());
  }

  /**
   * Checks the subject of an effective-policy query: host and user are required (an empty user would
   * silently match only '*' globs), groups may be absent.
   *
   * @throws VipfarmException INVALID_FIELD naming {@code host}, {@code user} or {@code groups[i]}
   */
  public void validateQuery(String host, String user, List<String> groups) {
    requireText("host", host);
    requireText("user", user);
    if (groups != null) {
      for (int i = 0; i < groups.size(); i++) {
        requireText("groups[" + i + "]", groups.get(i));
      }
    }
  }

  /** Pool names follow the same rule as policy names. */
  public static boolean isValidName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  private static void checkPriority(Integer priority) {
    if (priority != null && (priority < MIN_PRIORITY || priority > MAX_PRIORITY)) {
      throw VipfarmException.invalidField(
          "priority", "must be between " + MIN_PRIORITY + " and " + MAX_PRIORITY + ", was " + priority);
    }
  }

  private static void checkMatch(Match match) {
    if (match == null) {
      return;
    }
    checkGlobs("match.hosts", match.hosts());
    checkGlobs("match.users", match.users());
    checkGlobs("match.groups", match.groups());
  }

  private static void checkVirtualLoopback(VirtualLoopback loopback) {
    if (loopback == null) {
      return;
    }
    checkGlobs("virtualLoopback.programs", loopback.programs());
    checkPorts("virtualLoopback.excludedPorts", loopback.excludedPorts());
  }

  private static void checkVirtualIp(VirtualIp vip) {
    if (vip == null) {
      return;
    }
    if (vip.pool() != null) {
      requireName("virtualIp.pool", vip.pool());
    }
    checkGlobs("virtualIp.programs", vip.programs());
  }

  private static void checkPreferLoopback(PreferLoopback prefer) {
    if (prefer == null) {
      return;
    }
    checkGlobs("preferLoopback.processes", prefer.processes());
  }

  /**
   * User names follow the portable POSIX/useradd rule (a trailing '$' for machine accounts); a number is
   * taken as a uid. Whether the user exists is the host's business: farm hosts differ, so the agent
   * skips (and logs) a name its host does not know rather than the policy being refused here.
   */
  private static void checkLoopbackIsolation(LoopbackIsolation isolation) {
    if (isolation == null || isolation.allowUsers() == null) {
      return;
    }
    String field = "loopbackIsolation.allowUsers";
    checkSize(field, isolation.allowUsers());
    for (int i = 0; i < isolation.allowUsers().size(); i++) {
      String user = isolation.allowUsers().get(i);
      if (user == null || !USER.matcher(user).matches()) {
        throw VipfarmException.invalidField(field + "[" + i + "]",
            "must be a user name (letters, digits, '.', '_', '-', up to 32 characters, not starting with '-')"
                + " or a numeric uid, was '" + (user == null ? "null" : printable(user)) + "'");
      }
    }
  }

  private static void requireName(String field, String value) {
    if (value == null || value.isEmpty()) {
      throw VipfarmException.invalidField(field, "is required");
    }
    if (!isValidName(value)) {
      throw VipfarmException.invalidField(field, NAME_RULE + ", was '" + printable(value) + "'");
    }
  }

  private static void requireText(String field, String value) {
    if (value == null || value.isBlank()) {
      throw VipfarmException.invalidField(field, "is required");
    }
  }

  private static void checkSize(String field, List<?> list) {
    if (list.size() > MAX_LIST_ENTRIES) {
      throw VipfarmException.invalidField(
          field, "has " + list.size() + " entries, at most " + MAX_LIST_ENTRIES + " are allowed");
    }
  }

  private static void checkGlobs(String field, List<String> globs) {
    if (globs == null) {
      return;
    }
    checkSize(field, globs);
    for (int i = 0; i < globs.size(); i++) {
      checkGlob(field + "[" + i + "]", globs.get(i));
    }
  }

  private static void checkGlob(String field, String glob) {
    if (glob == null) {
      throw VipfarmException.invalidField(field, "must be a glob pattern, not null");
    }
    if (glob.isEmpty()) {
      throw VipfarmException.invalidField(field, "must not be empty (use '*' to match everything)");
    }
    if (glob.length() > MAX_GLOB_LENGTH) {
      throw VipfarmException.invalidField(field, "must be at most " + MAX_GLOB_LENGTH + " characters");
    }
    if (glob.indexOf('/') >= 0) {
      throw VipfarmException.invalidField(
          field, "must not contain '/': names are matched without a path, was '" + printable(glob) + "'");
    }
    if (glob.chars().anyMatch(Character::isISOControl)) {
      throw VipfarmException.invalidField(field, "must not contain control characters");
    }
    try {
      GlobPattern.compile(glob);
    } catch (IllegalArgumentException e) {
      throw VipfarmException.invalidField(field, "is not a valid glob: " + e.getMessage());
    }
  }

  private static void checkPorts(String field, List<Integer> ports) {
    if (ports == null) {
      return;
    }
    checkSize(field, ports);
    for (int i = 0; i < ports.size(); i++) {
      Integer port = ports.get(i);
      if (port == null || port < 1 || port > 65_535) {
        throw VipfarmException.invalidField(
            field + "[" + i + "]", "must be a port number from 1 to 65535, was " + port);
      }
    }
  }

  /** The value for an error message, with control characters shown as '?'. */
  private static String printable(String value) {
    StringBuilder sb = new StringBuilder(value.length());
    value.codePoints().forEach(c -> sb.appendCodePoint(Character.isISOControl(c) ? '?' : c));
    return sb.length() > 80 ? sb.substring(0, 80) + "..." : sb.toString();
  }
}
