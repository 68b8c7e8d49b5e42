package io.vipfarm.api.model;

/**
 * A page of allocation rows, already encoded: {@code rows} is the JSON array the gateway answers
 * with (rows of {@link AllocationRows}), so a page crosses the event bus as one string and is neither
 * decoded nor encoded again on the way out.
 *
 * @param lastPool pool of the page's last row (null for an empty page): where the next page starts
 * @param lastAddress address of the page's last row
 * @param more whether rows follow this page
 */
public record AllocationPage(String rows, int count, String lastPool, String lastAddress, boolean more) {}
