package io.vipfarm.deploy.store;

import java.io.Serializable;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * One entry of the durable configuration copy: a pool, policy, token or webhook as JSON text, or a
 * tombstone ({@code value == null}) saying it was deleted, with the time it was written.
 *
 * <p>Serializable: rows travel between control members (Hazelcast topic and executor tasks).
 *
 * @param kind what the entry is ({@link StateKind#wireName()})
 * @param key the entry's key in its Hazelcast map (pool name, policy name, token or webhook id)
 * @param value the JSON text, or null for a tombstone
 * @param updatedAt epoch millis (Hazelcast cluster time) of the write, stamped once by the member that
 *     stored it; every copy of the row carries the same stamp
 */
public record StateRow(String kind, String key, String value, long updatedAt) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Identifies a row: kind and key. */
  public record Id(String kind, String key) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  public Id id() {
    return new Id(kind, key);
  }

  public boolean isTombstone() {
    return value == null;
  }

  /**
   * Whether this row replaces {@code other} (the same id) under newest-wins: a later stamp wins; on an
   * equal stamp a tombstone wins, then the larger text, so that every member picks the same row.
   */
  public boolean supersedes(StateRow other) {
    if (other == null) {
      return true;
    }
    if (updatedAt != other.updatedAt) {
      return updatedAt > other.updatedAt;
    }
    if (isTombstone() || other.isTombstone()) {
      return isTombstone() && !other.isTombstone();
    }
    return value.compareTo(other.value) > 0;
  }

  /** The newest row of each id among {@code rows}. */
  public static Map<Id, StateRow> newest(Collection<StateRow> rows) {
    Map<Id, StateRow> out = new HashMap<>();
    for (StateRow row : rows) {
      out.merge(row.id(), row, (a, b) -> b.supersedes(a) ? b : a);
    }
    return out;
  }
}
