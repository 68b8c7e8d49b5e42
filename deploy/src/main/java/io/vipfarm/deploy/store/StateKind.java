package io.vipfarm.deploy.store;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.allocation.AllocationMaps;
import io.vipfarm.allocation.PoolRecord;
import io.vipfarm.api.model.PoolSpec;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The Hazelcast maps whose entries are kept durable, and how an entry becomes the JSON text of its
 * {@link StateRow}. Leases, blocks, events, audit history and webhook delivery status are not here on
 * purpose: agents re-acquire or reclaim their leases after a restart, and the rest is history.
 */
public enum StateKind {
  /** {@link AllocationMaps#POOLS}: only the definition is kept; blocks are created again on demand. */
  POOL("pool", AllocationMaps.POOLS),
  /** The policy service's map (HazelcastPolicyService.MAP_NAME, package-private there): name to document JSON. */
  POLICY("policy", "vipfarm.policies"),
  /** The gateway's API tokens (Tokens.MAP): id to JSON holding only the secret's SHA-256. */
  TOKEN("token", "vipfarm-tokens"),
  /** The gateway's webhooks (Webhooks.MAP): id to JSON with URL, types and signing secret. */
  WEBHOOK("webhook", "vipfarm-webhooks");

  private final String wireName;
  private final String mapName;

  StateKind(String wireName, String mapName) {
    this.wireName = wireName;
    this.mapName = mapName;
  }

  public String wireName() {
    return wireName;
  }

  public String mapName() {
    return mapName;
  }

  public static StateKind ofWireName(String name) {
    for (StateKind kind : values()) {
      if (kind.wireName.equals(name)) {
        return kind;
      }
    }
    throw new IllegalArgumentException("unknown state kind '" + name + "'");
  }

  /** The stored text of a value of this kind's map. */
  public String encode(Object value) {
    if (this == POOL) {
      return poolText(((PoolRecord) value).definition().spec());
    }
    return (String) value;
  }

  /** A pool spec as JSON with its reservations sorted, so that equal specs have equal text on every member. */
  static String poolText(PoolSpec spec) {
    return new JsonObject()
        .put("name", spec.name())
        .put("cidr", spec.cidr())
        .put("exclude", new JsonArray(spec.exclude()))
        .put("reservations", new JsonObject(new TreeMap<String, Object>(spec.reservations())))
        .put("leaseSeconds", spec.leaseSeconds())
        .encode();
  }

  /** Whether two stored texts (null: absent or deleted) mean the same entry, whatever their field order. */
  public static boolean sameValue(String a, String b) {
    if (a == null || b == null) {
      return Objects.equals(a, b);
    }
    return a.equals(b) || new JsonObject(a).equals(new JsonObject(b));
  }
}
