package io.vipfarm.allocation;

/**
 * Names that repeat across many leases (host ids, boot ids, programs, users), kept once per member.
 * Every lease is held as objects on two members (primary and backup), and its block entry and key
 * index entry each carry these names: without sharing, a few short strings per lease were most of the
 * heap that 100,000 leases cost.
 */
final class Names {
  private Names() {}

  /** The member-wide instance of {@code name} (the JVM's string table, which drops unused ones), or null. */
  static String intern(String name) {
    return name == null ? null : name.intern();
  }
}
