package io.vipfarm.gateway;

import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;

/**
 * The cursor of {@code GET /api/v1/allocations}: the pool and address of the last row returned
 * ({@code pool NUL address}, inside {@link Paging}'s opaque encoding). Live leases never share a pool
 * and address, so the next page starts right after it. The service pages and encodes the rows itself
 * (see {@link AllocationPage}); the gateway only carries the cursor.
 */
final class AllocationCursor {
  private AllocationCursor() {}

  static AllocationPageRequest request(AllocationQuery query, Paging.Request page) {
    String key = page.afterKey();
    if (key == null) {
      return AllocationPageRequest.first(query, page.limit());
    }
    int nul = key.indexOf('\0');
    if (nul <= 0 || nul == key.length() - 1) {
      throw VipfarmException.invalidField("cursor", "is not a cursor this API returned");
    }
    int end = key.indexOf('\0', nul + 1);
    String address = key.substring(nul + 1, end < 0 ? key.length() : end);
    return new AllocationPageRequest(query, page.limit(), key.substring(0, nul), dotted(address));
  }

  /** The cursor key after {@code page}'s last row, or null when no rows follow. */
  static String next(AllocationPage page) {
    return page.more() && page.lastPool() != null ? page.lastPool() + "\0" + page.lastAddress() : null;
  }

  /** Cursors of earlier versions carry the address as a zero-padded number; read those too. */
  private static String dotted(String address) {
    if (address.length() != 10 || !address.chars().allMatch(Character::isDigit)) {
      return address;
    }
    long value = Long.parseLong(address);
    if (value > 0xFFFF_FFFFL) {
      return address;
    }
    return (value >>> 24) + "." + ((value >>> 16) & 255) + "." + ((value >>> 8) & 255) + "." + (value & 255);
  }
}
