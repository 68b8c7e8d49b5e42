package io.vipfarm.deploy.store;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.MapLoaderLifecycleSupport;
import com.hazelcast.map.MapStore;
import java.util.Collection;
import java.util.Map;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-through {@link MapStore} of one durable map. Hazelcast calls it on the member owning the
 * entry's partition, inside the write, before the write is acknowledged: so a put or remove that
 * returned (and the HTTP 2xx built on it) is on that member's disk. The new row is then published to
 * every control member ({@link DurableState#ROWS_TOPIC}), which keeps their full copies current.
 *
 * <p>It never loads: the maps start empty and {@link StateRestore} fills them through the services'
 * own validation, merging every member's copy (a MapLoader would load from the one member that happens
 * to run {@code loadAllKeys}, which holds only its own view).
 */
final class RowStore implements MapStore<String, Object>, MapLoaderLifecycleSupport {
  private static final Logger LOG = LoggerFactory.getLogger(RowStore.class);

  private final StateKind kind;
  private final StateDatabase database;
  private HazelcastInstance hazelcast;

  RowStore(StateKind kind, StateDatabase database) {
    this.kind = kind;
    this.database = database;
  }

  @Override
  public void init(HazelcastInstance hazelcastInstance, Properties properties, String mapName) {
    this.hazelcast = hazelcastInstance;
  }

  @Override
  public void destroy() {}

  @Override
  public void store(String key, Object value) {
    write(key, kind.encode(value));
  }

  @Override
  public void storeAll(Map<String, Object> map) {
    map.forEach(this::store);
  }

  @Override
  public void delete(String key) {
    write(key, null);
  }

  @Override
  public void deleteAll(Collection<String> keys) {
    keys.forEach(this::delete);
  }

  /**
   * Stores the row unless the same value is already there: a pool record also changes when a block is
   * claimed (not part of the stored definition), and a restored entry must keep its original stamp.
   */
  private void write(String key, String text) {
    StateRow.Id id = new StateRow.Id(kind.wireName(), key);
    StateRow current = database.row(id);
    if (current == null ? text == null : StateKind.sameValue(current.value(), text)) {
      return;
    }
    long now = hazelcast == null ? System.currentTimeMillis() : hazelcast.getCluster().getClusterTime();
    // strictly after the stored row, even if this member's clock is behind the one that wrote it
    StateRow row = new StateRow(kind.wireName(), key, text, Math.max(now, current == null ? 0 : current.updatedAt() + 1));
    database.offer(row);
    if (hazelcast != null) {
      hazelcast.<StateRow>getTopic(DurableState.ROWS_TOPIC).publishAsync(row).whenComplete((v, err) -> {
        if (err != null) {
          LOG.warn("could not send {} '{}' to the other members' state copies: {}", kind.wireName(), key, err.toString());
        }
      });
    }
  }

  @Override
  public Object load(String key) {
    return null;
  }

  @Override
  public Map<String, Object> loadAll(Collection<String> keys) {
    return Map.of();
  }

  @Override
  public Iterable<String> loadAllKeys() {
    return null;
  }
}
