package io.vipfarm.allocation;

import com.hazelcast.core.ReadOnly;
import com.hazelcast.map.EntryProcessor;
import com.hazelcast.nio.ObjectDataInput;
import com.hazelcast.nio.ObjectDataOutput;
import com.hazelcast.nio.serialization.IdentifiedDataSerializable;
import com.hazelcast.query.Predicate;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
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
 *
 * <p>Why one map entry per host ({@link HostEntries}, keyed by the host id) rather than one per lease
 * key: the allocations of a host are then one read of one entry. With one entry per key, a host's
 * 1000 leases were found by a query through a cluster-wide Hazelcast index (a scan of one partition
 * holding all of a host's keys, tried, cost as much), 3.5-4 ms of CPU per page. The entry operations of
 * one host run on its partition's thread one at a time, which a host's session starts, a few per
 * second, do not notice.
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

  /** The host of an index key (its second part). */
  static String hostOf(String indexKey) {
    return part(indexKey, 1);
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
   * Where a key's lease is, and whose it is ({@code user}, matched by {@link FindSpots}; the host is the
   * map key and the session part of the lease key, so neither is kept again: an entry is kept on two
   * members for every lease). Identity (equals, the Bind check) is address and fence only.
   */
  static final class Location implements IdentifiedDataSerializable {
    int address;
    long fence;
    String user;

    public Location() {}

    Location(int address, long fence) {
      this(address, fence, null);
    }

    Location(int address, long fence, String user) {
      this.address = address;
      this.fence = fence;
      this.user = Names.intern(user);
    }

    static Location of(HeldLease lease) {
      return new Location(lease.address(), lease.fence(), lease.user());
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
      out.writeString(user);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      address = in.readInt();
      fence = in.readLong();
      user = Names.intern(in.readString());
    }
  }

  /**
   * The index entries of one host, by lease key: the value of {@link AllocationMaps#LEASE_INDEX} under
   * the host's id. Changed in place by the entry processors below (the map keeps objects), so read
   * only by entry processors too (never a query, which runs on another thread): readers get copies
   * ({@link Copy}) or {@link Spots}. Changed only through {@link #put}, {@link #remove} and
   * {@link #removePool}, which drop the spots kept for pages. Kept in a {@link LocationTable} (no
   * object per entry but its key's bytes); on the wire each entry is its key and a {@link Location}.
   */
  static final class HostEntries implements IdentifiedDataSerializable {
    private LocationTable table;
    /**
     * All of this host's spots in page order, made by the first page after a change and kept until
     * the next (not on the wire, not on backups): a host's page is read far more often than its leases
     * change (renewals do not change the index), and walking a thousand entries, then sorting them,
     * was a third of the page's work on the service.
     */
    private transient Spots inPageOrder;

    public HostEntries() {
      this(new LocationTable());
    }

    private HostEntries(LocationTable table) {
      this.table = table;
    }

    /** A copy of the entries by key (for the consistency check, not the lease path). */
    Map<String, Location> byKey() {
      Map<String, Location> byKey = new HashMap<>();
      for (int slot = 0; slot < table.capacity(); slot++) {
        if (table.occupied(slot)) {
          byKey.put(table.key(slot), locationAt(slot));
        }
      }
      return byKey;
    }

    /** An independent copy. */
    HostEntries copy() {
      return new HostEntries(table.copy());
    }

    /** Where the key's lease is (a new object), or null. */
    Location get(String key) {
      int slot = table.slotOf(key);
      return slot < 0 ? null : locationAt(slot);
    }

    private Location locationAt(int slot) {
      return new Location(table.address(slot), table.fence(slot), table.user(slot));
    }

    boolean isEmpty() {
      return table.size() == 0;
    }

    void put(String key, Location location) {
      table.put(key, location.address, location.fence, location.user);
      inPageOrder = null;
    }

    void remove(String key) {
      if (table.remove(key)) {
        inPageOrder = null;
      }
    }

    /** Removes the keys of the pool whose keys start with {@code prefix}; whether there were any. */
    boolean removePool(String prefix) {
      boolean removed = table.removeKeysStartingWith(prefix);
      if (removed) {
        inPageOrder = null;
      }
      return removed;
    }

    /** The spots of the entries of {@code user} and {@code session} (null: any), in page order; null if none. */
    Spots spots(String user, String session) {
      if (user == null && session == null && inPageOrder != null) {
        return inPageOrder;
      }
      Spots spots = new Spots();
      // a host's keys are of one pool or a few: decode and parse a key only when its pool changes
      String pool = null;
      byte[] prefix = null;
      for (int slot = 0; slot < table.capacity(); slot++) {
        if (!table.occupied(slot) || (user != null && !user.equals(table.user(slot)))) {
          continue;
        }
        String key = session == null ? null : table.key(slot);
        if (key != null && !session.equals(sessionOf(key))) {
          continue;
        }
        if (prefix == null || !table.keyStartsWith(slot, prefix)) {
          pool = poolOf(key != null ? key : table.key(slot));
          prefix = LocationTable.encode(poolPrefix(pool));
        }
        spots.add(pool, table.address(slot));
      }
      if (spots.size() == 0) {
        return null;
      }
      spots.sort();
      if (user == null && session == null) {
        inPageOrder = spots;
      }
      return spots;
    }

    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.HOST_ENTRIES;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeInt(table.size());
      for (int slot = 0; slot < table.capacity(); slot++) {
        if (table.occupied(slot)) {
          out.writeString(table.key(slot));
          locationAt(slot).writeData(out);
        }
      }
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      int size = in.readInt();
      table = LocationTable.withRoomFor(size);
      inPageOrder = null;
      Location location = new Location();
      for (int i = 0; i < size; i++) {
        String key = in.readString();
        location.readData(in);
        table.put(key, location.address, location.fence, location.user);
      }
    }
  }

  /** Serialization boilerplate of the entry processors and predicates below. */
  private abstract static class Serialized implements IdentifiedDataSerializable {
    @Override
    public int getFactoryId() {
      return AllocationSerialization.FACTORY_ID;
    }
  }

  /** Where the lease of one key is, or null. Run on the key's host entry. */
  static final class Lookup extends Serialized implements EntryProcessor<String, HostEntries, Location>, ReadOnly {
    String key;

    public Lookup() {}

    Lookup(String key) {
      this.key = key;
    }

    @Override
    public Location process(Map.Entry<String, HostEntries> entry) {
      HostEntries entries = entry.getValue();
      return entries == null ? null : entries.get(key);
    }

    @Override
    public EntryProcessor<String, HostEntries, Location> getBackupProcessor() {
      return null;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_LOOKUP;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(key);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      key = in.readString();
    }
  }

  /**
   * Points the key at {@code next} when it points nowhere or still at {@code expected} (the stale entry
   * the caller saw). Returns null when bound, else the location the key points at now: a concurrent
   * acquire of the same key won. Run on the key's host entry.
   */
  static final class Bind extends Serialized implements EntryProcessor<String, HostEntries, Location> {
    String key;
    Location expected;
    Location next;

    public Bind() {}

    Bind(String key, Location expected, Location next) {
      this.key = key;
      this.expected = expected;
      this.next = next;
    }

    @Override
    public Location process(Map.Entry<String, HostEntries> entry) {
      HostEntries entries = entry.getValue();
      Location current = entries == null ? null : entries.get(key);
      if (current != null && !current.equals(expected)) {
        return current;
      }
      if (entries == null) {
        entries = new HostEntries();
      }
      entries.put(key, next);
      entry.setValue(entries);
      return null;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_BIND;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(key);
      out.writeBoolean(expected != null);
      if (expected != null) {
        expected.writeData(out);
      }
      next.writeData(out);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      key = in.readString();
      if (in.readBoolean()) {
        expected = new Location();
        expected.readData(in);
      }
      next = new Location();
      next.readData(in);
    }
  }

  /** Removes the key's entry only while it still names the lease with {@code fence}. Run on the key's host entry. */
  static final class Unbind extends Serialized implements EntryProcessor<String, HostEntries, Boolean> {
    String key;
    long fence;

    public Unbind() {}

    Unbind(String key, long fence) {
      this.key = key;
      this.fence = fence;
    }

    @Override
    public Boolean process(Map.Entry<String, HostEntries> entry) {
      HostEntries entries = entry.getValue();
      Location current = entries == null ? null : entries.get(key);
      if (current == null || current.fence != fence) {
        return false;
      }
      entries.remove(key);
      // a host with no lease left has no entry (hosts come and go)
      entry.setValue(entries.isEmpty() ? null : entries);
      return true;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_UNBIND;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(key);
      out.writeLong(fence);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      key = in.readString();
      fence = in.readLong();
    }
  }

  /**
   * A copy of a host's entries, made on the partition's thread: the map's values are changed in place
   * there, so a query (entrySet, values) would read, and serialize, a value while it changes.
   */
  static final class Copy extends Serialized implements EntryProcessor<String, HostEntries, HostEntries>, ReadOnly {
    public Copy() {}

    @Override
    public HostEntries process(Map.Entry<String, HostEntries> entry) {
      HostEntries entries = entry.getValue();
      return entries == null ? null : entries.copy();
    }

    @Override
    public EntryProcessor<String, HostEntries, HostEntries> getBackupProcessor() {
      return null;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_COPY;
    }

    @Override
    public void writeData(ObjectDataOutput out) {}

    @Override
    public void readData(ObjectDataInput in) {}
  }

  /** Removes the entries of one pool (a deleted pool), of every host it is run on. */
  static final class DropPool extends Serialized implements EntryProcessor<String, HostEntries, Boolean> {
    String prefix;

    public DropPool() {}

    DropPool(String pool) {
      this.prefix = poolPrefix(pool);
    }

    @Override
    public Boolean process(Map.Entry<String, HostEntries> entry) {
      HostEntries entries = entry.getValue();
      if (entries == null || !entries.removePool(prefix)) {
        return null;
      }
      entry.setValue(entries.isEmpty() ? null : entries);
      return true;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_DROP_POOL;
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

  /**
   * The spots of a host's entries, of one user and one session when given (null for any); null when
   * none match. Run on one host's entry for a host's allocations, on every entry for a user's or a
   * session's (a scan: a Hazelcast hash index keeps one map per distinct value, and users and sessions
   * are nearly as many as leases, so such an index would cost more heap than the entries themselves,
   * for lookups that administrators make, not agents).
   */
  static final class FindSpots extends Serialized implements EntryProcessor<String, HostEntries, Spots>, ReadOnly {
    String user;
    String session;

    public FindSpots() {}

    FindSpots(String user, String session) {
      this.user = user;
      this.session = session;
    }

    @Override
    public Spots process(Map.Entry<String, HostEntries> entry) {
      HostEntries entries = entry.getValue();
      // the reply is serialized (Hazelcast does so for every entry processor's result), so handing out
      // the host's kept spots shares nothing with the caller
      return entries == null ? null : entries.spots(user, session);
    }

    @Override
    public EntryProcessor<String, HostEntries, Spots> getBackupProcessor() {
      return null;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.OP_FIND_SPOTS;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeString(user);
      out.writeString(session);
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      user = in.readString();
      session = in.readString();
    }
  }

  /**
   * Where leases are (pool and address), what a host, user or session query needs from the index,
   * compactly: each pool's name once, then a pool number and address per spot. In page order (pool
   * name, then address as an unsigned number) as {@link FindSpots} returns them and after
   * {@link #merge}.
   */
  static final class Spots extends Serialized {
    private final List<String> pools = new ArrayList<>(2);
    private int[] poolOf = new int[16];
    private int[] addresses = new int[16];
    private int size;

    public Spots() {}

    void add(String pool, int address) {
      int p = pools.indexOf(pool);
      if (p < 0) {
        p = pools.size();
        pools.add(pool);
      }
      if (size == addresses.length) {
        poolOf = Arrays.copyOf(poolOf, size * 2);
        addresses = Arrays.copyOf(addresses, size * 2);
      }
      poolOf[size] = p;
      addresses[size++] = address;
    }

    int size() {
      return size;
    }

    String pool(int i) {
      return pools.get(poolOf[i]);
    }

    int address(int i) {
      return addresses[i];
    }

    /** Puts the spots in page order: pools ranked by name, then each spot as one number, sorted as primitives. */
    void sort() {
      List<String> ranked = new ArrayList<>(pools);
      ranked.sort(null);
      int[] rankOf = new int[pools.size()];
      for (int p = 0; p < rankOf.length; p++) {
        rankOf[p] = ranked.indexOf(pools.get(p));
      }
      long[] order = new long[size];
      for (int i = 0; i < size; i++) {
        order[i] = (long) rankOf[poolOf[i]] << 32 | Integer.toUnsignedLong(addresses[i]);
      }
      Arrays.sort(order);
      for (int i = 0; i < size; i++) {
        poolOf[i] = (int) (order[i] >>> 32);
        addresses[i] = (int) order[i];
      }
      pools.clear();
      pools.addAll(ranked);
    }

    /** The spots of several replies (of several hosts), in page order. */
    static Spots merge(Iterable<Spots> parts) {
      Spots all = new Spots();
      for (Spots part : parts) {
        if (part != null) {
          for (int i = 0; i < part.size; i++) {
            all.add(part.pool(i), part.addresses[i]);
          }
        }
      }
      all.sort();
      return all;
    }

    @Override
    public int getClassId() {
      return AllocationSerialization.SPOTS;
    }

    @Override
    public void writeData(ObjectDataOutput out) throws IOException {
      out.writeInt(pools.size());
      for (String pool : pools) {
        out.writeString(pool);
      }
      out.writeInt(size);
      for (int i = 0; i < size; i++) {
        out.writeInt(poolOf[i]);
        out.writeInt(addresses[i]);
      }
    }

    @Override
    public void readData(ObjectDataInput in) throws IOException {
      int poolCount = in.readInt();
      for (int i = 0; i < poolCount; i++) {
        pools.add(Names.intern(in.readString()));
      }
      size = in.readInt();
      poolOf = new int[Math.max(size, 1)];
      addresses = new int[Math.max(size, 1)];
      for (int i = 0; i < size; i++) {
        poolOf[i] = in.readInt();
        addresses[i] = in.readInt();
      }
    }
  }

  /** String keys starting with a prefix (a pool's sticky entries). */
  static final class KeyPrefix<V> extends Serialized implements Predicate<String, V> {
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
}
