package io.vipfarm.deploy;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.function.LongSupplier;

/**
 * Warm-up that ends when the JIT has settled, for the benchmarks' steady-state figures.
 *
 * <p>Why: on a 2-CPU host the one C2 compiler thread falls behind a loaded process. After 100,000
 * acquires it still compiled the acquire path's own methods for the first time, and took ~40 % of the
 * process's CPU in the measured phase (perf), which doubled the CPU per request and set the tail. A
 * fixed count that is enough on one machine is not on another, so the benchmarks run chunks of
 * unmeasured work until two chunks in a row saw the JIT compile for less than {@link #STEADY_SHARE} of
 * their wall time (compile time summed over the compiler threads, {@link CompilationMXBean}): C2 works in
 * bursts, and one quiet chunk was followed by a busy measured phase.
 */
final class JitWarmUp {
  /** A benchmark's {@code --warmup auto}: warm up until the JIT has settled, instead of a fixed count. */
  static final int AUTO = -1;

  /** Two chunks in a row whose compile time is under this share of their wall time end the warm-up. */
  static final double STEADY_SHARE = 0.05;

  @FunctionalInterface
  interface Chunk {
    void run() throws Exception;
  }

  /** What a warm-up did: chunks run, whether the JIT settled, the last chunk's compile share. */
  record Result(int chunks, boolean settled, double lastShare) {}

  private JitWarmUp() {}

  /**
   * Runs {@code chunk} at least {@code minChunks} and at most {@code maxChunks} times, stopping after
   * the second chunk in a row (from {@code minChunks} on) during which the JIT was below {@link #STEADY_SHARE}.
   * Without compile-time monitoring in this JVM it runs {@code minChunks}.
   */
  static Result untilSteady(int minChunks, int maxChunks, Chunk chunk) throws Exception {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    boolean monitored = jit != null && jit.isCompilationTimeMonitoringSupported();
    return untilSteady(minChunks, maxChunks, chunk, monitored ? jit::getTotalCompilationTime : null, System::nanoTime);
  }

  /** The JIT's total compile time so far in ms (over its compiler threads), or -1 when this JVM does not tell. */
  static long totalCompileMillis() {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit.getTotalCompilationTime() : -1;
  }

  /** The same with the JIT's total compile time in ms ({@code null}: not monitored) and the clock given. */
  static Result untilSteady(int minChunks, int maxChunks, Chunk chunk, LongSupplier compileMillis,
      LongSupplier nanoTime) throws Exception {
    double share = Double.NaN;
    int quiet = 0;
    for (int i = 1; i <= maxChunks; i++) {
      long compileMs = compileMillis == null ? 0 : compileMillis.getAsLong();
      long t = nanoTime.getAsLong();
      chunk.run();
      double wallMs = (nanoTime.getAsLong() - t) / 1e6;
      if (compileMillis == null) {
        if (i >= minChunks) {
          return new Result(i, false, Double.NaN);
        }
        continue;
      }
      share = (compileMillis.getAsLong() - compileMs) / Math.max(wallMs, 1.0);
      quiet = share < STEADY_SHARE ? quiet + 1 : 0;
      if (i >= minChunks && quiet >= 2) {
        return new Result(i, true, share);
      }
    }
    return new Result(maxChunks, false, share);
  }
}
