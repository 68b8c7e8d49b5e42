package io.vipfarm.allocation;

import com.hazelcast.config.SerializationConfig;
import com.hazelcast.nio.serialization.DataSerializableFactory;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;

/**
 * The {@code IdentifiedDataSerializable} factory of every allocation class that crosses members (no
 * reflection, no Java serialization). Ids are part of the wire format between members of one cluster:
 * never reuse a retired id.
 */
public final class AllocationSerialization implements DataSerializableFactory {
  public static final int FACTORY_ID = 0x0a1f;

  static final int ADDRESS_BLOCK = 1;
  static final int BLOCK_KEY = 2;
  static final int POOL_RECORD = 3;
  // 4: a key index entry with its session id (until 2026-11-25): retired, a new member refuses it
  // 8, 9: a spot and a key index entry with its host, 30, 31: bind and unbind of one index entry per
  // lease key, 43-45: projection and predicates over those (until 2026-12-03): retired, the index now
  // keeps one entry per host (HOST_ENTRIES)
  static final int LOCATION = 23;
  static final int REPLY = 5;
  static final int LEASES = 6;
  static final int COUNTS = 7;
  // 10: an allocate of one request (until 2026-12-02): retired for OP_ALLOCATE_MANY
  static final int OP_ON_LEASE = 11;
  static final int OP_CREATE = 12;
  static final int OP_ADMIN = 13;
  static final int OP_EXPIRE = 14;
  static final int OP_READ_COUNTS = 15;
  static final int OP_QUERY = 16;
  static final int OP_SNAPSHOT = 17;
  static final int OP_ALLOCATE_MANY = 18;
  static final int REPLIES = 19;
  static final int OP_RECORD = 20;
  static final int OP_READ_RECORD = 21;
  static final int PRED_OF_POOL = 40;
  static final int PRED_KEY_PREFIX = 41;
  static final int PRED_EXPIRY_DUE = 42;
  static final int HOST_ENTRIES = 24;
  static final int SPOTS = 25;
  static final int OP_LOOKUP = 32;
  static final int OP_DROP_POOL = 33;
  static final int OP_FIND_SPOTS = 34;
  static final int OP_BIND = 35;
  static final int OP_UNBIND = 36;
  static final int OP_COPY = 37;

  static void register(SerializationConfig config) {
    config.addDataSerializableFactory(FACTORY_ID, new AllocationSerialization());
  }

  @Override
  public IdentifiedDataSerializable create(int typeId) {
    return switch (typeId) {
      case ADDRESS_BLOCK -> new AddressBlock();
      case BLOCK_KEY -> new BlockKey();
      case POOL_RECORD -> new PoolRecord();
      case LOCATION -> new LeaseIndex.Location();
      case REPLY -> new Messages.Reply();
      case LEASES -> new Messages.Leases();
      case COUNTS -> new Messages.Counts();
      case HOST_ENTRIES -> new LeaseIndex.HostEntries();
      case SPOTS -> new LeaseIndex.Spots();
      case OP_ALLOCATE_MANY -> new BlockProcessors.Allocate();
      case REPLIES -> new Messages.Replies();
      case OP_ON_LEASE -> new BlockProcessors.OnLease();
      case OP_CREATE -> new BlockProcessors.Create();
      case OP_ADMIN -> new BlockProcessors.Admin();
      case OP_EXPIRE -> new BlockProcessors.ExpireDue();
      case OP_READ_COUNTS -> new BlockProcessors.ReadCounts();
      case OP_QUERY -> new BlockProcessors.QueryLeases();
      case OP_SNAPSHOT -> new BlockProcessors.Snapshot();
      case OP_RECORD -> new PoolRecordProcessors.OnRecord();
      case OP_READ_RECORD -> new PoolRecordProcessors.ReadRecord();
      case OP_BIND -> new LeaseIndex.Bind();
      case OP_UNBIND -> new LeaseIndex.Unbind();
      case OP_LOOKUP -> new LeaseIndex.Lookup();
      case OP_DROP_POOL -> new LeaseIndex.DropPool();
      case OP_FIND_SPOTS -> new LeaseIndex.FindSpots();
      case OP_COPY -> new LeaseIndex.Copy();
      case PRED_OF_POOL -> new BlockProcessors.OfPool();
      case PRED_KEY_PREFIX -> new LeaseIndex.KeyPrefix<>();
      case PRED_EXPIRY_DUE -> new BlockProcessors.ExpiryDue();
      default -> null;
    };
  }
}
