package io.vipfarm.allocation;

import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import java.io.IOException;
import java.util.Objects;

/**
 * The key of a block in {@link AllocationMaps#BLOCKS}: pool name and block number. Hazelcast places an
 * entry by the hash of its serialized key, so the blocks of one pool spread over all partitions.
 */
public final class BlockKey implements IdentifiedDataSerializable {
  private String pool;
  private int number;

  /** For deserialization only. */
  public BlockKey() {}

  public BlockKey(String pool, int number) {
    this.pool = pool;
    this.number = number;
  }

  public static BlockKey of(String pool, int address) {
    return new BlockKey(pool, AddressBlock.numberOf(address));
  }

  public String pool() {
    return pool;
  }

  public int number() {
    return number;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof BlockKey k && number == k.number && pool.equals(k.pool);
  }

  @Override
  public int hashCode() {
    return Objects.hash(pool, number);
  }

  @Override
  public String toString() {
    return pool + "#" + Ipv4Address.format(number << AddressBlock.BITS) + "/26";
  }

  @Override
  public int getFactoryId() {
    return AllocationSerialization.FACTORY_ID;
  }

  @Override
  public int getClassId() {
    return AllocationSerialization.BLOCK_KEY;
  }

  @Override
  public void writeData(ObjectDataOutput out) throws IOException {
    out.writeString(pool);
    out.writeInt(number);
  }

  @Override
  public void readData(ObjectDataInput in) throws IOException {
    pool = in.readString();
    number = in.readInt();
  }
}
