package io.vipfarm.deploy.store;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.function.BiFunction;

/**
 * What a restore must change in the cluster: the merged rows whose entry the cluster does not hold as
 * stored (a value missing or different, or a deleted entry still present). Ordered pools first (policies
 * name them), then policies, tokens, webhooks; within a kind deletions first, so a pool deleted to make
 * room for an overlapping one is gone before that one is put back.
 */
final class RestorePlan {
  private RestorePlan() {}

  /**
   * @param merged the newest row of each entry over every copy
   * @param current the cluster's text of an entry, null when absent
   */
  static List<StateRow> of(Collection<StateRow> merged, BiFunction<StateKind, String, String> current) {
    List<StateRow> changes = new ArrayList<>();
    for (StateRow row : merged) {
      if (!StateKind.sameValue(row.value(), current.apply(StateKind.ofWireName(row.kind()), row.key()))) {
        changes.add(row);
      }
    }
    changes.sort(Comparator.<StateRow>comparingInt(r -> StateKind.ofWireName(r.kind()).ordinal())
        .thenComparing(r -> !r.isTombstone())
        .thenComparing(StateRow::key));
    return changes;
  }
}
