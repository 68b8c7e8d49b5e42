package io.vipfarm.gateway;

import io.vertx.core.MultiMap;
import io.vertx.ext.web.RoutingContext;
import io.vipfarm.api.VipfarmException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Paging of every list: {@code ?limit=} (1..{@value #MAX_LIMIT}, default {@value #DEFAULT_LIMIT}) and
 * {@code ?cursor=} (opaque). The body stays a JSON array; when more follow, the response carries
 * {@code X-Next-Cursor: <cursor>} and {@code Link: <same query with cursor>; rel="next"}.
 *
 * <p>A cursor is the sort key of the last row returned (base64url), so a page starts after it even
 * when rows were added or removed in between: nothing is skipped or repeated that existed all along.
 */
final class Paging {
  static final int DEFAULT_LIMIT = 500;
  static final int MAX_LIMIT = 5000;
  static final String NEXT_CURSOR = "X-Next-Cursor";

  /** What the caller asked for: at most {@code limit} rows after the row whose key is {@code afterKey}. */
  record Request(int limit, String afterKey) {
    static Request of(RoutingContext ctx) {
      return new Request(Paging.limit(ctx), cursorKey(ctx.queryParams().get("cursor")));
    }
  }

  private Paging() {}

  static int limit(RoutingContext ctx) {
    String text = ctx.queryParams().get("limit");
    if (text == null || text.isBlank()) {
      return DEFAULT_LIMIT;
    }
    try {
      int limit = Integer.parseInt(text.trim());
      if (limit >= 1 && limit <= MAX_LIMIT) {
        return limit;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw VipfarmException.invalidField("limit", "must be an integer from 1 to " + MAX_LIMIT);
  }

  static String cursorKey(String cursor) {
    if (cursor == null || cursor.isBlank()) {
      return null;
    }
    try {
      return new String(Base64.getUrlDecoder().decode(cursor.trim()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw VipfarmException.invalidField("cursor", "is not a cursor this API returned");
    }
  }

  static String cursorOf(String key) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * One page of {@code rows} in the order of {@code key}; sets the next-page headers on the response.
   */
  static <T> List<T> page(RoutingContext ctx, Request request, List<T> rows, Function<T, String> key) {
    // each row's key is computed once (a key may cost a few allocations), then only compared
    List<Keyed<T>> sorted = new ArrayList<>(rows.size());
    for (T row : rows) {
      sorted.add(new Keyed<>(key.apply(row), row));
    }
    sorted.sort(Comparator.comparing(Keyed::key));
    int start = 0;
    if (request.afterKey() != null) {
      start = insertionPoint(sorted, request.afterKey());
    }
    int end = Math.min(sorted.size(), start + request.limit());
    List<T> page = new ArrayList<>(Math.max(0, end - start));
    for (int i = start; i < end; i++) {
      page.add(sorted.get(i).row());
    }
    if (end < sorted.size()) {
      setNext(ctx, cursorOf(sorted.get(end - 1).key()));
    }
    return page;
  }

  private record Keyed<T>(String key, T row) {}

  /** The index of the first row whose key sorts after {@code afterKey}. */
  private static <T> int insertionPoint(List<Keyed<T>> sorted, String afterKey) {
    int low = 0;
    int high = sorted.size();
    while (low < high) {
      int mid = (low + high) >>> 1;
      if (sorted.get(mid).key().compareTo(afterKey) <= 0) {
        low = mid + 1;
      } else {
        high = mid;
      }
    }
    return low;
  }

  static void setNext(RoutingContext ctx, String cursor) {
    StringBuilder link = new StringBuilder(ctx.request().path()).append('?');
    MultiMap params = ctx.queryParams();
    for (Map.Entry<String, String> param : params) {
      if (!param.getKey().equals("cursor")) {
        link.append(encode(param.getKey())).append('=').append(encode(param.getValue())).append('&');
      }
    }
    link.append("cursor=").append(cursor);
    ctx.response().putHeader(NEXT_CURSOR, cursor).putHeader("Link", "<" + link + ">; rel=\"next\"");
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
