package io.vipfarm.allocation;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.model.PoolSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * How the allocation records travel between members inside the {@code IdentifiedDataSerializable}
 * classes (no Java serialization): field by field, nulls allowed where the records allow them. A pool
 * definition travels as its spec and is validated again on arrival, so a member never holds an
 * unchecked definition.
 */
final class Wire {
  /** values() copies its array on every call; a reply is read per acquire. */
  private static final BlockReply.Outcome[] OUTCOMES = BlockReply.Outcome.values();

  private Wire() {}

  static void writeHolder(ObjectDataOutput out, LeaseHolder holder) throws IOException {
    out.writeString(holder.hostId());
    out.writeString(holder.bootId());
    out.writeString(holder.sessionId());
    out.writeString(holder.program());
  }

  static LeaseHolder readHolder(ObjectDataInput in) throws IOException {
    return new LeaseHolder(in.readString(), in.readString(), in.readString(), in.readString());
  }

  static void writeLease(ObjectDataOutput out, HeldLease lease) throws IOException {
    out.writeInt(lease.address());
    writeHolder(out, lease.holder());
    out.writeString(lease.user());
    out.writeLong(lease.fence());
    out.writeLong(lease.grantedAt());
    out.writeLong(lease.expiresAt());
  }

  static HeldLease readLease(ObjectDataInput in) throws IOException {
    return new HeldLease(in.readInt(), readHolder(in), in.readString(), in.readLong(), in.readLong(), in.readLong());
  }

  static void writeNullableLease(ObjectDataOutput out, HeldLease lease) throws IOException {
    out.writeBoolean(lease != null);
    if (lease != null) {
      writeLease(out, lease);
    }
  }

  static HeldLease readNullableLease(ObjectDataInput in) throws IOException {
    return in.readBoolean() ? readLease(in) : null;
  }

  static void writeLeases(ObjectDataOutput out, List<HeldLease> leases) throws IOException {
    out.writeInt(leases.size());
    for (HeldLease lease : leases) {
      writeLease(out, lease);
    }
  }

  static List<HeldLease> readLeases(ObjectDataInput in) throws IOException {
    int n = in.readInt();
    List<HeldLease> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(readLease(in));
    }
    return out;
  }

  static void writeRules(ObjectDataOutput out, BlockRules rules) throws IOException {
    out.writeLong(rules.usable());
    out.writeStringArray(rules.reservedFor());
    out.writeInt(rules.leaseSeconds());
  }

  static BlockRules readRules(ObjectDataInput in) throws IOException {
    return new BlockRules(in.readLong(), in.readStringArray(), in.readInt());
  }

  static void writeDefinition(ObjectDataOutput out, PoolDefinition definition) throws IOException {
    PoolSpec spec = definition.spec();
    out.writeString(spec.name());
    out.writeString(spec.cidr());
    out.writeStringArray(spec.exclude().toArray(String[]::new));
    Map<String, String> sorted = new TreeMap<>(spec.reservations());
    out.writeStringArray(sorted.keySet().toArray(String[]::new));
    out.writeStringArray(sorted.values().toArray(String[]::new));
    out.writeInt(spec.leaseSeconds());
  }

  static PoolDefinition readDefinition(ObjectDataInput in) throws IOException {
    String name = in.readString();
    String cidr = in.readString();
    List<String> exclude = List.of(in.readStringArray());
    String[] users = in.readStringArray();
    String[] addresses = in.readStringArray();
    Map<String, String> reservations = new LinkedHashMap<>();
    for (int i = 0; i < users.length; i++) {
      reservations.put(users[i], addresses[i]);
    }
    return PoolValidator.validate(new PoolSpec(name, cidr, exclude, reservations, in.readInt()));
  }

  static void writeNullableDefinition(ObjectDataOutput out, PoolDefinition definition) throws IOException {
    out.writeBoolean(definition != null);
    if (definition != null) {
      writeDefinition(out, definition);
    }
  }

  static PoolDefinition readNullableDefinition(ObjectDataInput in) throws IOException {
    return in.readBoolean() ? readDefinition(in) : null;
  }

  static void writeFailure(ObjectDataOutput out, Failure failure) throws IOException {
    out.writeBoolean(failure != null);
    if (failure != null) {
      out.writeInt(failure.type().code());
      out.writeString(failure.detail());
      out.writeString(failure.field());
    }
  }

  static Failure readFailure(ObjectDataInput in) throws IOException {
    return in.readBoolean() ? new Failure(ErrorType.ofCode(in.readInt()), in.readString(), in.readString()) : null;
  }

  static void writeReply(ObjectDataOutput out, BlockReply reply) throws IOException {
    out.writeByte(reply.outcome().ordinal());
    writeNullableLease(out, reply.lease());
    writeLeases(out, reply.expired());
    out.writeInt(reply.free());
    out.writeInt(reply.live());
    writeFailure(out, reply.failure());
  }

  static BlockReply readReply(ObjectDataInput in) throws IOException {
    return new BlockReply(OUTCOMES[in.readByte()], readNullableLease(in), readLeases(in),
        in.readInt(), in.readInt(), readFailure(in));
  }
}
