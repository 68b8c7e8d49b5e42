package io.vipfarm.api.model;

import java.util.Map;

/**
 * An event of design.md §5. {@code id} is cluster-wide and increasing (assigned by the event log);
 * a submitted event carries id 0 until then.
 */
public record VipfarmEvent(
    long id, String type, long timestamp, String hostId, String sessionId, Map<String, Object> data) {

  public static final String SESSION_STARTED = "session.started";
  public static final String SESSION_ENDED = "session.ended";
  public static final String LEASE_GRANTED = "lease.granted";
  public static final String LEASE_RENEWED = "lease.renewed";
  public static final String LEASE_RELEASED = "lease.released";
  public static final String LEASE_EXPIRED = "lease.expired";
  public static final String HOST_JOINED = "host.joined";
  public static final String HOST_LEFT = "host.left";
  public static final String POLICY_CHANGED = "policy.changed";
  public static final String POOL_EXHAUSTED = "pool.exhausted";

  public VipfarmEvent {
    data = data == null ? Map.of() : Map.copyOf(data);
  }

  public static VipfarmEvent submit(String type, String hostId, String sessionId, Map<String, Object> data) {
    return new VipfarmEvent(0, type, System.currentTimeMillis(), hostId, sessionId, data);
  }

  public VipfarmEvent withId(long newId) {
    return new VipfarmEvent(newId, type, timestamp, hostId, sessionId, data);
  }
}
