package io.vipfarm.allocation;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A {@link ClusterMemberMain} grant log read back: the grants (and refusals) it acknowledged. A line cut
 * short by a {@code kill -9} has no newline at its end and is ignored: that grant was never acknowledged
 * to anyone.
 */
final class FailureLog {
  private FailureLog() {}

  record Grant(long at, String member, String tag, String pool, String address, String key, long fence) {}

  record Refusal(long at, String member, String tag, String type) {}

  /** A live lease as the final {@code leases} query reports it. */
  record Held(String address, String key, long fence) {}

  static List<Grant> grants(FailureMember member) {
    List<Grant> out = new ArrayList<>();
    for (String[] w : complete(member.grantLog())) {
      if (w.length == 7 && w[0].equals("GRANT")) {
        out.add(new Grant(Long.parseLong(w[1]), member.name(), w[2], w[3], w[4], w[5], Long.parseLong(w[6])));
      }
    }
    return out;
  }

  static List<Refusal> refusals(FailureMember member) {
    List<Refusal> out = new ArrayList<>();
    for (String[] w : complete(member.grantLog())) {
      if (w.length == 4 && w[0].equals("REFUSED")) {
        out.add(new Refusal(Long.parseLong(w[1]), member.name(), w[2], w[3]));
      }
    }
    return out;
  }

  static long lines(FailureMember member) {
    return complete(member.grantLog()).size();
  }

  /** The live leases of {@code pool} by address, asked through {@code member}. */
  static Map<String, Held> leases(FailureMember member, String pool) {
    Map<String, Held> byAddress = new TreeMap<>();
    List<String> lines = member.command("leases " + pool, 60);
    String last = lines.get(lines.size() - 1);
    if (!last.startsWith("OK")) {
      throw new AssertionError(member.name() + ": leases of " + pool + " answered " + last);
    }
    for (String line : lines) {
      String[] w = line.split(" ");
      if (w[0].equals("LEASE")) {
        Held previous = byAddress.put(w[1], new Held(w[1], w[2], Long.parseLong(w[3])));
        if (previous != null) {
          throw new AssertionError("the leases query lists " + w[1] + " twice: " + previous + " and " + line);
        }
      }
    }
    return byAddress;
  }

  /**
   * Addresses acknowledged to two different keys, with those keys. Nothing in these tests releases a
   * lease or lets it expire, so two keys on one address means both were live at once: a duplicate.
   */
  static Map<String, Set<String>> duplicates(List<Grant> grants) {
    Map<String, Set<String>> keysByAddress = new TreeMap<>();
    for (Grant g : grants) {
      keysByAddress.computeIfAbsent(g.address(), a -> new TreeSet<>()).add(g.key());
    }
    keysByAddress.values().removeIf(keys -> keys.size() < 2);
    return keysByAddress;
  }

  /** Acknowledged grants that the final leases do not hold (same address, key and fence). */
  static List<Grant> lost(List<Grant> grants, Map<String, Held> live) {
    return grants.stream()
        .filter(g -> !new Held(g.address(), g.key(), g.fence()).equals(live.get(g.address())))
        .toList();
  }

  private static List<String[]> complete(Path file) {
    try {
      if (!Files.exists(file)) {
        return List.of();
      }
      String text = Files.readString(file, StandardCharsets.UTF_8);
      int end = text.lastIndexOf('\n');
      List<String[]> out = new ArrayList<>();
      if (end < 0) {
        return out;
      }
      for (String line : text.substring(0, end).split("\n")) {
        if (!line.isBlank()) {
          out.add(line.split(" "));
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
