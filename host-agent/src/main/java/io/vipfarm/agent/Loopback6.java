package io.vipfarm.agent;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * The sessions' IPv6 loopback addresses: what {@code ::1} becomes in a session (design.md §3). Session
 * {@code n} (loopback value {@code v = n + 1}, see {@link LoopbackAddress}) gets {@code prefix + v} in a
 * unique-local /64, e.g. session 7 → {@code fd7f:7f7f:7f7f::8}. Unlike 127.0.0.0/8, Linux does not route
 * an IPv6 prefix to {@code lo} in a way that lets programs bind its addresses, so the agent adds each
 * session's address to {@code lo} ({@code scope host}, no DAD) while the session lives.
 *
 * @param prefix the /64 prefix, eight bytes significant
 */
public record Loopback6(byte[] prefix) {
  /** The default prefix: ULA {@code fd7f:7f7f:7f7f::/64} ("7f" for 127). */
  public static final String DEFAULT_PREFIX = "fd7f:7f7f:7f7f::/64";

  /** A prefix such as {@code fd7f:7f7f:7f7f::/64}: a unique-local (fc00::/7) /64. */
  public static Loopback6 parse(String cidr) {
    int slash = cidr.indexOf('/');
    if (slash < 0 || !cidr.substring(slash + 1).equals("64")) {
      throw new IllegalArgumentException("an IPv6 loopback prefix must be a /64, was '" + cidr + "'");
    }
    byte[] bytes;
    try {
      String text = cidr.substring(0, slash);
      if (!text.contains(":")) {
        throw new IllegalArgumentException("not an IPv6 prefix: '" + cidr + "'");
      }
      InetAddress address = InetAddress.getByName(text);
      if (!(address instanceof Inet6Address)) {
        throw new IllegalArgumentException("not an IPv6 prefix: '" + cidr + "'");
      }
      bytes = address.getAddress();
    } catch (UnknownHostException e) {
      throw new IllegalArgumentException("not an IPv6 prefix: '" + cidr + "'", e);
    }
    if ((bytes[0] & 0xfe) != 0xfc) {
      throw new IllegalArgumentException("an IPv6 loopback prefix must be unique-local (fc00::/7), was '" + cidr + "'");
    }
    for (int i = 8; i < 16; i++) {
      bytes[i] = 0;
    }
    return new Loopback6(bytes);
  }

  /**
   * The IPv6 loopback of a session, or null for session 0: its IPv4 loopback is the host's own
   * 127.0.0.1, and its {@code ::1} stays the host's {@code ::1} the same way.
   */
  public String addressOf(LoopbackAddress loopback) {
    if (loopback.value() == 1) {
      return null;
    }
    byte[] bytes = prefix.clone();
    int v = loopback.value();
    bytes[13] = (byte) (v >>> 16);
    bytes[14] = (byte) (v >>> 8);
    bytes[15] = (byte) v;
    return text(bytes);
  }

  /** RFC 5952 text: lower-case hex groups, the longest run of two or more zero groups as {@code ::}. */
  static String text(byte[] bytes) {
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
    }
    int bestStart = -1;
    int bestLength = 1;
    for (int i = 0; i < 8; i++) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = Math.max(i, j);
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLength - 1;
        continue;
      }
      if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      out.append(Integer.toHexString(groups[i]));
    }
    return out.toString();
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Loopback6 o && java.util.Arrays.equals(prefix, o.prefix);
  }

  @Override
  public int hashCode() {
    return java.util.Arrays.hashCode(prefix);
  }

  @Override
  public String toString() {
    return text(prefix) + "/64";
  }
}
