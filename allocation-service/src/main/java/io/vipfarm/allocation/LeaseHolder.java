package io.vipfarm.allocation;

import io.vipfarm.api.model.LeaseKey;

/** Who holds a lease: the twin of {@link LeaseKey} kept inside the block state. */
public record LeaseHolder(String hostId, String bootId, String sessionId, String program) {

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
