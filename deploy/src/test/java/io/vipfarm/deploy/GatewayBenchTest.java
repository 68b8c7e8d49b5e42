package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The gateway benchmark end to end, with tiny numbers: a real node, real HTTP, real SSE subscribers. */
class GatewayBenchTest {

  @Test
  @Timeout(240)
  void smallRunDeliversEveryEventOnceAndEndsWithAJsonLine() throws Exception {
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    String line;
    try (PrintStream out = new PrintStream(printed, true, StandardCharsets.UTF_8)) {
      // in its own thread, so that a stuck run says which phase it was in
      CompletableFuture<String> run = CompletableFuture.supplyAsync(() -> {
        try {
          return GatewayBench.run(List.of("--leases", "500", "--hosts", "10", "--requests", "50", "--warmup", "10",
              "--page-requests", "2", "--subscribers", "5", "--events", "5"), out);
        } catch (Exception e) {
          throw new CompletionException(e);
        }
      });
      try {
        // longer than the bench's own deadlines (a request 60 s, closing 90 s), so that its own error shows
        line = run.get(200, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        throw new AssertionError("the bench failed; it printed:\n" + printed.toString(StandardCharsets.UTF_8), e);
      } catch (TimeoutException e) {
        throw new AssertionError("the bench did not finish; it printed:\n" + printed.toString(StandardCharsets.UTF_8)
            + "\nthreads now:\n" + threadDump(), e);
      }
    }
    String[] lines = printed.toString(StandardCharsets.UTF_8).strip().split("\n");
    assertThat(lines[lines.length - 1]).isEqualTo(line);

    JsonObject result = new JsonObject(line);
    assertThat(result.getInteger("leases")).isEqualTo(500);
    assertThat(result.getInteger("subscribers")).isEqualTo(5);
    assertThat(result.getInteger("events")).isEqualTo(5);
    assertThat(result.getInteger("missedDeliveries")).isZero();
    assertThat(result.getInteger("duplicateDeliveries")).isZero();
    for (String figure : List.of("healthP99Ms", "allocationsByHostP50Ms", "allocationsByHostP99Ms", "eventP50Ms",
        "eventP99Ms", "healthCpuMsPerRequest", "allocationsByHostCpuMsPerRequest")) {
      assertThat(result.getDouble(figure)).as(figure).isPositive();
    }
  }

  /** Where each Vert.x, Hazelcast and bench thread stands: what a stuck phase waits on. */
  private static String threadDump() {
    StringBuilder dump = new StringBuilder();
    Thread.getAllStackTraces().forEach((thread, stack) -> {
      String name = thread.getName();
      if (name.startsWith("vert.x") || name.startsWith("hz.") || name.contains("ForkJoinPool")) {
        dump.append(name).append(' ').append(thread.getState()).append('\n');
        for (int i = 0; i < Math.min(12, stack.length); i++) {
          dump.append("    at ").append(stack[i]).append('\n');
        }
      }
    });
    return dump.toString();
  }

  @Test
  void refusesBadOptions() {
    assertThatThrownBy(() -> GatewayBench.Options.parse(List.of("--leases", "-1")))
        .isInstanceOf(UsageException.class).hasMessageContaining("--leases");
    assertThatThrownBy(() -> GatewayBench.Options.parse(List.of("--leases", "300", "--cidr", "127.1.0.0/24")))
        .isInstanceOf(UsageException.class).hasMessageContaining("does not fit");
    assertThatThrownBy(() -> GatewayBench.Options.parse(List.of("--cidr", "10.0.0.0/12")))
        .isInstanceOf(UsageException.class).hasMessageContaining("127.0.0.0/8");
    assertThatThrownBy(() -> GatewayBench.Options.parse(List.of("--lease-order", "random")))
        .isInstanceOf(UsageException.class);
    assertThat(GatewayBench.Options.parse(List.of()).byHost()).isFalse();
    assertThat(GatewayBench.Options.parse(List.of("--lease-order", "by-host")).byHost()).isTrue();
    assertThatThrownBy(() -> GatewayBench.Options.parse(List.of("--speed", "1")))
        .isInstanceOf(UsageException.class).hasMessageContaining("unknown option --speed");
    assertThat(GatewayBench.Options.parse(List.of("--leases=100000", "--subscribers", "200")).leases()).isEqualTo(100_000);
  }

  @Test
  void warmupIsAutoUnlessACountIsGiven() {
    assertThat(GatewayBench.Options.parse(List.of()).warmup()).isEqualTo(JitWarmUp.AUTO);
    assertThat(GatewayBench.Options.parse(List.of("--warmup", "auto")).warmup()).isEqualTo(JitWarmUp.AUTO);
    assertThat(GatewayBench.Options.parse(List.of("--warmup", "0")).warmup()).isZero();
    assertThat(GatewayBench.Options.parse(List.of("--warmup", "800")).warmup()).isEqualTo(800);
    assertThatThrownBy(() -> GatewayBench.Options.parse(List.of("--warmup", "soon")))
        .isInstanceOf(UsageException.class).hasMessageContaining("--warmup (or auto)");
  }
}
