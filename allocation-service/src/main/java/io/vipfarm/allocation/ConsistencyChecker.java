package io.vipfarm.allocation;

import io.vipfarm.allocation.LeaseIndex.Location;
import io.vipfarm.api.model.ConsistencyReport;
import io.vipfarm.api.model.ConsistencyReport.Anomaly;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The consistency check over a snapshot of every pool record, block and index entry: plain Java, so
 * it can be tested on state corrupted on purpose. Reports, per live lease: the same address held twice
 * (in one pool or across pools), an address outside its pool (or a block of no pool), excluded, or
 * reserved for another user; index entries that do not match a lease and leases older than the grace
 * period without an index entry (or besides the key's indexed live lease); and blocks whose used mask disagrees with their lease slots.
 */
final class ConsistencyChecker {
  private ConsistencyChecker() {}

  static ConsistencyReport check(Map<String, PoolRecord> records, Map<BlockKey, AddressBlock> blocks,
      Map<String, Location> index, long now, long graceMs) {
    List<Anomaly> anomalies = new ArrayList<>();
    Map<Integer, String> holderByAddress = new HashMap<>();
    Set<String> indexedKeysSeen = new HashSet<>();
    long live = 0;
    List<Map.Entry<BlockKey, AddressBlock>> ordered = new ArrayList<>(blocks.entrySet());
    ordered.sort(Map.Entry.comparingByKey(Comparator.comparing(BlockKey::pool).thenComparingInt(BlockKey::number)));
    for (Map.Entry<BlockKey, AddressBlock> e : ordered) {
      String pool = e.getKey().pool();
      AddressBlock block = e.getValue();
      PoolRecord record = records.get(pool);
      boolean foreign = record == null || record.incarnation() != block.incarnation();
      HeldLease[] slots = block.slots();
      int filled = 0;
      for (int o = 0; o < slots.length; o++) {
        HeldLease lease = slots[o];
        if (lease == null) {
          continue;
        }
        filled++;
        if (!lease.isLiveAt(now)) {
          continue;
        }
        live++;
        String address = lease.addressText();
        String who = address + " held by " + lease.holder() + " (user " + lease.user() + ")";
        if (foreign) {
          anomalies.add(new Anomaly(ConsistencyReport.OUTSIDE_POOL, pool, address,
              who + " is in a block of no existing pool '" + pool + "'"));
        } else {
          PoolDefinition def = record.definition();
          if (!def.cidr().contains(lease.address()) || lease.address() != block.firstAddress() + o) {
            anomalies.add(new Anomaly(ConsistencyReport.OUTSIDE_POOL, pool, address,
                who + " lies outside " + def.cidr() + " or outside its block " + e.getKey()));
          } else if (!def.isUsable(lease.address())) {
            anomalies.add(new Anomaly(ConsistencyReport.EXCLUDED_ADDRESS, pool, address,
                who + " is excluded (or the network/broadcast address) in " + def.cidr()));
          } else {
            String reservedFor = def.reservedFor(lease.address());
            if (reservedFor != null && !reservedFor.equals(lease.user())) {
              anomalies.add(new Anomaly(ConsistencyReport.RESERVED_FOR_OTHER, pool, address,
                  who + " is reserved for user " + reservedFor));
            }
          }
        }
        String other = holderByAddress.putIfAbsent(lease.address(), pool + " " + lease.holder());
        if (other != null) {
          anomalies.add(new Anomaly(ConsistencyReport.DUPLICATE_ADDRESS, pool, address,
              address + " is held by " + other + " and by " + pool + " " + lease.holder()));
        }
        String key = LeaseIndex.key(pool, lease.holder());
        Location location = index.get(key);
        if (location == null) {
          if (now - lease.grantedAt() >= graceMs) {
            anomalies.add(new Anomaly(ConsistencyReport.INDEX_MISMATCH, pool, address,
                who + " has no index entry"));
          }
        } else if (location.address != lease.address() || location.fence != lease.fence()) {
          if (!indexPointsAtLiveLease(location, pool, lease.holder(), blocks)) {
            anomalies.add(new Anomaly(ConsistencyReport.INDEX_MISMATCH, pool, address,
                who + " with fence " + lease.fence() + " is indexed as " + location));
          } else if (now - lease.grantedAt() >= graceMs) {
            // a younger one is an acquire's grant whose bind found the key's live lease: it is being given back
            anomalies.add(new Anomaly(ConsistencyReport.INDEX_MISMATCH, pool, address,
                lease.holder() + " holds two leases: " + who + " and " + location));
          }
        } else {
          indexedKeysSeen.add(key);
        }
      }
      if (filled != Long.bitCount(block.usedMask())) {
        anomalies.add(new Anomaly(ConsistencyReport.USED_COUNT_MISMATCH, pool, Ipv4Address.format(block.firstAddress()),
            "block " + e.getKey() + " counts " + Long.bitCount(block.usedMask()) + " used addresses but holds " + filled + " leases"));
      }
    }
    List<String> keys = new ArrayList<>(index.keySet());
    keys.sort(null);
    for (String key : keys) {
      if (!indexedKeysSeen.contains(key) && !leaseExistsFor(key, index.get(key), blocks, now)) {
        anomalies.add(new Anomaly(ConsistencyReport.INDEX_MISMATCH, poolOfKey(key), index.get(key).toString(),
            "index entry " + key + " points at " + index.get(key) + ", where the key holds no lease"));
      }
    }
    return new ConsistencyReport(now, records.size(), blocks.size(), live, anomalies);
  }

  private static boolean indexPointsAtLiveLease(Location location, String pool, LeaseHolder holder, Map<BlockKey, AddressBlock> blocks) {
    AddressBlock block = blocks.get(BlockKey.of(pool, location.address));
    if (block == null) {
      return false;
    }
    HeldLease at = block.slots()[location.address - block.firstAddress()];
    return at != null && at.holder().equals(holder) && at.fence() == location.fence;
  }

  /** An entry is fine when its block holds a lease (live, or expired and not yet swept) with its fence. */
  private static boolean leaseExistsFor(String key, Location location, Map<BlockKey, AddressBlock> blocks, long now) {
    String pool = poolOfKey(key);
    AddressBlock block = blocks.get(BlockKey.of(pool, location.address));
    if (block == null) {
      return false;
    }
    HeldLease at = block.slots()[location.address - block.firstAddress()];
    return at != null && at.fence() == location.fence && LeaseIndex.key(pool, at.holder()).equals(key) && !at.isLiveAt(now);
  }

  /** The pool part of a length-prefixed index key. */
  static String poolOfKey(String key) {
    int colon = key.indexOf(':');
    int length = Integer.parseInt(key.substring(0, colon));
    return key.substring(colon + 1, colon + 1 + length);
  }
}
