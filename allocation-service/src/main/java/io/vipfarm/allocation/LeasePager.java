package io.vipfarm.allocation;

import io.vipfarm.allocation.Messages.Leases;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationRows;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * One page of live leases in page order (pool name, then address), reading only the blocks the page
 * needs. The caller lists the steps in page order, each a block and the position up to which reading
 * it makes the matching leases known (an index entry's address, or a block's last address); the pager
 * reads them in rounds, each round as many as could fill the page, until more than a page is known or
 * every step is read. Plain Java: the block reads are the caller's function.
 */
final class LeasePager {
  private LeasePager() {}

  /**
   * Reading {@code block} makes every matching lease up to ({@code pool}, {@code upTo}) known, and
   * adds at most {@code rows} rows before that position (1 for an index entry, a block's size for a
   * block).
   */
  record Step(BlockKey block, String pool, long upTo, int rows) {
    static Step ofAddress(String pool, int address) {
      return new Step(new BlockKey(pool, AddressBlock.numberOf(address)), pool, Integer.toUnsignedLong(address), 1);
    }

    static Step ofBlock(String pool, int number) {
      long last = ((long) number << AddressBlock.BITS) | (AddressBlock.SIZE - 1);
      return new Step(new BlockKey(pool, number), pool, last, AddressBlock.SIZE);
    }

    Position position() {
      return new Position(pool, upTo);
    }
  }

  /** A place in page order: pool name, then the address as an unsigned number. */
  record Position(String pool, long address) implements Comparable<Position> {
    @Override
    public int compareTo(Position o) {
      int byPool = pool.compareTo(o.pool);
      return byPool != 0 ? byPool : Long.compare(address, o.address);
    }
  }

  private record Row(String pool, HeldLease lease) {}

  /**
   * @param steps in page order, all after the request's position
   * @param read the matching live leases of the given blocks, by block
   */
  static AllocationPage page(List<Step> steps, AllocationPageRequest request,
      Function<Set<BlockKey>, Map<BlockKey, Leases>> read) {
    int limit = request.limit();
    TreeMap<Position, Row> found = new TreeMap<>();
    Set<BlockKey> readBlocks = new HashSet<>();
    Position complete = null;
    int next = 0;
    for (int round = 0; next < steps.size(); round++) {
      int known = complete == null ? 0 : found.headMap(complete, true).size();
      if (known > limit) {
        break;
      }
      // enough steps to fill the page if each adds what it may; a few more each round (sparse blocks)
      int need = limit + 1 - known;
      int minSteps = 4 << Math.min(round, 12);
      Set<BlockKey> batch = new LinkedHashSet<>();
      int expected = 0;
      for (int taken = 0; next < steps.size() && (expected < need || taken < minSteps); taken++) {
        Step step = steps.get(next++);
        if (readBlocks.add(step.block())) {
          batch.add(step.block());
        }
        expected += step.rows();
        complete = step.position();
      }
      if (!batch.isEmpty()) {
        read.apply(batch).forEach((key, leases) -> {
          for (HeldLease lease : leases.leases) {
            long address = Integer.toUnsignedLong(lease.address());
            if (AllocationRows.after(key.pool(), address, request)) {
              found.put(new Position(key.pool(), address), new Row(key.pool(), lease));
            }
          }
        });
      }
    }
    Collection<Row> known = next == steps.size() || complete == null ? found.values()
        : found.headMap(complete, true).values();
    StringBuilder out = new StringBuilder(64 + 170 * Math.min(limit, known.size())).append('[');
    int count = 0;
    Row last = null;
    for (Row row : known) {
      if (count == limit) {
        break;
      }
      if (count > 0) {
        out.append(',');
      }
      HeldLease lease = row.lease();
      LeaseHolder holder = lease.holder();
      AllocationRows.append(out, lease.addressText(), row.pool(), holder.hostId(), holder.sessionId(),
          holder.program(), lease.user(), lease.expiresAt());
      count++;
      last = row;
    }
    out.append(']');
    return new AllocationPage(out.toString(), count, last == null ? null : last.pool(),
        last == null ? null : last.lease().addressText(), known.size() > limit);
  }
}
