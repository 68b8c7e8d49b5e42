package io.vipfarm.api.model;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The rows of {@code GET /api/v1/allocations} (design.md §6):
 * {@code {"address","pool","host","sessionId","program","user","expiresAt"}}, nulls kept, expiresAt
 * ISO-8601 UTC, ordered by pool name, then address numerically. Written by hand into one string: a
 * host's page is hundreds of rows, and this runs for every one of them.
 */
public final class AllocationRows {
  private AllocationRows() {}

  /** Appends one row (a JSON object) to {@code out}. */
  public static void append(StringBuilder out, String address, String pool, String host, String sessionId,
      String program, String user, long expiresAt) {
    out.append("{\"address\":");
    string(out, address);
    out.append(",\"pool\":");
    string(out, pool);
    out.append(",\"host\":");
    string(out, host);
    out.append(",\"sessionId\":");
    string(out, sessionId);
    out.append(",\"program\":");
    string(out, program);
    out.append(",\"user\":");
    string(out, user);
    out.append(",\"expiresAt\":\"").append(Instant.ofEpochMilli(expiresAt)).append("\"}");
  }

  /** A JSON string literal (or null): quotes, backslashes and control characters escaped. */
  static void string(StringBuilder out, String value) {
    if (value == null) {
      out.append("null");
      return;
    }
    out.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
      } else {
        out.append(c);
      }
    }
    out.append('"');
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
    StringBuilder out = new StringBuilder(64 + 160 * Math.min(sorted.size(), request.limit())).append('[');
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
        out.append(',');
      }
      LeaseKey key = lease.key();
      append(out, lease.address(), lease.pool(), key.hostId(), key.sessionId(), key.program(), lease.user(),
          lease.expiresAt());
      count++;
      last = lease;
    }
    out.append(']');
    return new AllocationPage(out.toString(), count, last == null ? null : last.pool(),
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
