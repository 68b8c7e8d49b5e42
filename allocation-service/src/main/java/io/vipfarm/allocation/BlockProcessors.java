package io.vipfarm.allocation;

import com.hazelcast.core.ReadOnly;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.query.Predicate;
import io.vipfarm.allocation.Messages.Counts;
import io.vipfarm.allocation.Messages.Leases;
import io.vipfarm.allocation.Messages.Replies;
import io.vipfarm.allocation.Messages.Reply;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The operations on a {@link AllocationMaps#BLOCKS} entry: small processors that carry their
 * arguments (including {@code now}, so the backup replica, which runs the same processor, computes the
 * same result) and delegate to {@link AddressBlock}. Every processor names the pool incarnation it
 * expects; a missing block, or one left over from an earlier pool of the same name, answers GONE.
 */
final class BlockProcessors {
  private BlockProcessors() {}

  /** Common fields and the incarnation check. */
  abstract static class BlockOperation<R> implements EntryProcessor<BlockKey, AddressBlock, R>, IdentifiedDataSerializable {
    long incarnation;
    long now;

    BlockOperation() {}

    BlockOperation(long incarnation, long now) {
      this.incarnation = incarnation;
      this.now = now;
    }

    /** The block when it belongs to the expected incarnation, else null. */
    AddressBlock current(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = entry.getValue();
      return block != null && block.incarnation() == incarnation ? block : null;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeLong(incarnation);
      out.writeLong(now);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      incarnation = in.readLong();
      now = in.readLong();
    }
  }

  /** One request of an {@link Allocate}: for whom, and the address it prefers (or null). */
  record Grant(LeaseHolder holder, String user, Integer preferred) {}

  /**
   * Leases an address of the block to each of several requests (see {@link AddressBlock#allocate}): a
   * member sends the acquires that queued for one block while its previous operation there was in
   * flight as one operation (one invocation and one backup instead of one each). Requests with a
   * preferred address go first, so that the next free address of an earlier request does not take it.
   */
  static final class Allocate extends BlockOperation<Replies> {
    List<Grant> grants;

    public Allocate() {}

    Allocate(long incarnation, List<Grant> grants, long now) {
      super(incarnation, now);
      this.grants = grants;
    }

    @Override
    public Replies process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = current(entry);
      BlockReply[] replies = new BlockReply[grants.size()];
      if (block == null) {
        Arrays.fill(replies, BlockReply.gone());
        return new Replies(List.of(replies));
      }
      for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < replies.length; i++) {
          Grant g = grants.get(i);
          if ((g.preferred() != null) == (pass == 0)) {
            replies[i] = block.allocate(g.holder(), g.user(), g.preferred(), now);
          }
        }
      }
      entry.setValue(block);
      return new Replies(List.of(replies));
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_ALLOCATE_MANY;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      super.writeData(out);
      out.writeInt(grants.size());
      for (Grant g : grants) {
        Wire.writeHolder(out, g.holder());
        out.writeString(g.user());
        out.writeBoolean(g.preferred() != null);
        if (g.preferred() != null) {
          out.writeInt(g.preferred());
        }
      }
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      super.readData(in);
      int n = in.readInt();
      List<Grant> read = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        read.add(new Grant(Wire.readHolder(in), in.readString(), in.readBoolean() ? in.readInt() : null));
      }
      grants = read;
    }
  }

  /** What a named lease operation does: extend-if-held (idempotent acquire), renew or release. */
  enum LeaseAction { EXTEND_HELD, RENEW, RELEASE }

  /** Read by ordinal from the wire; {@code values()} would copy its array on every read. */
  private static final LeaseAction[] LEASE_ACTIONS = LeaseAction.values();

  /** An operation on one named lease: holder, address and the fence presented. */
  static final class OnLease extends BlockOperation<Reply> {
    LeaseAction action;
    LeaseHolder holder;
    int address;
    long fence;

    public OnLease() {}

    OnLease(LeaseAction action, long incarnation, LeaseHolder holder, int address, long fence, long now) {
      super(incarnation, now);
      this.action = action;
      this.holder = holder;
      this.address = address;
      this.fence = fence;
    }

    @Override
    public Reply process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = current(entry);
      if (block == null) {
        return new Reply(BlockReply.gone());
      }
      BlockReply reply = switch (action) {
        case EXTEND_HELD -> block.extendHeld(holder, address, fence, now);
        case RENEW -> block.renew(holder, address, fence, now);
        case RELEASE -> block.release(holder, address, fence, now);
      };
      if (!reply.expired().isEmpty() || reply.is(BlockReply.Outcome.EXTENDED) || reply.is(BlockReply.Outcome.RELEASED)) {
        entry.setValue(block);
      }
      return new Reply(reply);
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_ON_LEASE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      super.writeData(out);
      out.writeByte(action.ordinal());
      Wire.writeHolder(out, holder);
      out.writeInt(address);
      out.writeLong(fence);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      super.readData(in);
      action = LEASE_ACTIONS[in.readByte()];
      holder = Wire.readHolder(in);
      address = in.readInt();
      fence = in.readLong();
    }
  }

  /**
   * Creates a block that its pool has just claimed (see {@link PoolRecord}), unless it exists: an
   * administrative operation may have created it first, with newer rules, or retired it (then GONE). A
   * block left over from an earlier pool of the same name is replaced.
   */
  static final class Create extends BlockOperation<Reply> {
    String pool;
    int number;
    long generation;
    PoolDefinition definition;
    PoolDefinition pendingDefinition;
    long pendingGeneration;

    public Create() {}

    Create(PoolRecord record, int number, long now) {
      super(record.incarnation(), now);
      this.pool = record.name();
      this.number = number;
      this.generation = record.generation();
      this.definition = record.definition();
      this.pendingDefinition = record.pending();
      this.pendingGeneration = record.pendingGeneration();
    }

    @Override
    public Reply process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock existing = current(entry);
      if (existing != null) {
        return new Reply(existing.retired() ? BlockReply.gone() : new BlockReply(BlockReply.Outcome.DONE, null, List.of(), 0, 0, null));
      }
      AddressBlock block = AddressBlock.create(pool, incarnation, number, generation, BlockRules.of(definition, number), now);
      if (pendingDefinition != null) {
        block.prepare(pendingGeneration, pendingDefinition, now);
      }
      entry.setValue(block);
      return new Reply(new BlockReply(BlockReply.Outcome.CREATED, null, List.of(), block.freeCount(now), 0, null));
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_CREATE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      super.writeData(out);
      out.writeString(pool);
      out.writeInt(number);
      out.writeLong(generation);
      Wire.writeDefinition(out, definition);
      Wire.writeNullableDefinition(out, pendingDefinition);
      out.writeLong(pendingGeneration);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      super.readData(in);
      pool = in.readString();
      number = in.readInt();
      generation = in.readLong();
      definition = Wire.readDefinition(in);
      pendingDefinition = Wire.readNullableDefinition(in);
      pendingGeneration = in.readLong();
    }
  }

  /** What an administrative step does to every block of a pool. */
  enum AdminAction { PREPARE, COMMIT, ABORT, RETIRE, UNRETIRE, DROP }

  /** Read by ordinal from the wire, as {@link #LEASE_ACTIONS}. */
  private static final AdminAction[] ADMIN_ACTIONS = AdminAction.values();

  /**
   * One step of a redefinition (prepare/commit/abort) or a delete (retire/unretire/drop) on a claimed
   * block. PREPARE and RETIRE create a claimed block that does not exist yet, so that a late
   * {@link Create} finds it (with the pending rules, or retired) instead of creating it from old rules.
   */
  static final class Admin extends BlockOperation<Reply> {
    AdminAction action;
    String pool;
    long generation;
    PoolDefinition current;
    PoolDefinition next;
    long nextGeneration;

    public Admin() {}

    Admin(AdminAction action, PoolRecord record, long now) {
      super(record.incarnation(), now);
      this.action = action;
      this.pool = record.name();
      this.generation = record.generation();
      this.current = record.definition();
      this.next = record.pending();
      this.nextGeneration = record.pendingGeneration();
    }

    @Override
    public Reply process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = current(entry);
      if (block == null && (action == AdminAction.PREPARE || action == AdminAction.RETIRE)) {
        int number = entry.getKey().number();
        block = AddressBlock.create(pool, incarnation, number, generation, BlockRules.of(current, number), now);
      }
      if (block == null) {
        return new Reply(BlockReply.gone());
      }
      BlockReply reply = switch (action) {
        case PREPARE -> block.prepare(nextGeneration, next, now);
        case RETIRE -> block.retire(now);
        case COMMIT -> {
          block.commit(nextGeneration);
          yield done(block);
        }
        case ABORT -> {
          block.abort(nextGeneration);
          yield done(block);
        }
        case UNRETIRE -> {
          block.unretire();
          yield done(block);
        }
        case DROP -> null;
      };
      if (action == AdminAction.DROP) {
        entry.setValue(null);
        return new Reply(new BlockReply(BlockReply.Outcome.DONE, null, List.of(), 0, 0, null));
      }
      entry.setValue(block);
      return new Reply(reply);
    }

    private BlockReply done(AddressBlock block) {
      return new BlockReply(BlockReply.Outcome.DONE, null, List.of(), block.freeCount(now), block.liveCount(now), null);
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_ADMIN;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      super.writeData(out);
      out.writeByte(action.ordinal());
      out.writeString(pool);
      out.writeLong(generation);
      Wire.writeDefinition(out, current);
      Wire.writeNullableDefinition(out, next);
      out.writeLong(nextGeneration);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      super.readData(in);
      action = ADMIN_ACTIONS[in.readByte()];
      pool = in.readString();
      generation = in.readLong();
      current = Wire.readDefinition(in);
      next = Wire.readNullableDefinition(in);
      nextGeneration = in.readLong();
    }
  }

  /** Frees the due leases of any block (the sweeper's operation); writes only when something expired. */
  static final class ExpireDue extends BlockOperation<Reply> {
    public ExpireDue() {}

    ExpireDue(long now) {
      super(0, now);
    }

    @Override
    public Reply process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = entry.getValue();
      if (block == null) {
        return null;
      }
      List<HeldLease> expired = block.expireDue(now);
      if (expired.isEmpty()) {
        return null;
      }
      entry.setValue(block);
      return new Reply(new BlockReply(BlockReply.Outcome.DONE, null, expired, block.freeCount(now), block.liveCount(now), null));
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_EXPIRE;
    }
  }

  /** How full the block is; reads only. */
  static final class ReadCounts extends BlockOperation<Counts> implements ReadOnly {
    public ReadCounts() {}

    ReadCounts(long now) {
      super(0, now);
    }

    @Override
    public Counts process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = entry.getValue();
      return block == null ? null : new Counts(block.freeCount(now), block.liveCount(now));
    }

    @Override
    public EntryProcessor<BlockKey, AddressBlock, Counts> getBackupProcessor() {
      return null;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_READ_COUNTS;
    }
  }

  /** Live leases matching a filter; reads only. */
  static final class QueryLeases extends BlockOperation<Leases> implements ReadOnly {
    LeaseFilter filter;

    public QueryLeases() {}

    QueryLeases(LeaseFilter filter, long now) {
      super(0, now);
      this.filter = filter;
    }

    @Override
    public Leases process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = entry.getValue();
      if (block == null) {
        return null;
      }
      List<HeldLease> found = block.leases(filter, now);
      return found.isEmpty() ? null : new Leases(found);
    }

    @Override
    public EntryProcessor<BlockKey, AddressBlock, Leases> getBackupProcessor() {
      return null;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_QUERY;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      super.writeData(out);
      out.writeString(filter.host());
      out.writeString(filter.session());
      out.writeString(filter.user());
      out.writeString(filter.address());
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      super.readData(in);
      filter = new LeaseFilter(in.readString(), in.readString(), in.readString(), in.readString());
    }
  }

  /** A copy of the whole block, for the consistency check; reads only. */
  static final class Snapshot extends BlockOperation<AddressBlock> implements ReadOnly {
    public Snapshot() {}

    @Override
    public AddressBlock process(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = entry.getValue();
      return block == null ? null : block.copy();
    }

    @Override
    public EntryProcessor<BlockKey, AddressBlock, AddressBlock> getBackupProcessor() {
      return null;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_SNAPSHOT;
    }
  }

  /**
   * Blocks where a lease may have expired at {@code now} (by the block's earliest-expiry bound), so that
   * the sweep sends its entry processor only to those instead of to every block.
   */
  static final class ExpiryDue implements Predicate<BlockKey, AddressBlock>, IdentifiedDataSerializable {
    long now;

    public ExpiryDue() {}

    ExpiryDue(long now) {
      this.now = now;
    }

    @Override
    public boolean apply(Map.Entry<BlockKey, AddressBlock> entry) {
      AddressBlock block = entry.getValue();
      return block != null && block.mayHaveExpired(now);
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.PRED_EXPIRY_DUE;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeLong(now);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      now = in.readLong();
    }
  }

  static final class OfPool implements Predicate<BlockKey, AddressBlock>, IdentifiedDataSerializable {
    String pool;

    public OfPool() {}

    OfPool(String pool) {
      this.pool = pool;
    }

    @Override
    public boolean apply(Map.Entry<BlockKey, AddressBlock> entry) {
      return entry.getKey().pool().equals(pool);
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.PRED_OF_POOL;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(pool);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      pool = in.readString();
    }
  }
}
