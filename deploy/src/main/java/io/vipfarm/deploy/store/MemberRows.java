package io.vipfarm.deploy.store;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.HazelcastInstanceAware;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** Tasks a restoring member runs on every member, through {@link DurableState#EXECUTOR}. */
final class MemberRows {
  private MemberRows() {}

  /** Every row of the member's copy (none on a member without one). */
  static final class Read implements Callable<ArrayList<StateRow>>, Serializable, HazelcastInstanceAware {
    private static final long serialVersionUID = 1L;
    private transient HazelcastInstance hazelcast;

    @Override
    public void setHazelcastInstance(HazelcastInstance hazelcastInstance) {
      this.hazelcast = hazelcastInstance;
    }

    @Override
    public ArrayList<StateRow> call() {
      StateDatabase database = DurableState.of(hazelcast);
      return database == null ? new ArrayList<>() : new ArrayList<>(database.rows());
    }
  }

  /** Offers rows to the member's copy (newest wins); answers how many it stored. */
  static final class Offer implements Callable<Integer>, Serializable, HazelcastInstanceAware {
    private static final long serialVersionUID = 1L;
    private final ArrayList<StateRow> rows;
    private transient HazelcastInstance hazelcast;

    Offer(List<StateRow> rows) {
      this.rows = new ArrayList<>(rows);
    }

    @Override
    public void setHazelcastInstance(HazelcastInstance hazelcastInstance) {
      this.hazelcast = hazelcastInstance;
    }

    @Override
    public Integer call() {
      StateDatabase database = DurableState.of(hazelcast);
      return database == null ? 0 : database.offerAll(rows);
    }
  }
}
