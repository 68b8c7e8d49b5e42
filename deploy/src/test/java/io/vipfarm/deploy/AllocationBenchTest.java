package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class AllocationBenchTest {

  @Test
  @DisplayName("bench allocate with 1 member and 200 sessions: no duplicate, JSON line last with every figure")
  void tinyBenchmark() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    int code = AllocationBench.main(List.of("allocate", "--members", "1", "--sessions", "200", "--pool-prefix", "22", "--fill", "10", "--warmup", "100"), out);
    String[] lines = bytes.toString(StandardCharsets.UTF_8).strip().split("\n");
    JsonObject json = new JsonObject(lines[lines.length - 1]);
    assertThat(code).isZero();
    assertThat(json.getInteger("members")).isEqualTo(1);
    assertThat(json.getInteger("sessions")).isEqualTo(200);
    assertThat(json.getInteger("warmup")).isEqualTo(100);
    assertThat(json.getLong("duplicates")).isZero();
    assertThat(json.getDouble("leasesPerSecond")).isPositive();
    assertThat(json.getDouble("p99Ms")).isGreaterThanOrEqualTo(json.getDouble("p50Ms")).isPositive();
    assertThat(json.containsKey("heapMbPer100kLeases")).isTrue();
    assertThat(json.getDouble("cpuUsPerLease")).isPositive();
    assertThat(json.getDouble("stealPercent")).isBetween(0.0, 100.0);
    assertThat(lines.length).isGreaterThan(3);
  }

  @Test
  @DisplayName("--rate paces the warm-up too, and the JSON says how long the JIT compiled during the measured acquires")
  void pacedWarmUp() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    int code = AllocationBench.main(List.of("allocate", "--members", "1", "--sessions", "100", "--pool-prefix", "22",
        "--warmup", "400", "--rate", "200"), out);
    String text = bytes.toString(StandardCharsets.UTF_8).strip();
    String[] lines = text.split("\n");
    JsonObject json = new JsonObject(lines[lines.length - 1]);
    assertThat(code).isZero();
    Matcher warmUp = Pattern.compile("warm-up: 400 acquires in another pool in ([0-9.]+) s").matcher(text);
    assertThat(warmUp.find()).as(text).isTrue();
    // 400 acquires at 200/s: the last is due after 1.995 s (unpaced, they take a fraction of that)
    assertThat(Double.parseDouble(warmUp.group(1))).isGreaterThanOrEqualTo(1.9);
    assertThat(json.getLong("jitCompileMsMeasured")).isNotNegative();
  }

  @Test
  @DisplayName("bad bench options are refused with a message")
  void badOptions() {
    assertThatThrownBy(() -> AllocationBench.parse(List.of("allocate", "--members", "0"))).isInstanceOf(UsageException.class);
    assertThatThrownBy(() -> AllocationBench.parse(List.of("allocate", "--bogus", "1"))).isInstanceOf(UsageException.class);
    assertThatThrownBy(() -> AllocationBench.parse(List.of("allocate", "--pool-prefix", "24", "--sessions", "300")))
        .hasMessageContaining("254 usable");
    assertThatThrownBy(() -> AllocationBench.parse(List.of("nothing"))).isInstanceOf(UsageException.class);
    assertThatThrownBy(() -> AllocationBench.parse(List.of("allocate", "--warmup", "10", "--pool-prefix", "8")))
        .hasMessageContaining("/8");
    assertThatThrownBy(() -> AllocationBench.parse(List.of("allocate", "--hosts", "0")))
        .hasMessageContaining("--hosts must be 1 to");
  }

  @Test
  @DisplayName("--hosts: 1000 by default, as given")
  void hostsOption() {
    assertThat(AllocationBench.parse(List.of("allocate")).hosts()).isEqualTo(1000);
    assertThat(AllocationBench.parse(List.of("allocate", "--hosts", "1")).hosts()).isEqualTo(1);
  }

  @Test
  @DisplayName("--warmup: auto by default and by name, a count as given, none next to a /8 pool")
  void warmupOption() {
    assertThat(AllocationBench.parse(List.of("allocate")).warmup()).isEqualTo(JitWarmUp.AUTO);
    assertThat(AllocationBench.parse(List.of("allocate", "--warmup", "auto")).warmup()).isEqualTo(JitWarmUp.AUTO);
    assertThat(AllocationBench.parse(List.of("allocate", "--warmup", "0")).warmup()).isZero();
    assertThat(AllocationBench.parse(List.of("allocate", "--warmup", "5000")).warmup()).isEqualTo(5000);
    assertThat(AllocationBench.parse(List.of("allocate", "--pool-prefix", "8")).warmup()).isZero();
    assertThatThrownBy(() -> AllocationBench.parse(List.of("allocate", "--warmup", "soon")))
        .hasMessageContaining("--warmup (or auto)");
  }

  @Test
  @DisplayName("check: an unreachable gateway exits 2; bad options are refused")
  void checkCommand() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
      port = s.getLocalPort();
    }
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = ConsistencyCheckCommand.run(List.of("--gateway", "http://127.0.0.1:" + port), java.util.Map.of(),
        new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("cannot reach the gateway");
    assertThatThrownBy(() -> ConsistencyCheckCommand.parse(List.of("--gateway", "ftp://x"))).isInstanceOf(UsageException.class);
    assertThatThrownBy(() -> ConsistencyCheckCommand.parse(List.of("--verbose"))).isInstanceOf(UsageException.class);
  }
}
