package io.vipfarm.allocation;

import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.projection.Projection;
import com.hazelcast.query.Predicate;
import java.io.IOException;
import java.util.Map;

/**
 * The key index of {@link AllocationMaps#LEASE_INDEX}: lease key to where its lease is (address and
 * fence), so that acquire stays idempotent across blocks, and renew and release find the block in one
 * hop.
 *
 * <p>Why an index rather than a deterministic home block per key: a home block fills up, and then the
 * key must go elsewhere, so the service would have to search for it anyway; the index costs one small
 * entry per lease and keeps every key lookup at one hop. The block stays the truth: an entry whose lease
 * is gone (expired, or a member died between the two writes) is found stale by the block and replaced;
 * a lease whose index write never happened simply expires.
 */
final class LeaseIndex {
  private LeaseIndex() {}

  /** An unambiguous key: every part is length-prefixed. */
  static String key(String pool, LeaseHolder holder) {
    StringBuilder sb = new StringBuilder(96);
    part(sb, pool);
    part(sb, holder.hostId());
    part(sb, holder.bootId());
    part(sb, holder.sessionId());
    if (holder.program() != null) {
      part(sb, holder.program());
    }
    return sb.toString();
  }

  /** The pool an index key belongs to (its first length-prefixed part). */
  static String poolOf(String indexKey) {
    return part(indexKey, 0);
  }

  /** The session of an index key (its fourth part: pool, host, boot id, session). */
  static String sessionOf(String indexKey) {
    return part(indexKey, 3);
  }

  /** Part {@code n} (from 0) of an index key. */
  private static String part(String indexKey, int n) {
    int at = 0;
    for (int i = 0; ; i++) {
      int colon = indexKey.indexOf(':', at);
      int length = Integer.parseInt(indexKey, at, colon, 10);
      if (i == n) {
        return indexKey.substring(colon + 1, colon + 1 + length);
      }
      at = colon + 1 + length;
    }
  }

  /** The prefix every index key of {@code pool} starts with. */
  static String poolPrefix(String pool) {
    return part(new StringBuilder(), pool).toString();
  }

  private static StringBuilder part(StringBuilder sb, String value) {
    return sb.append(value.length()).append(':').append(value);
  }

  /**
   * Where a key's lease is, and whose it is: {@code host} is the attribute of the map's Hazelcast index
   * (see {@link AllocationMaps#leaseIndexIndexes}), so that the allocations of a host are found without
   * reading every block; {@code user} is matched by {@link UserIs}; a session by its key ({@link SessionIs}),
   * which already holds it (an entry is kept on two members for every lease: no string it need not
   * hold). Identity (equals, the Bind check) is address and fence only.
   */
  static final class Location implements IdentifiedDataSerializable {
    /** Attribute name of the indexed field (read by Hazelcast through reflection). */
    static final String HOST = "host";

    int address;
    long fence;
    String host;
    String user;

    public Location() {}

    Location(int address, long fence) {
      this(address, fence, null, null);
    }

    Location(int address, long fence, String host, String user) {
      this.address = address;
      this.fence = fence;
      this.host = Names.intern(host);
      this.user = Names.intern(user);
    }

    static Location of(HeldLease lease) {
      return new Location(lease.address(), lease.fence(), lease.holder().hostId(), lease.user());
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Location l && l.address == address && l.fence == fence;
    }

    @Override
    public int hashCode() {
      return Long.hashCode(fence) * 31 + address;
    }

    @Override
    public String toString() {
      return Ipv4Address.format(address) + "@" + fence;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.LOCATION;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeInt(address);
      out.writeLong(fence);
      out.writeString(host);
      out.writeString(user);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      address = in.readInt();
      fence = in.readLong();
      host = Names.intern(in.readString());
      user = Names.intern(in.readString());
    }
  }

  /**
   * Points the key at {@code next} when it points nowhere or still at {@code expected} (the stale entry
   * the caller saw). Returns null when bound, else the location the key points at now: a concurrent
   * acquire of the same key won.
   */
  static final class Bind implements EntryProcessor<String, Location, Location>, IdentifiedDataSerializable {
    Location expected;
    Location next;

