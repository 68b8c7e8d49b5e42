package io.vipfarm.allocation;

import io.vipfarm.allocation.Messages.Leases;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationRows;
import io.vipfarm.api.model.JsonBytes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
  }

  /** A lease found, with its place in page order as one number (the pool's rank among the steps', then the address). */
  private record Row(long order, String pool, HeldLease lease) {}

  /**
   * @param steps in page order, all after the request's position
   * @param read the matching live leases of the given blocks, by block
   */
  static AllocationPage page(List<Step> steps, AllocationPageRequest request,
      Function<Set<BlockKey>, Map<BlockKey, Leases>> read) {
    int limit = request.limit();
    // the steps are in page order, so their pools rank in the order they first come
    Map<String, Integer> rankOf = new HashMap<>();
    List<Row> found = new ArrayList<>(2 * limit + 2);
    Set<BlockKey> readBlocks = new HashSet<>();
    long complete = -1; // every matching lease up to here (in page order) is found
    int next = 0;
    for (int round = 0; next < steps.size(); round++) {
      int known = complete < 0 ? 0 : countUpTo(found, complete);
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
        complete = order(rank(rankOf, step.pool()), step.upTo());
      }
      if (!batch.isEmpty()) {
        read.apply(batch).forEach((key, leases) -> {
          int rank = rank(rankOf, key.pool());
          for (HeldLease lease : leases.leases) {
            long address = Integer.toUnsignedLong(lease.address());
            if (AllocationRows.after(key.pool(), address, request)) {
              found.add(new Row(order(rank, address), key.pool(), lease));
            }
          }
        });
      }
    }
    // blocks are read in page order and keep their leases in address order: nearly sorted already
    found.sort(Comparator.comparingLong(Row::order));
    int known = next == steps.size() || complete < 0 ? found.size() : countUpTo(found, complete);
    int count = Math.min(limit, known);
    JsonBytes out = new JsonBytes(64 + 170 * count).ascii('[');
    for (int i = 0; i < count; i++) {
      if (i > 0) {
        out.ascii(',');
      }
      Row row = found.get(i);
      HeldLease lease = row.lease();
      LeaseHolder holder = lease.holder();
      AllocationRows.append(out, lease.addressText(), row.pool(), holder.hostId(), holder.sessionId(),
          holder.program(), lease.user(), lease.expiresAt());
    }
    out.ascii(']');
    Row last = count == 0 ? null : found.get(count - 1);
    return new AllocationPage(out.toByteArray(), count, last == null ? null : last.pool(),
        last == null ? null : last.lease().addressText(), known > limit);
  }

  private static long order(int rank, long address) {
    return (long) rank << 32 | address;
  }

  private static int rank(Map<String, Integer> rankOf, String pool) {
    return rankOf.computeIfAbsent(pool, p -> rankOf.size());
  }

  private static int countUpTo(List<Row> rows, long order) {
    int n = 0;
    for (Row row : rows) {
      if (row.order() <= order) {
        n++;
      }
    }
    return n;
  }
}
