package io.vipfarm.agent;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The host's local users by name ({@code /etc/passwd}), to turn the names of the policy's
 * {@code loopbackIsolation.allowUsers} into the uids the kernel path compares. System users, which
 * that list is for, are local accounts; a name this host does not know is skipped (and reported), not
 * an error: the same farm-wide policy reaches hosts with different users.
 */
public record SystemUsers(Map<String, Long> uids) {
  /** Largest valid uid: (uid_t) -1 means "no user". */
  static final long MAX_UID = 0xffff_fffeL;

  public SystemUsers {
    uids = Map.copyOf(uids);
  }

  public static SystemUsers none() {
    return new SystemUsers(Map.of());
  }

  /** Parses passwd(5) text; malformed lines are skipped. */
  public static SystemUsers parse(String passwd) {
    Map<String, Long> uids = new HashMap<>();
    for (String line : passwd.split("\n")) {
      String[] fields = line.split(":", -1);
      if (fields.length < 3 || fields[0].isEmpty() || line.startsWith("#")) {
        continue;
      }
      long uid = uid(fields[2]);
      if (uid >= 0) {
        uids.putIfAbsent(fields[0], uid);
      }
    }
    return new SystemUsers(uids);
  }

  /**
   * The uids of {@code users} (names or numeric uids), in order, without repeats; {@code unknown}
   * gets each entry that is neither a known name nor a valid uid.
   */
  public List<Long> uidsOf(List<String> users, Consumer<String> unknown) {
    List<Long> out = new ArrayList<>();
    for (String user : users) {
      Long uid = uids.get(user);
      if (uid == null) {
        long numeric = uid(user);
        uid = numeric >= 0 ? numeric : null;
      }
      if (uid == null) {
        unknown.accept(user);
      } else if (!out.contains(uid)) {
        out.add(uid);
      }
    }
    return out;
  }

  private static long uid(String text) {
    if (text.isEmpty() || text.length() > 10 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return -1;
    }
    long value = Long.parseLong(text);
    return value <= MAX_UID ? value : -1;
  }
}
