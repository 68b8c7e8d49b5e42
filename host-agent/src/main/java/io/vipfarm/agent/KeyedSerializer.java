package io.vipfarm.agent;

import io.vertx.core.Future;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Runs asynchronous operations one after the other per key: an operation on a key starts when the
 * previous one on that key has completed, whatever its outcome. Operations on different keys overlap.
 * Used from one event loop only.
 */
final class KeyedSerializer<K> {
  private final Map<K, Future<?>> tails = new HashMap<>();

  <T> Future<T> run(K key, Supplier<Future<T>> operation) {
    Future<?> previous = tails.getOrDefault(key, Future.succeededFuture());
    Future<T> next = previous.transform(ignored -> start(operation));
    tails.put(key, next);
    next.onComplete(ignored -> tails.remove(key, next));
    return next;
  }

  /** Completes when every operation queued so far has completed. */
  Future<Void> drained() {
    List<Future<?>> pending = new ArrayList<>(tails.values());
    return Future.join(pending).<Void>mapEmpty().otherwiseEmpty();
  }

  private static <T> Future<T> start(Supplier<Future<T>> operation) {
    try {
      return operation.get();
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }
}
