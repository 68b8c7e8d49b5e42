package io.vipfarm.allocation;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.MapConfig;

/**
 * The Hazelcast structures of the allocation service, named in one place.
 *
 * <ul>
 *   <li>{@link #POOLS}: pool name to {@link PoolLeases}, the definition and every lease of the pool in
 *       one entry. All changes are entry processors on the entry's partition, so they are atomic
 *       without any lock, and applied to the backup replica deterministically.
 *   <li>{@link #ADMIN_LOCKS}: only a lock key, taken around pool creation and redefinition so that the
 *       cluster-wide overlap check and the write cannot interleave with another pool's.
 * </ul>
 */
public final class AllocationMaps {
  private AllocationMaps() {}

  public static final String POOLS = "vipfarm.allocation.pools";
  public static final String ADMIN_LOCKS = "vipfarm.allocation.admin-locks";
  /** The one key of {@link #ADMIN_LOCKS}. */
  static final String POOL_DEFINITIONS_LOCK = "pool-definitions";

  /**
   * Adds the map settings the service relies on to {@code config}; call it before creating the
   * Hazelcast instance. {@link #POOLS} keeps values as objects (an entry processor then works on the
   * pool state in place instead of deserializing and serializing it on every acquire) with one
   * synchronous backup, so a granted lease survives the loss of one member. Without this call the
   * service still works correctly, only slower (binary format, Hazelcast's default single backup).
   */
  public static Config configure(Config config) {
    config.addMapConfig(new MapConfig(POOLS)
        .setInMemoryFormat(InMemoryFormat.OBJECT)
        .setBackupCount(1)
        .setAsyncBackupCount(0)
        .setReadBackupData(false));
    return config;
  }
}
