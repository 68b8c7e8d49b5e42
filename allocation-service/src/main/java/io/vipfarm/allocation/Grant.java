package io.vipfarm.allocation;

import java.io.Serializable;

/**
 * The result of an acquire.
 *
 * @param renewed true when the key already held a live lease and got it back, extended
 */
public record Grant(HeldLease lease, boolean renewed) implements Serializable {}
