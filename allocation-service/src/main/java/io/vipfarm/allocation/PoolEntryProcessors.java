package io.vipfarm.allocation;

import com.hazelcast.core.ReadOnly;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.projection.Projection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The operations on a {@link AllocationMaps#POOLS} entry, each a small serializable processor that
 * carries its arguments (including {@code now}, so the backup replica, which runs the same processor,
 * computes the same result) and delegates to {@link PoolLeases}. A processor returns null when the
 * pool does not exist and writes the entry back only when something changed.
 */
final class PoolEntryProcessors {
  private PoolEntryProcessors() {}

  /** Creates the pool, or redefines it when it exists. */
  static final class DefinePool implements EntryProcessor<String, PoolLeases, Change<PoolSnapshot>> {
    private static final long serialVersionUID = 1L;
    private final PoolDefinition definition;
    private final long now;

    DefinePool(PoolDefinition definition, long now) {
      this.definition = definition;
      this.now = now;
    }

    @Override
    public Change<PoolSnapshot> process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      if (pool == null) {
        PoolLeases created = PoolLeases.create(definition, now);
        entry.setValue(created);
        return Change.ok(created.snapshot(now), List.of());
      }
      Change<PoolSnapshot> change = pool.redefine(definition, now);
      if (change.succeeded() || !change.expired().isEmpty()) {
        entry.setValue(pool);
      }
      return change;
    }
  }

  /** Removes the pool unless it has live leases. */
  static final class RetirePool implements EntryProcessor<String, PoolLeases, Change<PoolSnapshot>> {
    private static final long serialVersionUID = 1L;
    private final long now;

    RetirePool(long now) {
      this.now = now;
    }

    @Override
    public Change<PoolSnapshot> process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      if (pool == null) {
        return null;
      }
      Change<PoolSnapshot> change = pool.retire(now);
      if (change.succeeded()) {
        entry.setValue(null);
      } else if (!change.expired().isEmpty()) {
        entry.setValue(pool);
      }
      return change;
    }
  }

  static final class AcquireLease implements EntryProcessor<String, PoolLeases, Change<Grant>> {
    private static final long serialVersionUID = 1L;
    private final LeaseHolder holder;
    private final String user;
    private final long now;

    AcquireLease(LeaseHolder holder, String user, long now) {
      this.holder = holder;
      this.user = user;
      this.now = now;
    }

    @Override
    public Change<Grant> process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      if (pool == null) {
        return null;
      }
      Change<Grant> change = pool.acquire(holder, user, now);
      // always written back: even a refused acquire may have moved the fresh cursor past used addresses
      entry.setValue(pool);
      return change;
    }
  }

  static final class RenewLease implements EntryProcessor<String, PoolLeases, Change<HeldLease>> {
    private static final long serialVersionUID = 1L;
    private final LeaseHolder holder;
    private final long fence;
    private final long now;

    RenewLease(LeaseHolder holder, long fence, long now) {
      this.holder = holder;
      this.fence = fence;
      this.now = now;
    }

    @Override
    public Change<HeldLease> process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      if (pool == null) {
        return null;
      }
      Change<HeldLease> change = pool.renew(holder, fence, now);
      if (change.succeeded() || !change.expired().isEmpty()) {
        entry.setValue(pool);
      }
      return change;
    }
  }

  static final class ReleaseLease implements EntryProcessor<String, PoolLeases, Change<Release>> {
    private static final long serialVersionUID = 1L;
    private final LeaseHolder holder;
    private final long fence;
    private final long now;

    ReleaseLease(LeaseHolder holder, long fence, long now) {
      this.holder = holder;
      this.fence = fence;
      this.now = now;
    }

    @Override
    public Change<Release> process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      if (pool == null) {
        return null;
      }
      Change<Release> change = pool.release(holder, fence, now);
      if ((change.succeeded() && change.value().released()) || !change.expired().isEmpty()) {
        entry.setValue(pool);
      }
      return change;
    }
  }

  /** Frees the leases whose time is up; the sweeper's operation. */
  static final class ExpireDue implements EntryProcessor<String, PoolLeases, ArrayList<HeldLease>> {
    private static final long serialVersionUID = 1L;
    private final long now;

    ExpireDue(long now) {
      this.now = now;
    }

    @Override
    public ArrayList<HeldLease> process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      if (pool == null) {
        return new ArrayList<>();
      }
      ArrayList<HeldLease> expired = new ArrayList<>(pool.expireDue(now));
      if (!expired.isEmpty()) {
        entry.setValue(pool);
      }
      return expired;
    }
  }

  static final class ReadSnapshot implements EntryProcessor<String, PoolLeases, PoolSnapshot>, ReadOnly {
    private static final long serialVersionUID = 1L;
    private final long now;

    ReadSnapshot(long now) {
      this.now = now;
    }

    @Override
    public PoolSnapshot process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      return pool == null ? null : pool.snapshot(now);
    }

    @Override
    public EntryProcessor<String, PoolLeases, PoolSnapshot> getBackupProcessor() {
      return null;
    }
  }

  static final class QueryLeases implements EntryProcessor<String, PoolLeases, ArrayList<HeldLease>>, ReadOnly {
    private static final long serialVersionUID = 1L;
    private final LeaseFilter filter;
    private final long now;

    QueryLeases(LeaseFilter filter, long now) {
      this.filter = filter;
      this.now = now;
    }

    @Override
    public ArrayList<HeldLease> process(Map.Entry<String, PoolLeases> entry) {
      PoolLeases pool = entry.getValue();
      return pool == null ? null : pool.leases(filter, now);
    }

    @Override
    public EntryProcessor<String, PoolLeases, ArrayList<HeldLease>> getBackupProcessor() {
      return null;
    }
  }

  /** Every pool's definition without its leases, for the overlap check. */
  static final class Definitions implements Projection<Map.Entry<String, PoolLeases>, PoolDefinition> {
    private static final long serialVersionUID = 1L;

    @Override
    public PoolDefinition transform(Map.Entry<String, PoolLeases> entry) {
      return entry.getValue().definition();
    }
  }
}
