package io.vipfarm.allocation;

import io.vipfarm.api.model.LeaseKey;
import java.io.Serializable;

/** Who holds a lease: the serializable twin of {@link LeaseKey} kept inside the pool state. */
public record LeaseHolder(String hostId, String bootId, String sessionId, String program) implements Serializable {

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
