package io.vipfarm.allocation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A set of ordinals stored as sorted, disjoint, non-adjacent closed ranges, so that excluding a /9
 * out of a /8 costs one range rather than eight million entries. Lookups are binary searches.
 */
public final class OrdinalRanges {

  private final long[] firsts;
  private final long[] lasts;

  private OrdinalRanges(long[] firsts, long[] lasts) {
    this.firsts = firsts;
    this.lasts = lasts;
  }

  /** A closed range {@code [first, last]}. */
  public record Range(long first, long last) {
    public Range {
      if (first > last) {
        throw new IllegalArgumentException("empty range " + first + ".." + last);
      }
    }
  }

  /** Merges overlapping and adjacent ranges. */
  public static OrdinalRanges of(List<Range> ranges) {
    List<Range> sorted = new ArrayList<>(ranges);
    sorted.sort(Comparator.comparingLong(Range::first));
    List<Range> merged = new ArrayList<>();
    for (Range r : sorted) {
      Range last = merged.isEmpty() ? null : merged.get(merged.size() - 1);
      if (last != null && r.first() <= last.last() + 1) {
        merged.set(merged.size() - 1, new Range(last.first(), Math.max(last.last(), r.last())));
      } else {
        merged.add(r);
      }
    }
    long[] firsts = new long[merged.size()];
    long[] lasts = new long[merged.size()];
    for (int i = 0; i < merged.size(); i++) {
      firsts[i] = merged.get(i).first();
      lasts[i] = merged.get(i).last();
    }
    return new OrdinalRanges(firsts, lasts);
  }

  public boolean contains(long ordinal) {
    int i = rangeAtOrBefore(ordinal);
    return i >= 0 && lasts[i] >= ordinal;
  }

  /** The smallest ordinal {@code >= from} that is not in the set. */
  public long firstOutsideFrom(long from) {
    int i = rangeAtOrBefore(from);
    return i >= 0 && lasts[i] >= from ? lasts[i] + 1 : from;
  }

  /** How many ordinals the set holds. */
  public long count() {
    long total = 0;
    for (int i = 0; i < firsts.length; i++) {
      total += lasts[i] - firsts[i] + 1;
    }
    return total;
  }

  /** Index of the last range starting at or before {@code ordinal}, or -1. */
  private int rangeAtOrBefore(long ordinal) {
    int found = Arrays.binarySearch(firsts, ordinal);
    return found >= 0 ? found : -found - 2;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof OrdinalRanges other && Arrays.equals(firsts, other.firsts) && Arrays.equals(lasts, other.lasts);
  }

  @Override
  public int hashCode() {
    return 31 * Arrays.hashCode(firsts) + Arrays.hashCode(lasts);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < firsts.length; i++) {
      sb.append(i == 0 ? "" : ", ").append(firsts[i]).append("..").append(lasts[i]);
    }
    return sb.append(']').toString();
  }
}