    public Bind() {}

    Bind(Location expected, Location next) {
      this.expected = expected;
      this.next = next;
    }

    @Override
    public Location process(Map.Entry<String, Location> entry) {
      Location current = entry.getValue();
      if (current != null && !current.equals(expected)) {
        return current;
      }
      entry.setValue(next);
      return null;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_BIND;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeBoolean(expected != null);
      if (expected != null) {
        expected.writeData(out);
      }
      next.writeData(out);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      if (in.readBoolean()) {
        expected = new Location();
        expected.readData(in);
      }
      next = new Location();
      next.readData(in);
    }
  }

  /** Removes the key's entry only while it still names the lease with {@code fence}. */
  static final class Unbind implements EntryProcessor<String, Location, Boolean>, IdentifiedDataSerializable {
    long fence;

    public Unbind() {}

    Unbind(long fence) {
      this.fence = fence;
    }

    @Override
    public Boolean process(Map.Entry<String, Location> entry) {
      Location current = entry.getValue();
      if (current != null && current.fence == fence) {
        entry.setValue(null);
        return true;
      }
      return false;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_UNBIND;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeLong(fence);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      fence = in.readLong();
    }
  }

  /** String keys starting with a prefix (a pool's index and sticky entries). */
  static final class KeyPrefix<V> implements Predicate<String, V>, IdentifiedDataSerializable {
    String prefix;

    public KeyPrefix() {}

    KeyPrefix(String prefix) {
      this.prefix = prefix;
    }

    @Override
    public boolean apply(Map.Entry<String, V> entry) {
      return entry.getKey().startsWith(prefix);
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.PRED_KEY_PREFIX;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(prefix);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      prefix = in.readString();
    }
  }

  /** Index entries of one session (of any host, pool or boot): read from the key. */
  static final class SessionIs implements Predicate<String, Location>, IdentifiedDataSerializable {
    String session;

    public SessionIs() {}

    SessionIs(String session) {
      this.session = session;
    }

    @Override
    public boolean apply(Map.Entry<String, Location> entry) {
      return session.equals(sessionOf(entry.getKey()));
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.PRED_SESSION;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(session);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      session = in.readString();
    }
  }

  /**
   * Index entries of one user, by a scan of the entries (on their partitions' threads): a Hazelcast hash
   * index keeps one map per distinct value, and users are nearly as many as leases, so an index on the
   * user cost ~14 MB per 100,000 leases over the cluster (15 % of all the lease state) for a lookup
   * that administrators make, not agents.
   */
  static final class UserIs implements Predicate<String, Location>, IdentifiedDataSerializable {
    String user;

    public UserIs() {}

    UserIs(String user) {
      this.user = user;
    }

    @Override
    public boolean apply(Map.Entry<String, Location> entry) {
      Location location = entry.getValue();
      return location != null && user.equals(location.user);
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.PRED_USER;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(user);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      user = in.readString();
    }
  }

  /**
   * Where an entry's lease is, and nothing else: what a host, user or session query needs from the
   * index (its pool and address), without shipping the key and the strings of every entry.
   */
  static final class Spot implements IdentifiedDataSerializable {
    String pool;
    int address;

    public Spot() {}

    Spot(String pool, int address) {
      this.pool = pool;
      this.address = address;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.SPOT;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(pool);
      out.writeInt(address);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      pool = in.readString();
      address = in.readInt();
    }
  }

  /** Projects an index entry to its {@link Spot}. */
  static final class SpotOf implements Projection<Map.Entry<String, Location>, Spot>, IdentifiedDataSerializable {
    @Override
    public Spot transform(Map.Entry<String, Location> entry) {
      return new Spot(poolOf(entry.getKey()), entry.getValue().address);
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.PROJ_SPOT;
    }

    @Override
    public void writeData(ObjectDataOutput out) {}

    @Override
    public void readData(ObjectDataInput in) {}
  }
}
