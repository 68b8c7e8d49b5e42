package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class JitWarmUpTest {
  /** A scripted JIT: each chunk takes 1 s and the JIT compiles the given ms during chunk i (1-based). */
  private static JitWarmUp.Result run(int min, int max, long... compileMsPerChunk) throws Exception {
    AtomicLong clock = new AtomicLong();
    AtomicLong compiled = new AtomicLong();
    AtomicInteger chunk = new AtomicInteger();
    return JitWarmUp.untilSteady(min, max, () -> {
      int i = chunk.getAndIncrement();
      clock.addAndGet(1_000_000_000L);
      compiled.addAndGet(i < compileMsPerChunk.length ? compileMsPerChunk[i] : 0);
    }, compiled::get, clock::get);
  }

  @Test
  @DisplayName("stops after two quiet chunks in a row, not after one")
  void twoQuietChunksInARow() throws Exception {
    JitWarmUp.Result r = run(2, 20, 900, 800, 10, 600, 20, 30, 700);
    assertThat(r.chunks()).isEqualTo(6);
    assertThat(r.settled()).isTrue();
    assertThat(r.lastShare()).isEqualTo(0.03);
  }

  @Test
  @DisplayName("runs at least the minimum even when the JIT is quiet from the start")
  void minimumChunks() throws Exception {
    assertThat(run(5, 20).chunks()).isEqualTo(5);
  }

  @Test
  @DisplayName("gives up at the maximum and says the JIT had not settled")
  void maximumChunks() throws Exception {
    JitWarmUp.Result r = run(2, 4, 900, 900, 900, 900, 900);
    assertThat(r.chunks()).isEqualTo(4);
    assertThat(r.settled()).isFalse();
    assertThat(r.lastShare()).isEqualTo(0.9);
  }

  @Test
  @DisplayName("without compile-time monitoring it runs the minimum and does not claim a steady state")
  void notMonitored() throws Exception {
    AtomicInteger chunks = new AtomicInteger();
    JitWarmUp.Result r = JitWarmUp.untilSteady(3, 20, chunks::incrementAndGet, null, System::nanoTime);
    assertThat(chunks.get()).isEqualTo(3);
    assertThat(r.settled()).isFalse();
  }
}
