package io.vipfarm.allocation;


/**
 * An IPv4 network: a base address whose host bits are zero and a prefix length 0..32. Addresses in it
 * are numbered by <em>ordinal</em>, 0 for the base up to {@code size() - 1} for the last address.
 */
public record Ipv4Cidr(int base, int prefix) {

  public Ipv4Cidr {
    if (prefix < 0 || prefix > 32) {
      throw new IllegalArgumentException("prefix length " + prefix + " is outside 0..32");
    }
    if ((base & ~mask(prefix)) != 0) {
      throw new IllegalArgumentException("host bits are set in " + Ipv4Address.format(base) + "/" + prefix);
    }
  }

  /**
   * Reads {@code a.b.c.d/p}. The host bits must be zero: {@code 127.100.0.5/24} is refused with a hint
   * naming {@code 127.100.0.0/24}, since silently widening it would hand out addresses the admin did
   * not name.
   *
   * @throws IllegalArgumentException with a message fit for an INVALID_FIELD detail
   */
  public static Ipv4Cidr parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("a CIDR such as 127.100.0.0/24 is required");
    }
    int slash = text.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("'" + text + "' has no prefix length (expected a.b.c.d/p)");
    }
    Ipv4Address address = Ipv4Address.parse(text.substring(0, slash));
    String prefixText = text.substring(slash + 1);
    if (!prefixText.matches("[0-9]{1,2}")) {
      throw new IllegalArgumentException("'" + text + "' has no valid prefix length");
    }
    int prefix = Integer.parseInt(prefixText);
    if (prefix > 32) {
      throw new IllegalArgumentException("'" + text + "' has a prefix length above 32");
    }
    int network = address.bits() & mask(prefix);
    if (network != address.bits()) {
      throw new IllegalArgumentException("'" + text + "' has host bits set; did you mean "
          + Ipv4Address.format(network) + "/" + prefix + "?");
    }
    return new Ipv4Cidr(network, prefix);
  }

  /** Reads either an address (as a /32) or a CIDR. */
  public static Ipv4Cidr parseAddressOrCidr(String text) {
    if (text != null && text.indexOf('/') < 0) {
      return new Ipv4Cidr(Ipv4Address.parse(text).bits(), 32);
    }
    return parse(text);
  }

  static int mask(int prefix) {
    return prefix == 0 ? 0 : -1 << (32 - prefix);
  }

  /** Number of addresses, 1 (/32) to 2^32 (/0). */
  public long size() {
    return 1L << (32 - prefix);
  }

  public boolean contains(int address) {
    return (address & mask(prefix)) == base;
  }

  public boolean contains(Ipv4Cidr other) {
    return other.prefix >= prefix && contains(other.base);
  }

  /** Two CIDRs overlap exactly when one contains the other. */
  public boolean overlaps(Ipv4Cidr other) {
    return contains(other) || other.contains(this);
  }

  /** The address with {@code ordinal} (0 = base). */
  public int addressAt(long ordinal) {
    if (ordinal < 0 || ordinal >= size()) {
      throw new IndexOutOfBoundsException("ordinal " + ordinal + " outside " + this);
    }
    return base + (int) ordinal;
  }

  /** The ordinal of {@code address}, which must be inside. */
  public long ordinalOf(int address) {
    if (!contains(address)) {
      throw new IllegalArgumentException(Ipv4Address.format(address) + " is not inside " + this);
    }
    return Integer.toUnsignedLong(address) - Integer.toUnsignedLong(base);
  }

  /** Ordinal of the first address of {@code inner}, which must be inside. */
  public long firstOrdinalOf(Ipv4Cidr inner) {
    return ordinalOf(inner.base);
  }

  @Override
  public String toString() {
    return Ipv4Address.format(base) + "/" + prefix;
  }
}
