package io.vipfarm.deploy.store;

import com.hazelcast.cluster.Member;
import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.core.IExecutorService;
import com.hazelcast.splitbrainprotection.SplitBrainProtectionException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.PoolSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One restore pass: gather every running member's copy, merge (newest wins), give the merged rows to
 * every member's copy (so the stamps survive: a restored entry is not a new write), then apply what
 * the cluster lacks. Pools and policies go through their services (the same validation and overlap
 * rules as API writes); tokens and webhooks are put back into their maps as stored. A row the cluster
 * refuses (say an overlapping pool was created meanwhile) is logged and left alone; a row that failed
 * because the cluster is not ready (no quorum yet, a service not yet published) is tried again by the
 * next pass.
 */
final class StateRestore {
  private static final Logger LOG = LoggerFactory.getLogger(StateRestore.class);
  private static final long MEMBER_TIMEOUT_S = 30;

  private final Vertx vertx;
  private final HazelcastInstance hazelcast;
  private final AllocationService allocation;
  private final PolicyService policies;
  /** Rows refused for good, by the row that was refused: not retried unless a newer row comes. */
  private final Map<StateRow.Id, StateRow> refused = new HashMap<>();

  StateRestore(Vertx vertx, HazelcastInstance hazelcast, AllocationService allocation, PolicyService policies) {
    this.vertx = vertx;
    this.hazelcast = hazelcast;
    this.allocation = allocation;
    this.policies = policies;
  }

  /** Runs one pass; answers how many changes must be tried again later. */
  Future<Integer> pass() {
    return vertx.executeBlocking(this::mergedChanges, false).compose(changes -> {
      Future<Integer> chain = Future.succeededFuture(0);
      for (StateRow row : changes) {
        chain = chain.compose(retry -> apply(row).transform(done -> {
          if (done.succeeded()) {
            LOG.info("restored {} '{}'{}", row.kind(), row.key(), row.isTombstone() ? " (deleted)" : "");
            return Future.succeededFuture(retry);
          }
          if (retryable(done.cause())) {
            LOG.debug("restoring {} '{}' must wait: {}", row.kind(), row.key(), done.cause().toString());
            return Future.succeededFuture(retry + 1);
          }
          refused.put(row.id(), row);
          LOG.warn("{} '{}' from the state store was not restored: {}", row.kind(), row.key(), message(done.cause()));
          return Future.succeededFuture(retry);
        }));
      }
      return chain;
    });
  }

  /** Merges every member's copy and hands the result to every member, without touching the cluster's maps. */
  Future<Void> syncCopies() {
    return vertx.executeBlocking(() -> {
      mergeCopies();
      return null;
    }, false);
  }

  /** Gathers, merges, hands out; returns the rows to apply. Blocking. */
  private List<StateRow> mergedChanges() throws Exception {
    List<StateRow> changes = RestorePlan.of(mergeCopies(), this::clusterText);
    changes.removeIf(row -> row.equals(refused.get(row.id())));
    return changes;
  }

  /** Every running member's copy, merged (newest wins) and offered back to each. Blocking. */
  private Collection<StateRow> mergeCopies() throws Exception {
    IExecutorService executor = hazelcast.getExecutorService(DurableState.EXECUTOR);
    List<StateRow> all = new ArrayList<>();
    for (Map.Entry<Member, java.util.concurrent.Future<ArrayList<StateRow>>> e
        : executor.submitToAllMembers(new MemberRows.Read()).entrySet()) {
      all.addAll(e.getValue().get(MEMBER_TIMEOUT_S, TimeUnit.SECONDS));
    }
    Collection<StateRow> merged = StateRow.newest(all).values();
    for (java.util.concurrent.Future<Integer> stored : executor.submitToAllMembers(new MemberRows.Offer(List.copyOf(merged))).values()) {
      stored.get(MEMBER_TIMEOUT_S, TimeUnit.SECONDS);
    }
    return merged;
  }

  private String clusterText(StateKind kind, String key) {
    Object value = hazelcast.getMap(kind.mapName()).get(key);
    return value == null ? null : kind.encode(value);
  }

  private Future<?> apply(StateRow row) {
    StateKind kind = StateKind.ofWireName(row.kind());
    try {
      return switch (kind) {
        case POOL -> row.isTombstone()
            ? allocation.deletePool(row.key()).recover(err -> absent(err, ErrorType.UNKNOWN_POOL))
            : allocation.putPool(Json.fromJson(new JsonObject(row.value()), PoolSpec.class));
        case POLICY -> row.isTombstone()
            ? policies.delete(row.key()).recover(err -> absent(err, ErrorType.UNKNOWN_POLICY))
            : policies.put(Json.fromJson(new JsonObject(row.value()), PolicyDocument.class));
        case TOKEN, WEBHOOK -> vertx.executeBlocking(() -> {
          if (row.isTombstone()) {
            hazelcast.getMap(kind.mapName()).delete(row.key());
          } else {
            if (!row.key().equals(new JsonObject(row.value()).getString("id"))) {
              throw VipfarmException.invalidField("id", "does not match its key '" + row.key() + "'");
            }
            hazelcast.getMap(kind.mapName()).set(row.key(), row.value());
          }
          return null;
        }, false);
      };
    } catch (RuntimeException e) {
      // a stored text that no longer parses (hand-edited, or from an incompatible version)
      return Future.failedFuture(e);
    }
  }

  private static Future<Void> absent(Throwable err, ErrorType gone) {
    return err instanceof VipfarmException v && v.type() == gone ? Future.succeededFuture() : Future.failedFuture(err);
  }

  /** The cluster is not ready yet, as opposed to refusing the entry. */
  private static boolean retryable(Throwable err) {
    if (err instanceof VipfarmException v) {
      return v.type() == ErrorType.SERVICE_UNAVAILABLE || v.type() == ErrorType.TOO_MANY_RETRIES;
    }
    return err instanceof SplitBrainProtectionException || err instanceof com.hazelcast.core.HazelcastException;
  }

  private static String message(Throwable err) {
    return err instanceof VipfarmException v ? v.type() + ": " + v.detail() : err.toString();
  }
}
