package io.vipfarm.api.model;

/**
 * Who holds a lease. Session ids repeat after a reboot, so the host's boot id is part of the key.
 * Acquiring the same key twice returns the same lease.
 *
 * @param program null for a session-wide lease; the program name for a dedicated per-program lease
 */
public record LeaseKey(String hostId, String bootId, String sessionId, String program) {

  /** A stable, unambiguous string form, usable as a map key. */
  public String asString() {
    return hostId + "|" + bootId + "|" + sessionId + "|" + (program == null ? "" : program);
  }
}
