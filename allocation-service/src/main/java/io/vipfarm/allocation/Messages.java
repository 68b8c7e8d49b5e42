package io.vipfarm.allocation;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Results of entry processors, wrapped for {@code IdentifiedDataSerializable} travel. */
final class Messages {
  private Messages() {}

  /** A {@link BlockReply}. */
  static final class Reply implements IdentifiedDataSerializable {
    BlockReply reply;

    public Reply() {}

    Reply(BlockReply reply) {
      this.reply = reply;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.REPLY;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      Wire.writeReply(out, reply);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      reply = Wire.readReply(in);
    }
  }

  /** The {@link BlockReply} of each request of one operation, in request order. */
  static final class Replies implements IdentifiedDataSerializable {
    List<BlockReply> replies;

    public Replies() {}

    Replies(List<BlockReply> replies) {
      this.replies = replies;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.REPLIES;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeInt(replies.size());
      for (BlockReply reply : replies) {
        Wire.writeReply(out, reply);
      }
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      int n = in.readInt();
      List<BlockReply> read = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        read.add(Wire.readReply(in));
      }
      replies = read;
    }
  }

  /** Leases of one block. */
  static final class Leases implements IdentifiedDataSerializable {
    List<HeldLease> leases;

    public Leases() {}

    Leases(List<HeldLease> leases) {
      this.leases = leases;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.LEASES;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      Wire.writeLeases(out, leases);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      leases = Wire.readLeases(in);
    }
  }

  /** How full one block is. */
  static final class Counts implements IdentifiedDataSerializable {
    int free;
    int live;

    public Counts() {}

    Counts(int free, int live) {
      this.free = free;
      this.live = live;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.COUNTS;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeInt(free);
      out.writeInt(live);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      free = in.readInt();
      live = in.readInt();
    }
  }
}
