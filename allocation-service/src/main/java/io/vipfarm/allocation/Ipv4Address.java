package io.vipfarm.allocation;


/**
 * An IPv4 address as its 32 bits. The allocator keeps addresses as {@code int} bits (unsigned: compare
 * with {@link Integer#compareUnsigned}); this record is the checked way in and out of text.
 */
public record Ipv4Address(int bits) implements Comparable<Ipv4Address> {

  /**
   * Reads dotted-quad text strictly: exactly four decimal octets 0..255, no signs, no spaces and no
   * leading zeros (inet_aton would read {@code 010} as octal 8, so it is refused rather than guessed).
   *
   * @throws IllegalArgumentException with a message fit for an INVALID_FIELD detail
   */
  public static Ipv4Address parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("an IPv4 address is required");
    }
    int bits = 0;
    int octets = 0;
    int start = 0;
    while (start <= text.length()) {
      int dot = text.indexOf('.', start);
      int end = dot < 0 ? text.length() : dot;
      bits = (bits << 8) | parseOctet(text, start, end);
      octets++;
      if (dot < 0) {
        break;
      }
      if (octets == 4) {
        throw new IllegalArgumentException("'" + text + "' is not a dotted-quad IPv4 address");
      }
      start = dot + 1;
    }
    if (octets != 4) {
      throw new IllegalArgumentException("'" + text + "' is not a dotted-quad IPv4 address");
    }
    return new Ipv4Address(bits);
  }

  private static int parseOctet(String text, int start, int end) {
    int length = end - start;
    if (length < 1 || length > 3 || (length > 1 && text.charAt(start) == '0')) {
      throw new IllegalArgumentException("'" + text + "' is not a dotted-quad IPv4 address");
    }
    int value = 0;
    for (int i = start; i < end; i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        throw new IllegalArgumentException("'" + text + "' is not a dotted-quad IPv4 address");
      }
      value = value * 10 + (c - '0');
    }
    if (value > 255) {
      throw new IllegalArgumentException("'" + text + "' has an octet above 255");
    }
    return value;
  }

  /** Dotted-quad text of {@code bits}. */
  public static String format(int bits) {
    return (bits >>> 24) + "." + ((bits >>> 16) & 0xff) + "." + ((bits >>> 8) & 0xff) + "." + (bits & 0xff);
  }

  @Override
  public int compareTo(Ipv4Address other) {
    return Integer.compareUnsigned(bits, other.bits);
  }

  @Override
  public String toString() {
    return format(bits);
  }
}
