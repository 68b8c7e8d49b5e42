package io.vipfarm.agent;

import io.vipfarm.api.VipfarmException;

/**
 * The virtual loopback address of a session: the address its programs really use when they say
 * 127.0.0.1.
 *
 * <p>Every session gets a 24-bit number {@code v} in 1..16777215, written into the last three octets
 * of {@code 127.0.0.0} (most significant octet first): {@code 127.(v >> 16).((v >> 8) & 255).(v & 255)}.
 * 127.0.0.0 itself ({@code v = 0}) is never used.
 *
 * <ul>
 *   <li><b>Numeric session ids</b> (decimal, no sign, no leading zeros), {@code n} in 0..16777214:
 *       {@code v = n + 1}. 7 → 127.0.0.8, 254 → 127.0.0.255, 255 → 127.0.1.0,
 *       16777214 → 127.255.255.255. Session 0 → 127.0.0.1 itself: it keeps the host's real
 *       loopback and so shares it with every program that runs outside a session.
 *   <li><b>logind ids {@code cN}</b> (a lower-case {@code c}, then decimal {@code N} without leading
 *       zeros), {@code N} in 1..8388607: {@code v = 2^24 - N}, counted down from the top.
 *       c1 → 127.255.255.255, c2 → 127.255.255.254, c8388607 → 127.128.0.1.
 * </ul>
 *
 * <p>Numeric ids grow up from the bottom and {@code c} ids down from the top, so the two kinds only
 * meet once numeric ids pass 8388607 (about 8 million sessions since boot). Where they do meet
 * (for example session 16777214 and c1), the host agent refuses to start the second session while
 * the first is live (error CONFLICT), so two live sessions never share a loopback address.
 *
 * <p>Anything else (a negative or larger number, leading zeros, {@code c0}, other text) is refused
 * with {@code INVALID_FIELD sessionId}; an id never wraps around onto another session's address.
 *
 * @param sessionId the session id as given
 * @param value the 24-bit number {@code v}, 1..16777215
 */
public record LoopbackAddress(String sessionId, int value) {
  /** The largest numeric session id: its loopback is 127.255.255.255. */
  public static final int MAX_NUMERIC_ID = (1 << 24) - 2;
  /** The largest N of a logind {@code cN} session id. */
  public static final int MAX_C_ID = (1 << 23) - 1;

  public LoopbackAddress {
    if (value < 1 || value > (1 << 24) - 1) {
      throw new IllegalArgumentException("loopback value out of range: " + value);
    }
  }

  /**
   * The loopback of {@code sessionId}.
   *
   * @throws VipfarmException INVALID_FIELD {@code sessionId} when the id is not a valid session id
   */
  public static LoopbackAddress of(String sessionId) {
    if (sessionId == null || sessionId.isEmpty()) {
      throw VipfarmException.invalidField("sessionId", "a session id is required");
    }
    if (sessionId.charAt(0) == 'c') {
      long n = parseDecimal(sessionId, 1);
      if (n < 1 || n > MAX_C_ID) {
        throw VipfarmException.invalidField("sessionId",
            "'" + shorten(sessionId) + "' is not a session id: a logind id is c1 to c" + MAX_C_ID);
      }
      return new LoopbackAddress(sessionId, (int) ((1L << 24) - n));
    }
    long n = parseDecimal(sessionId, 0);
    if (n < 0 || n > MAX_NUMERIC_ID) {
      throw VipfarmException.invalidField("sessionId",
          "'" + shorten(sessionId) + "' is not a session id: use a number from 0 to " + MAX_NUMERIC_ID
              + " or a logind id c1 to c" + MAX_C_ID);
    }
    return new LoopbackAddress(sessionId, (int) (n + 1));
  }

  /** The dotted IPv4 form, e.g. {@code 127.0.0.8}. */
  public String address() {
    return "127." + (value >>> 16) + "." + ((value >>> 8) & 0xff) + "." + (value & 0xff);
  }

  @Override
  public String toString() {
    return address();
  }

  /** The decimal number at {@code from}, or -1 when the text there is not a plain decimal number. */
  private static long parseDecimal(String text, int from) {
    int length = text.length() - from;
    if (length < 1 || length > 10 || (length > 1 && text.charAt(from) == '0')) {
      return -1;
    }
    long n = 0;
    for (int i = from; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return -1;
      }
      n = n * 10 + (c - '0');
    }
    return n;
  }

  private static String shorten(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "...";
  }
}
