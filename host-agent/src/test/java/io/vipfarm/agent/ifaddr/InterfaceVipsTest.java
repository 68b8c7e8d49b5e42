package io.vipfarm.agent.ifaddr;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vipfarm.api.VipfarmException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link InterfaceVips} against the real kernel, through {@code ip -n NS}, in a network namespace the
 * test creates (a veth interface with 10.78.0.1/24) and deletes. Needs root; skipped otherwise.
 */
class InterfaceVipsTest {
  private static final String IF = "vfv0";
  private final String ns = "vfifv-" + String.format("%06x", ThreadLocalRandom.current().nextInt(0x1000000));
  private Vertx vertx;
  private Context context;
  private InterfaceVips vips;
  private boolean created;

  @BeforeEach
  void setUp() throws Exception {
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "skipping: needs root to create a network namespace and change its addresses");
    created = sh("ip", "netns", "add", ns).exit == 0;
    Assumptions.assumeTrue(created, "skipping: 'ip netns add' does not work here");
    must("ip", "-n", ns, "link", "add", IF, "type", "veth", "peer", "name", "vfv1");
    must("ip", "-n", ns, "addr", "add", "10.78.0.1/24", "dev", IF);
    must("ip", "-n", ns, "link", "set", IF, "up");
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    vips = new InterfaceVips(vertx, new IpCommand(List.of("ip", "-n", ns), 10), IF);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (vertx != null) {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    if (created) {
      sh("ip", "netns", "del", ns);
    }
  }

  @Test
  @DisplayName("ensure adds labelled /32s, withdraw removes them, loopback-range addresses are ignored")
  void ensureAndWithdraw() throws Exception {
    await(() -> vips.ensure(List.of("10.78.0.5", "10.78.0.6", "127.100.0.5")));
    assertThat(addresses()).containsExactlyInAnyOrder("10.78.0.1/24 vfv0", "10.78.0.5/32 vfv0:vf",
        "10.78.0.6/32 vfv0:vf");
    await(() -> vips.withdraw(List.of("10.78.0.5")));
    assertThat(addresses()).containsExactlyInAnyOrder("10.78.0.1/24 vfv0", "10.78.0.6/32 vfv0:vf");
  }

  @Test
  @DisplayName("a hundred interleaved ensures and withdraws end with exactly the held set (passes coalesce)")
  void concurrentChanges() throws Exception {
    List<Future<Void>> all = new ArrayList<>();
    List<String> expected = new ArrayList<>(List.of("10.78.0.1/24 vfv0"));
    Promise<Void> issued = Promise.promise();
    context.runOnContext(v -> {
      for (int i = 10; i < 110; i++) {
        String address = "10.78.0." + i;
        all.add(vips.ensure(List.of(address)));
        if (i % 2 == 0) {
          all.add(vips.withdraw(List.of(address)));
        }
      }
      issued.complete();
    });
    await(issued::future);
    for (Future<Void> f : all) {
      f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    for (int i = 11; i < 110; i += 2) {
      expected.add("10.78.0." + i + "/32 vfv0:vf");
    }
    assertThat(addresses()).containsExactlyInAnyOrderElementsOf(expected);
  }

  @Test
  @DisplayName("adopt after a restart: re-adds held VIPs, removes vipfarm's unheld ones, never touches others")
  void adoptAfterRestart() throws Exception {
    must("ip", "-n", ns, "addr", "add", "10.78.0.20/32", "dev", IF, "label", "vfv0:vf");
    must("ip", "-n", ns, "addr", "add", "10.78.0.21/32", "dev", IF, "label", "vfv0:vf");
    must("ip", "-n", ns, "addr", "add", "10.78.0.30/32", "dev", IF);
    await(() -> vips.adopt(List.of("10.78.0.21", "10.78.0.22", "10.78.0.30")));
    assertThat(addresses()).containsExactlyInAnyOrder("10.78.0.1/24 vfv0", "10.78.0.21/32 vfv0:vf",
        "10.78.0.22/32 vfv0:vf", "10.78.0.30/32 vfv0");
    await(() -> vips.withdraw(List.of("10.78.0.30")));
    assertThat(addresses()).contains("10.78.0.30/32 vfv0");
  }

  @Test
  @DisplayName("when the address cannot be added, ensure fails naming the address and the interface")
  void ensureFailure() throws Exception {
    must("ip", "-n", ns, "link", "del", IF);
    assertThatThrownBy(() -> await(() -> vips.ensure(List.of("10.78.0.40"))))
        .hasCauseInstanceOf(VipfarmException.class)
        .hasMessageContaining("10.78.0.40").hasMessageContaining(IF);
    // the interface is checked at start the same way
    assertThatThrownBy(() -> await(vips::check)).hasMessageContaining(IF);
  }

  @Test
  @DisplayName("when the address cannot be removed, withdraw fails naming it, and a later pass removes it")
  void withdrawFailure() throws Exception {
    await(() -> vips.ensure(List.of("10.78.0.50")));
    // an ip that cannot delete: every other command goes to the real one
    InterfaceVips stuck = new InterfaceVips(vertx, new IpCommand(List.of("sh", "-c",
        "case \" $* \" in *' del '*) echo 'RTNETLINK answers: Operation not permitted' >&2; exit 2;; esac;"
            + " exec ip -n " + ns + " \"$@\"", "ip"), 10), IF);
    await(() -> stuck.adopt(List.of("10.78.0.50")));
    assertThatThrownBy(() -> await(() -> stuck.withdraw(List.of("10.78.0.50"))))
        .hasMessageContaining("cannot take the VIP 10.78.0.50 off interface vfv0")
        .hasMessageContaining("Operation not permitted");
    assertThat(addresses()).contains("10.78.0.50/32 vfv0:vf");
    await(() -> vips.withdraw(List.of("10.78.0.50")));
    assertThat(addresses()).doesNotContain("10.78.0.50/32 vfv0:vf");
  }

  private <T> T await(Supplier<Future<T>> call) throws Exception {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> call.get().onComplete(result));
    try {
      return result.future().toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new ExecutionException(e.getCause().getMessage(), e.getCause());
    }
  }

  private List<String> addresses() throws Exception {
    List<String> out = new ArrayList<>();
    for (PresentAddress a : new IpCommand(List.of("ip", "-n", ns), 10).addresses()) {
      if (a.interfaceName().equals(IF)) {
        out.add(a.address() + "/" + a.prefixLength() + " " + a.label());
      }
    }
    return out;
  }

  private record Result(int exit, String output) {}

  private static Result sh(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(30, TimeUnit.SECONDS);
    return new Result(p.exitValue(), out);
  }

  private static void must(String... command) throws IOException, InterruptedException {
    Result r = sh(command);
    if (r.exit != 0) {
      throw new IllegalStateException(String.join(" ", command) + ": " + r.output);
    }
  }
}
