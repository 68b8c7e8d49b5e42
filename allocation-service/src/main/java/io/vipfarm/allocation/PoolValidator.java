package io.vipfarm.allocation;

import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Checks a pool spec whole and turns it into a {@link PoolDefinition}. Fields are checked in document
 * order (name, cidr, exclude, reservations, leaseSeconds) and the first problem is thrown as
 * {@link VipfarmException#invalidField} naming the field: {@code exclude[2]}, {@code reservations.alice}.
 * Reservations are checked in user-name order so the same bad spec always names the same field.
 */
public final class PoolValidator {
  private PoolValidator() {}

  public static final int MIN_PREFIX = 8;
  public static final int MAX_PREFIX = 32;
  public static final int MIN_LEASE_SECONDS = 10;
  public static final int MAX_LEASE_SECONDS = 86_400;
  /** Most exclusions and reservations in one pool, so a definition stays small enough to replicate. */
  public static final int MAX_LIST_ENTRIES = 4096;

  /** @throws VipfarmException INVALID_FIELD for the first problem found */
  public static PoolDefinition validate(PoolSpec spec) {
    if (spec == null) {
      throw VipfarmException.invalidField("body", "a pool definition is required");
    }
    checkName("name", spec.name());
    Ipv4Cidr cidr = parseCidr(spec.cidr());
    List<OrdinalRanges.Range> blocked = new ArrayList<>();
    if (cidr.prefix() <= 30) {
      blocked.add(new OrdinalRanges.Range(0, 0));
      blocked.add(new OrdinalRanges.Range(cidr.size() - 1, cidr.size() - 1));
    }
    if (spec.exclude().size() > MAX_LIST_ENTRIES) {
      throw VipfarmException.invalidField("exclude", "at most " + MAX_LIST_ENTRIES + " entries");
    }
    for (int i = 0; i < spec.exclude().size(); i++) {
      blocked.add(parseExclusion("exclude[" + i + "]", spec.exclude().get(i), cidr));
    }
    OrdinalRanges blockedRanges = OrdinalRanges.of(blocked);
    if (spec.reservations().size() > MAX_LIST_ENTRIES) {
      throw VipfarmException.invalidField("reservations", "at most " + MAX_LIST_ENTRIES + " entries");
    }
    Map<String, Integer> addressByUser = new HashMap<>();
    Map<Integer, String> userByAddress = new HashMap<>();
    for (Map.Entry<String, String> r : new TreeMap<>(spec.reservations()).entrySet()) {
      String field = "reservations." + r.getKey();
      if (r.getKey().isBlank()) {
        throw VipfarmException.invalidField(field, "a user name is required");
      }
      int address = parseReservedAddress(field, r.getValue(), cidr, blockedRanges);
      String other = userByAddress.putIfAbsent(address, r.getKey());
      if (other != null) {
        throw VipfarmException.invalidField(field, r.getValue() + " is already reserved for '" + other + "'");
      }
      addressByUser.put(r.getKey(), address);
    }
    int leaseSeconds = checkLeaseSeconds(spec.leaseSeconds());
    return new PoolDefinition(spec.name(), cidr, spec.exclude(), spec.reservations(), leaseSeconds,
        blockedRanges, addressByUser, userByAddress);
  }

  /** @throws VipfarmException INVALID_FIELD unless {@code name} is a valid pool name */
  public static void checkName(String field, String name) {
    if (name == null || name.isEmpty()) {
      throw VipfarmException.invalidField(field, "a pool name is required");
    }
    if (!isName(name)) {
      throw VipfarmException.invalidField(field,
          "must be 1 to 63 characters of letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  /** [A-Za-z0-9][A-Za-z0-9._-]{0,62}, without a regex Matcher: every acquire names its pool. */
  private static boolean isName(String name) {
    if (name.length() > 63) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
        return false;
      }
    }
    return true;
  }

  private static Ipv4Cidr parseCidr(String text) {
    Ipv4Cidr cidr;
    try {
      cidr = Ipv4Cidr.parse(text);
    } catch (IllegalArgumentException e) {
      throw VipfarmException.invalidField("cidr", e.getMessage());
    }
    if (cidr.prefix() < MIN_PREFIX || cidr.prefix() > MAX_PREFIX) {
      throw VipfarmException.invalidField("cidr",
          "prefix length must be /" + MIN_PREFIX + " to /" + MAX_PREFIX + ", got /" + cidr.prefix());
    }
    return cidr;
  }

  private static OrdinalRanges.Range parseExclusion(String field, String text, Ipv4Cidr pool) {
    Ipv4Cidr excluded;
    try {
      excluded = Ipv4Cidr.parseAddressOrCidr(text);
    } catch (IllegalArgumentException e) {
      throw VipfarmException.invalidField(field, e.getMessage());
    }
    if (!pool.contains(excluded)) {
      throw VipfarmException.invalidField(field, excluded + " is not inside the pool's " + pool);
    }
    long first = pool.firstOrdinalOf(excluded);
    return new OrdinalRanges.Range(first, first + excluded.size() - 1);
  }

  private static int parseReservedAddress(String field, String text, Ipv4Cidr pool, OrdinalRanges blocked) {
    int address;
    try {
      address = Ipv4Address.parse(text).bits();
    } catch (IllegalArgumentException e) {
      throw VipfarmException.invalidField(field, e.getMessage());
    }
    if (!pool.contains(address)) {
      throw VipfarmException.invalidField(field, text + " is not inside the pool's " + pool);
    }
    if (blocked.contains(pool.ordinalOf(address))) {
      throw VipfarmException.invalidField(field,
          text + " is excluded or is the network/broadcast address, so it cannot be reserved");
    }
    return address;
  }

  private static int checkLeaseSeconds(int leaseSeconds) {
    if (leaseSeconds == 0) {
      return PoolSpec.DEFAULT_LEASE_SECONDS;
    }
    if (leaseSeconds < MIN_LEASE_SECONDS || leaseSeconds > MAX_LEASE_SECONDS) {
      throw VipfarmException.invalidField("leaseSeconds",
          "must be " + MIN_LEASE_SECONDS + " to " + MAX_LEASE_SECONDS + " (or 0 for the default "
              + PoolSpec.DEFAULT_LEASE_SECONDS + "), got " + leaseSeconds);
    }
    return leaseSeconds;
  }
}
