package io.vipfarm.api.model;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The rows of {@code GET /api/v1/allocations} (design.md §6):
 * {@code {"address","pool","host","sessionId","program","user","expiresAt"}}, nulls kept, expiresAt
 * ISO-8601 UTC, ordered by pool name, then address numerically. Written by hand as UTF-8 bytes
 * ({@link JsonBytes}): a host's page is hundreds of rows, and this runs for every one of them.
 */
public final class AllocationRows {
  private AllocationRows() {}

  private static final byte[] ADDRESS = ascii("{\"address\":");
  private static final byte[] POOL = ascii(",\"pool\":");
  private static final byte[] HOST = ascii(",\"host\":");
  private static final byte[] SESSION = ascii(",\"sessionId\":");
  private static final byte[] PROGRAM = ascii(",\"program\":");
  private static final byte[] USER = ascii(",\"user\":");
  private static final byte[] EXPIRES = ascii(",\"expiresAt\":\"");
  private static final byte[] END = ascii("\"}");

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** Appends one row (a JSON object) to {@code out}. */
  public static void append(JsonBytes out, String address, String pool, String host, String sessionId,
      String program, String user, long expiresAt) {
    out.raw(ADDRESS).string(address)
        .raw(POOL).string(pool)
        .raw(HOST).string(host)
        .raw(SESSION).string(sessionId)
        .raw(PROGRAM).string(program)
        .raw(USER).string(user)
        .raw(EXPIRES);
    instant(out, expiresAt);
    out.raw(END);
  }

  /**
   * Appends the epoch milliseconds as {@link Instant#toString()} writes them ({@code
   * 2026-12-02T19:52:16.600Z}, no fraction on a whole second), without its formatter: this runs for
   * every row. Years outside 0000-9999 go through {@code Instant}.
   */
  static void instant(JsonBytes out, long epochMilli) {
    long seconds = Math.floorDiv(epochMilli, 1000);
    int millis = (int) Math.floorMod(epochMilli, 1000);
    long days = Math.floorDiv(seconds, 86_400);
    int secondOfDay = (int) Math.floorMod(seconds, 86_400);
    // civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse)
    long z = days + 719_468;
    long era = Math.floorDiv(z, 146_097);
    long dayOfEra = z - era * 146_097;
    long yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
    long dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
    long mp = (5 * dayOfYear + 2) / 153;
    int day = (int) (dayOfYear - (153 * mp + 2) / 5 + 1);
    int month = (int) (mp < 10 ? mp + 3 : mp - 9);
    long year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 0 || year > 9999) {
      out.ascii(Instant.ofEpochMilli(epochMilli).toString());
      return;
    }
    out.digits((int) year, 4).ascii('-')
        .digits(month, 2).ascii('-')
        .digits(day, 2).ascii('T')
        .digits(secondOfDay / 3600, 2).ascii(':')
        .digits(secondOfDay / 60 % 60, 2).ascii(':')
        .digits(secondOfDay % 60, 2);
    if (millis != 0) {
      out.ascii('.').digits(millis, 3);
    }
    out.ascii('Z');
  }

  /**
   * The order of an address within a pool: the IPv4 address as an unsigned number; text that is not
   * an IPv4 address sorts after every address (it never is one in a pool, but a cursor could be).
   */
  public static long addressOrder(String address) {
    if (address == null) {
      return -1;
    }
    long value = 0;
    int octets = 0;
    int octet = -1;
    for (int i = 0; i <= address.length(); i++) {
      char c = i < address.length() ? address.charAt(i) : '.';
      if (c == '.') {
        if (octet < 0 || octet > 255) {
          return Long.MAX_VALUE;
        }
        value = value << 8 | octet;
        octets++;
        octet = -1;
      } else if (c >= '0' && c <= '9') {
        octet = (octet < 0 ? 0 : octet * 10) + (c - '0');
        if (octet > 255) {
          return Long.MAX_VALUE;
        }
      } else {
        return Long.MAX_VALUE;
      }
    }
    return octets == 4 ? value : Long.MAX_VALUE;
  }

  /**
   * A page of {@code leases} (in any order; filtered already) after the request's position. For
   * allocation services that hold every matching lease in hand anyway; the Hazelcast service reads
   * only the blocks a page needs instead.
   */
  public static AllocationPage page(List<Lease> leases, AllocationPageRequest request) {
    Comparator<Lease> order = Comparator.comparing(Lease::pool).thenComparingLong(l -> addressOrder(l.address()));
    List<Lease> sorted = new ArrayList<>(leases);
    sorted.sort(order);
    JsonBytes out = new JsonBytes(64 + 170 * Math.min(sorted.size(), request.limit())).ascii('[');
    int count = 0;
    Lease last = null;
    boolean more = false;
    for (Lease lease : sorted) {
      if (!after(lease.pool(), addressOrder(lease.address()), request)) {
        continue;
      }
      if (count == request.limit()) {
        more = true;
        break;
      }
      if (count > 0) {
        out.ascii(',');
      }
      LeaseKey key = lease.key();
      append(out, lease.address(), lease.pool(), key.hostId(), key.sessionId(), key.program(), lease.user(),
          lease.expiresAt());
      count++;
      last = lease;
    }
    out.ascii(']');
    return new AllocationPage(out.toByteArray(), count, last == null ? null : last.pool(),
        last == null ? null : last.address(), more);
  }

  /** Whether the lease at ({@code pool}, {@code address}) sorts after the request's position. */
  public static boolean after(String pool, long address, AllocationPageRequest request) {
    if (request.afterPool() == null) {
      return true;
    }
    int byPool = pool.compareTo(request.afterPool());
    return byPool > 0 || (byPool == 0 && address > addressOrder(request.afterAddress()));
  }
}
