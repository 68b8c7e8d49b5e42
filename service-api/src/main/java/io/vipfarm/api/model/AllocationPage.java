package io.vipfarm.api.model;

import java.nio.charset.StandardCharsets;

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
}
