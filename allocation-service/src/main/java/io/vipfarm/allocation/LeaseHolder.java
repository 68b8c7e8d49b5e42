package io.vipfarm.allocation;

import io.vipfarm.api.model.LeaseKey;

/** Who holds a lease: the twin of {@link LeaseKey} kept inside the block state. */
public record LeaseHolder(String hostId, String bootId, String sessionId, String program) {

  /**
   * Host, boot id and program repeat across a host's leases: one instance each per member (the JVM's
   * string table) instead of one per lease and copy, which is most of what a lease costs in heap. The
   * session id is unique per lease: interning it would save nothing.
   */
  public LeaseHolder {
    hostId = Names.intern(hostId);
    bootId = Names.intern(bootId);
    program = Names.intern(program);
  }

  public static LeaseHolder of(LeaseKey key) {
    return new LeaseHolder(key.hostId(), key.bootId(), key.sessionId(), key.program());
  }

  public LeaseKey toKey() {
    return new LeaseKey(hostId, bootId, sessionId, program);
  }

  @Override
  public String toString() {
    return toKey().asString();
  }
}
