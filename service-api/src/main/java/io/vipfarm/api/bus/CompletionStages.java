package io.vipfarm.api.bus;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * Brings a {@link CompletionStage} (Hazelcast's async API) back onto a Vert.x context.
 *
 * <p>Why not {@code Future.fromCompletionStage}: it registers a plain {@code whenComplete}, and
 * Hazelcast runs such callbacks on its default async executor, which on a machine whose common
 * fork-join pool has fewer than two threads (any 2-core host) starts a new thread for every
 * callback. Here the callback runs directly on the thread that completes the stage and does nothing
 * but hand the result to the context, so no thread is created and nothing blocks.
 */
public final class CompletionStages {
  private CompletionStages() {}

  public static <T> Future<T> onContext(CompletionStage<T> stage, Context context) {
    Promise<T> promise = Promise.promise();
    stage.whenCompleteAsync((value, err) -> context.runOnContext(ignored -> {
      if (err != null) {
        promise.fail(err instanceof CompletionException && err.getCause() != null ? err.getCause() : err);
      } else {
        promise.complete(value);
      }
    }), Runnable::run);
    return promise.future();
  }
}
