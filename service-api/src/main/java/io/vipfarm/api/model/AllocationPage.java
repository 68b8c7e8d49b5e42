package io.vipfarm.api.model;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A page of allocation rows, already encoded: {@code rows} is the JSON array the gateway answers
 * with (rows of {@link AllocationRows}) as UTF-8 bytes, so a page crosses the event bus as it is and is
 * neither decoded nor encoded again on the way out. The array is the page's; nobody changes it.
 *
 * @param lastPool pool of the page's last row (null for an empty page): where the next page starts
 * @param lastAddress address of the page's last row
 * @param more whether rows follow this page
 */
public record AllocationPage(byte[] rows, int count, String lastPool, String lastAddress, boolean more) {
  /** The rows as text. */
  public String rowsText() {
    return new String(rows, StandardCharsets.UTF_8);
  }

  // a record compares and prints an array by identity: these go by the rows' content
  @Override
  public boolean equals(Object o) {
    return o instanceof AllocationPage p && Arrays.equals(rows, p.rows) && count == p.count
        && Objects.equals(lastPool, p.lastPool) && Objects.equals(lastAddress, p.lastAddress) && more == p.more;
  }

  @Override
  public int hashCode() {
    return 31 * Objects.hash(count, lastPool, lastAddress, more) + Arrays.hashCode(rows);
  }

  @Override
  public String toString() {
    return "AllocationPage[rows=" + (rows == null ? "null" : rows.length + " bytes") + ", count=" + count
        + ", lastPool=" + lastPool + ", lastAddress=" + lastAddress + ", more=" + more + "]";
  }
}
