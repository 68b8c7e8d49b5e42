package io.vipfarm.allocation;

import com.hazelcast.core.ReadOnly;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.Map;

/**
 * The operations on a {@link AllocationMaps#POOLS} entry. Each returns the record as it is afterwards,
 * or null when the pool does not exist (or, for a claim, is being deleted or is another incarnation).
 */
final class PoolRecordProcessors {
  private PoolRecordProcessors() {}

  enum RecordAction { CREATE, CLAIM, BEGIN_REDEFINE, COMMIT_REDEFINE, ABORT_REDEFINE, BEGIN_RETIRE, ABORT_RETIRE, REMOVE }

  /** Read by ordinal from the wire; {@code values()} would copy its array on every read. */
  private static final RecordAction[] RECORD_ACTIONS = RecordAction.values();

  static final class OnRecord implements EntryProcessor<String, PoolRecord, PoolRecord>, IdentifiedDataSerializable {
    RecordAction action;
    long incarnation;
    long number;
    PoolDefinition definition;

    public OnRecord() {}

    OnRecord(RecordAction action, long incarnation, long number, PoolDefinition definition) {
      this.action = action;
      this.incarnation = incarnation;
      this.number = number;
      this.definition = definition;
    }

    static OnRecord create(PoolDefinition definition, long incarnation) {
      return new OnRecord(RecordAction.CREATE, incarnation, 0, definition);
    }

    static OnRecord claim(long incarnation, int number) {
      return new OnRecord(RecordAction.CLAIM, incarnation, number, null);
    }

    static OnRecord beginRedefine(long incarnation, PoolDefinition next) {
      return new OnRecord(RecordAction.BEGIN_REDEFINE, incarnation, 0, next);
    }

    static OnRecord of(RecordAction action, long incarnation, long generation) {
      return new OnRecord(action, incarnation, generation, null);
    }

    @Override
    public PoolRecord process(Map.Entry<String, PoolRecord> entry) {
      PoolRecord record = entry.getValue();
      if (action == RecordAction.CREATE) {
        if (record == null) {
          record = PoolRecord.create(definition, incarnation);
          entry.setValue(record);
        }
        return record;
      }
      if (record == null || record.incarnation() != incarnation) {
        return null;
      }
      PoolRecord next = switch (action) {
        case CLAIM -> record.retiring() ? null : record.isClaimed((int) number) ? record : record.withClaim((int) number);
        case BEGIN_REDEFINE -> record.retiring() ? null : record.withPending(definition);
        case COMMIT_REDEFINE -> record.committed(number);
        case ABORT_REDEFINE -> record.aborted(number);
        case BEGIN_RETIRE -> record.withRetiring(true);
        case ABORT_RETIRE -> record.withRetiring(false);
        case REMOVE -> null;
        case CREATE -> throw new IllegalStateException("handled above");
      };
      if (action == RecordAction.REMOVE) {
        entry.setValue(null);
        return record;
      }
      if (next != null && next != record) {
        entry.setValue(next);
      }
      return next;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_RECORD;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeByte(action.ordinal());
      out.writeLong(incarnation);
      out.writeLong(number);
      Wire.writeNullableDefinition(out, definition);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      action = RECORD_ACTIONS[in.readByte()];
      incarnation = in.readLong();
      number = in.readLong();
      definition = Wire.readNullableDefinition(in);
    }
  }

  /** The record; reads only. */
  static final class ReadRecord implements EntryProcessor<String, PoolRecord, PoolRecord>, ReadOnly, IdentifiedDataSerializable {
    public ReadRecord() {}

    @Override
    public PoolRecord process(Map.Entry<String, PoolRecord> entry) {
      return entry.getValue();
    }

    @Override
    public EntryProcessor<String, PoolRecord, PoolRecord> getBackupProcessor() {
      return null;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_READ_RECORD;
    }

    @Override
    public void writeData(ObjectDataOutput out) {}

    @Override
    public void readData(ObjectDataInput in) {}
  }
}
