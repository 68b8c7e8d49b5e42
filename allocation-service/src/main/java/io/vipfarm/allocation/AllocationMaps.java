package io.vipfarm.allocation;

import com.hazelcast.config.Config;
import com.hazelcast.config.InMemoryFormat;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionOn;

/**
 * The Hazelcast structures of the allocation service, named in one place.
 *
 * <ul>
 *   <li>{@link #POOLS}: pool name to its {@link PoolRecord} (definition, claimed blocks, admin state).
 *   <li>{@link #BLOCKS}: {@link BlockKey} to {@link AddressBlock}, 64 addresses and their leases each;
 *       the lease path works here, one entry processor per acquire on the block's partition.
 *   <li>{@link #LEASE_INDEX}: host to its lease keys, and for each where its lease is and whose it is
 *       ({@link LeaseIndex.HostEntries}): a host's allocations are one entry. Its values change in
 *       place on their partition threads, so it is read by entry processors only, never by a query.
 *   <li>{@link #LAST_ADDRESS}: pool and user to the address the user last gave back,
 *       released or expired (stickiness, a hint).
 *   <li>{@link #ADMIN_LOCKS}: only a lock key, taken around pool creation, redefinition and deletion.
 * </ul>
 */
public final class AllocationMaps {
  private AllocationMaps() {}

  public static final String POOLS = "vipfarm.allocation.pools";
  public static final String BLOCKS = "vipfarm.allocation.blocks";
  public static final String LEASE_INDEX = "vipfarm.allocation.lease-index";
  public static final String LAST_ADDRESS = "vipfarm.allocation.last-address";
  public static final String ADMIN_LOCKS = "vipfarm.allocation.admin-locks";
  /** The split-brain protection of the lease structures. */
  public static final String QUORUM = "vipfarm.allocation.quorum";
  /** Config property holding the expected number of control members (for the no-quorum message). */
  public static final String EXPECTED_MEMBERS_PROPERTY = "vipfarm.allocation.expected-members";
  /** The one key of {@link #ADMIN_LOCKS}. */
  static final String POOL_DEFINITIONS_LOCK = "pool-definitions";

  /** {@link #configure(Config, int)} for a single member. */
  public static Config configure(Config config) {
    return configure(config, 1);
  }

  /**
   * Adds what the service relies on to {@code config}; call it before creating the Hazelcast instance.
   *
   * <ul>
   *   <li>The serialization factory of the allocation classes ({@link AllocationSerialization}).
   *   <li>Pools, blocks and the index keep values as objects (an entry processor then works on the block
   *       in place instead of deserializing and serializing it on every acquire) with one synchronous
   *       backup, so a granted lease survives the loss of one member.
   *   <li>Split-brain protection: these maps refuse reads and writes on a side of the cluster with fewer
   *       than a majority of {@code expectedMembers} members, so a minority side can never grant an
   *       address the majority also grants. With 1 expected member there is no protection: one member
   *       cannot be split.
   *   <li>Partition threads: one per two cores (at least one) unless set otherwise, see
   *       {@link #partitionThreads(Config)}.
   * </ul>
   *
   * @param expectedMembers how many control members the farm runs (3 to 5 in a farm)
   */
  public static Config configure(Config config, int expectedMembers) {
    if (expectedMembers < 1) {
      throw new IllegalArgumentException("expected members must be at least 1, got " + expectedMembers);
    }
    AllocationSerialization.register(config.getSerializationConfig());
    boolean protect = expectedMembers > 1;
    if (protect) {
      config.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig(QUORUM, true, quorumOf(expectedMembers))
          .setProtectOn(SplitBrainProtectionOn.READ_WRITE));
    }
    config.setProperty(EXPECTED_MEMBERS_PROPERTY, Integer.toString(expectedMembers));
    if (protect) {
      // a write whose synchronous backup is not acknowledged in time (its backup member was cut off)
      // fails instead of succeeding: otherwise a grant made just after a cut, before the split is
      // detected, is acknowledged, then lost when the heal merges the sides, and the address is
      // granted again (seen in AllocationSplitBrainIT once acquires got faster)
      config.setProperty("hazelcast.operation.fail.on.indeterminate.state", "true");
    }
    for (String name : new String[] {POOLS, BLOCKS, LEASE_INDEX}) {
      config.addMapConfig(new MapConfig(name)
          .setInMemoryFormat(InMemoryFormat.OBJECT)
          .setBackupCount(1)
          .setAsyncBackupCount(0)
          .setReadBackupData(false)
          .setSplitBrainProtectionName(protect ? QUORUM : null));
    }
    // a hint only: binary, one async backup, no protection needed
    config.addMapConfig(new MapConfig(LAST_ADDRESS).setBackupCount(0).setAsyncBackupCount(1));
    partitionThreads(config);
    return config;
  }

  /** Hazelcast's property for the number of partition operation threads of a member. */
  public static final String PARTITION_THREADS_PROPERTY = "hazelcast.operation.thread.count";

  /**
   * Hazelcast runs one partition thread per core by default. Here every partition operation is a short
   * entry processor (a grant or a bind is microseconds) sent by an event loop of the same process, and
   * the event loops (two per core) do most of an acquire's work: a thread per core for the operations
   * only adds wake-ups and hand-offs between threads competing for the same cores. Measured with
   * `vipfarm bench allocate --members 1 --rate 12000` on 2 cores: one thread gave the lower p99 in 10
   * of 11 pairs; with three members it was mixed, lower in 4 of 10 (docs/benchmarks.md, Allocation,
   * 2026-12-04 22:24). An operator's setting, in the config or as a system property, is kept.
   */
  static void partitionThreads(Config config) {
    partitionThreads(config, System.getProperty(PARTITION_THREADS_PROPERTY), Runtime.getRuntime().availableProcessors());
  }

  /** {@link #partitionThreads(Config)} with the system property and the core count given (a test sets neither). */
  static void partitionThreads(Config config, String systemProperty, int cores) {
    if (config.getProperty(PARTITION_THREADS_PROPERTY) == null && systemProperty == null) {
      config.setProperty(PARTITION_THREADS_PROPERTY, Integer.toString(Math.max(1, cores / 2)));
    }
  }

  /** The majority of {@code expectedMembers}: the smallest side allowed to allocate. */
  public static int quorumOf(int expectedMembers) {
    return expectedMembers / 2 + 1;
  }
}
