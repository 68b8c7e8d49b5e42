package io.vipfarm.deploy.store;

import com.hazelcast.config.Config;
import com.hazelcast.config.ListenerConfig;
import com.hazelcast.config.MapStoreConfig;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.LifecycleEvent.LifecycleState;
import com.hazelcast.core.LifecycleListener;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a control member keep a full, durable copy of the configuration state (pools, policies, API
 * tokens, webhooks) in {@code <data-dir>/state.db}, and brings that state back after a restart.
 *
 * <ul>
 *   <li>Writes: each durable map gets a write-through {@link RowStore}, so an acknowledged change is on
 *       the disk of the member owning the entry; the row is then published on {@link #ROWS_TOPIC} and
 *       every control member adds it to its own copy (newest wins). {@link StateVerticle} also merges
 *       all copies now and then, which repairs a copy that missed a message.
 *   <li>Restart: {@link StateVerticle} merges the copies of every running member (newest wins per
 *       entry, tombstones included), hands the result to every member's copy, and applies to the
 *       cluster what differs, through the services' own validation.
 * </ul>
 */
public final class DurableState {
  private static final Logger LOG = LoggerFactory.getLogger(DurableState.class);

  /** Rows just stored by an owner, for the other members' copies. */
  static final String ROWS_TOPIC = "vipfarm.state.rows";
  /** The executor that reads and feeds members' copies during a restore. */
  static final String EXECUTOR = "vipfarm.state";
  /** Where a member's {@link StateDatabase} is found in its Hazelcast user context. */
  static final String CONTEXT_KEY = StateDatabase.class.getName();

  private DurableState() {}

  /**
   * Opens {@code <dataDir>/state.db} and wires it into {@code config}: call before creating the
   * Hazelcast instance, after the services' own map configuration. The database is closed when the
   * member shuts down.
   */
  public static StateDatabase attach(Config config, Path dataDir) {
    StateDatabase database = StateDatabase.openIn(dataDir);
    for (StateKind kind : StateKind.values()) {
      config.getMapConfig(kind.mapName()).setMapStoreConfig(new MapStoreConfig()
          .setEnabled(true)
          .setImplementation(new RowStore(kind, database))
          .setWriteDelaySeconds(0)
          .setInitialLoadMode(MapStoreConfig.InitialLoadMode.LAZY));
    }
    config.getUserContext().put(CONTEXT_KEY, database);
    LifecycleListener closer = event -> {
      if (event.getState() == LifecycleState.SHUTDOWN) {
        database.close();
      }
    };
    config.addListenerConfig(new ListenerConfig(closer));
    LOG.info("configuration state kept in {}", dataDir.resolve(StateDatabase.FILE_NAME));
    return database;
  }

  /** This member's copy, or null when it keeps none (an agent). */
  static StateDatabase of(HazelcastInstance hazelcast) {
    return (StateDatabase) hazelcast.getUserContext().get(CONTEXT_KEY);
  }
}
