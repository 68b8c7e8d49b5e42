package io.vipfarm.allocation;

import io.vipfarm.api.model.VipfarmEvent;
import java.util.LinkedHashMap;
import java.util.Map;

/** The events of design.md §5 that the allocation service emits, built from its own records. */
final class LeaseEvents {
  private LeaseEvents() {}

  /** {@code lease.granted}, {@code lease.renewed}, {@code lease.released} or {@code lease.expired}. */
  static VipfarmEvent lease(String type, String pool, HeldLease lease) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("pool", pool);
    data.put("address", lease.addressText());
    data.put("fence", lease.fence());
    data.put("expiresAt", lease.expiresAt());
    data.put("bootId", lease.holder().bootId());
    putIfPresent(data, "user", lease.user());
    putIfPresent(data, "program", lease.holder().program());
    return VipfarmEvent.submit(type, lease.holder().hostId(), lease.holder().sessionId(), data);
  }

  /** {@code pool.exhausted}: who asked and did not get an address. */
  static VipfarmEvent poolExhausted(String pool, LeaseHolder holder, String user) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("pool", pool);
    data.put("bootId", holder.bootId());
    putIfPresent(data, "user", user);
    putIfPresent(data, "program", holder.program());
    return VipfarmEvent.submit(VipfarmEvent.POOL_EXHAUSTED, holder.hostId(), holder.sessionId(), data);
  }

  private static void putIfPresent(Map<String, Object> data, String key, Object value) {
    if (value != null) {
      data.put(key, value);
    }
  }
}
