package io.vipfarm.allocation;

import java.io.Serializable;

/**
 * The result of a release.
 *
 * @param lease the lease that was released, or that had already expired; null when the key held nothing
 * @param released false when there was nothing live to release (skipped, not an error)
 */
public record Release(HeldLease lease, boolean released) implements Serializable {}
