package io.vipfarm.allocation;

import io.vertx.core.Future;
import io.vipfarm.api.VipfarmException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Blocks a test thread (never an event loop) on a future. */
final class Await {
  private Await() {}

  static <T> T result(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new AssertionError("failed", e.getCause());
    } catch (Exception e) {
      throw new AssertionError("did not complete", e);
    }
  }

  /** The {@link VipfarmException} the future failed with. */
  static VipfarmException failure(Future<?> future) {
    try {
      Object value = result(future);
      throw new AssertionError("expected a failure, got " + value);
    } catch (VipfarmException e) {
      return e;
    }
  }
}
