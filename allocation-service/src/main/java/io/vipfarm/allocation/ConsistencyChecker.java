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

  /**
   * Index anomalies that a lease acquired or released between the check's reads of the blocks and of the
   * index also produces, with the index keys and blocks a second look must read to confirm them.
   */
  static final class Suspects {
    final Set<Anomaly> anomalies = new HashSet<>();
    final Set<String> indexKeys = new HashSet<>();
    final Set<BlockKey> blocks = new HashSet<>();

    boolean isEmpty() {
      return anomalies.isEmpty();
    }

    private void add(Anomaly anomaly, String indexKey, BlockKey leaseBlock, Location location) {
      anomalies.add(anomaly);
      indexKeys.add(indexKey);
      if (leaseBlock != null) {
        blocks.add(leaseBlock);
      }
      if (location != null) {
        blocks.add(BlockKey.of(poolOfKey(indexKey), location.address));
      }
    }
  }

  static ConsistencyReport check(Map<String, PoolRecord> records, Map<BlockKey, AddressBlock> blocks,
      Map<String, Location> index, long now, long graceMs) {
    return check(records, blocks, index, now, graceMs, new Suspects());
  }

  /** The check; every index anomaly also goes to {@code suspects}. */
  static ConsistencyReport check(Map<String, PoolRecord> records, Map<BlockKey, AddressBlock> blocks,
      Map<String, Location> index, long now, long graceMs, Suspects suspects) {
    List<Anomaly> anomalies = new ArrayList<>();
    // the first holder seen per address; descriptions are only built for anomalies (a farm has 100,000s of leases)
    Map<Integer, Holder> holderByAddress = new HashMap<>();
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
        if (foreign) {
          anomalies.add(new Anomaly(ConsistencyReport.OUTSIDE_POOL, pool, lease.addressText(),
              who(lease) + " is in a block of no existing pool '" + pool + "'"));
        } else {
          PoolDefinition def = record.definition();
          if (!def.cidr().contains(lease.address()) || lease.address() != block.firstAddress() + o) {
            anomalies.add(new Anomaly(ConsistencyReport.OUTSIDE_POOL, pool, lease.addressText(),
                who(lease) + " lies outside " + def.cidr() + " or outside its block " + e.getKey()));
          } else if (!def.isUsable(lease.address())) {
            anomalies.add(new Anomaly(ConsistencyReport.EXCLUDED_ADDRESS, pool, lease.addressText(),
                who(lease) + " is excluded (or the network/broadcast address) in " + def.cidr()));
          } else {
            String reservedFor = def.reservedFor(lease.address());
            if (reservedFor != null && !reservedFor.equals(lease.user())) {
              anomalies.add(new Anomaly(ConsistencyReport.RESERVED_FOR_OTHER, pool, lease.addressText(),
                  who(lease) + " is reserved for user " + reservedFor));
            }
          }
        }
        Holder other = holderByAddress.putIfAbsent(lease.address(), new Holder(pool, lease.holder()));
        if (other != null) {
          anomalies.add(new Anomaly(ConsistencyReport.DUPLICATE_ADDRESS, pool, lease.addressText(),
              lease.addressText() + " is held by " + other + " and by " + pool + " " + lease.holder()));
        }
        String key = LeaseIndex.key(pool, lease.holder());
        Location location = index.get(key);
        if (location == null) {
          if (now - lease.grantedAt() >= graceMs) {
            Anomaly a = new Anomaly(ConsistencyReport.INDEX_MISMATCH, pool, lease.addressText(), who(lease) + " has no index entry");
            anomalies.add(a);
            suspects.add(a, key, e.getKey(), null);
          }
        } else if (location.address != lease.address() || location.fence != lease.fence()) {
          if (!indexPointsAtLiveLease(location, pool, lease.holder(), blocks)) {
            Anomaly a = new Anomaly(ConsistencyReport.INDEX_MISMATCH, pool, lease.addressText(),
                who(lease) + " with fence " + lease.fence() + " is indexed as " + location);
            anomalies.add(a);
            suspects.add(a, key, e.getKey(), location);
          } else if (now - lease.grantedAt() >= graceMs) {
            // a younger one is an acquire's grant whose bind found the key's live lease: it is being given back
            Anomaly a = new Anomaly(ConsistencyReport.INDEX_MISMATCH, pool, lease.addressText(),
                lease.holder() + " holds two leases: " + who(lease) + " and " + location);
            anomalies.add(a);
            suspects.add(a, key, e.getKey(), location);
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
        Anomaly a = new Anomaly(ConsistencyReport.INDEX_MISMATCH, poolOfKey(key), index.get(key).toString(),
            "index entry " + key + " points at " + index.get(key) + ", where the key holds no lease");
        anomalies.add(a);
        suspects.add(a, key, null, index.get(key));
      }
    }
    return new ConsistencyReport(now, records.size(), blocks.size(), live, anomalies);
  }

  /**
   * The index keys a second look reads: the suspects' own and those of every lease held in the blocks read
   * again (without their entries, a look at only these blocks would find their leases unindexed).
   */
  static Set<String> indexKeysToReread(Suspects suspects, Map<BlockKey, AddressBlock> blocksReread) {
    Set<String> keys = new HashSet<>(suspects.indexKeys);
    blocksReread.forEach((blockKey, block) -> {
      for (HeldLease lease : block.slots()) {
        if (lease != null) {
          keys.add(LeaseIndex.key(blockKey.pool(), lease.holder()));
        }
      }
    });
    return keys;
  }

  /**
   * {@code first} with each suspect index anomaly kept only when {@code second}, a check of the suspects'
   * blocks and keys read again afterwards, found it too: a release or acquire caught between the reads
   * looks like an anomaly once, a broken index entry every time.
   */
  static ConsistencyReport confirmed(ConsistencyReport first, Suspects suspects, ConsistencyReport second) {
    Set<Anomaly> again = new HashSet<>(second.anomalies());
    List<Anomaly> kept = new ArrayList<>();
    for (Anomaly a : first.anomalies()) {
      if (!suspects.anomalies.contains(a) || again.contains(a)) {
        kept.add(a);
      }
    }
    return new ConsistencyReport(first.checkedAt(), first.pools(), first.blocks(), first.leases(), kept);
  }

  private record Holder(String pool, LeaseHolder holder) {
    @Override
    public String toString() {
      return pool + " " + holder;
    }
  }

  private static String who(HeldLease lease) {
    return lease.addressText() + " held by " + lease.holder() + " (user " + lease.user() + ")";
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
