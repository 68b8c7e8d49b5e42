package io.vipfarm.deploy;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition by polling, with a bound: tests never sleep a fixed time and hope. */
final class Poll {
  private Poll() {}

  static void until(String what, Duration limit, BooleanSupplier condition) {
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.getAsBoolean()) {
        return;
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what);
      }
    }
    throw new AssertionError("timed out after " + limit.toSeconds() + " s waiting for " + what);
  }
}
