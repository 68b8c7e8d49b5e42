package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.VipMode;
import io.vipfarm.api.model.VirtualIpView;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Real processes under the preload shim (target/native/libvipfarm.so, built by Maven's compile phase),
 * with rules rendered by {@link SessionRules} from effective policies, as the agent writes them:
 * <ul>
 *   <li>the JVM: a plain ServerSocket on the wildcard and on 127.0.0.1, Vert.x on the epoll transport, and
 *       {@code InetAddress.getLocalHost()}, in two sessions at once on the same ports; an unbound JVM client
 *       leaves from its VIP;
 *   <li>the policy semantics end to end: program globs of the loopback and VIP lists, per-program mode
 *       sharing the session's address, a dedicated address per program, prefer-loopback, excluded ports
 *       (vf-probe copied under several program names).
 * </ul>
 * Only 127.0.0.0/8; every child is stopped by its own handle.
 */
class ShimRuntimesTest {
  private static final Path NATIVE = Path.of("target", "native").toAbsolutePath();
  private static final Path LIB = NATIVE.resolve("libvipfarm.so");
  private static final Path PROBE = NATIVE.resolve("vf-probe");

  @TempDir Path runDir;
  private final List<Process> children = new ArrayList<>();
  /** The kernel path, when a test runs on it: programs are then started in the session's cgroup, unshimmed. */
  private KernelEnforcement kernel;

  @BeforeEach
  void requireShim() throws IOException {
    assumeTrue(Files.isRegularFile(LIB) && Files.isRegularFile(PROBE),
        "the shim is not built (mvn compile builds it into target/native)");
    Files.createDirectories(runDir.resolve("sessions"));
  }

  @AfterEach
  void stopChildren() throws Exception {
    for (Process p : children) {
      p.destroy();
    }
    for (Process p : children) {
      if (!p.waitFor(5, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    }
    if (kernel != null) {
      for (String session : List.of("40", "41", "50", "51")) {
        kernel.end(session);
      }
      kernel.detach();
    }
  }

  /**
   * Runs the test on {@code mode}: on "kernel", BPF programs attached to a cgroup of this test, each session a
   * cgroup below it, and programs started there without LD_PRELOAD, so that only the kernel rewrites (root
   * and the loader needed; skipped otherwise).
   */
  private void use(String mode) throws IOException {
    if (!mode.equals(Interception.KERNEL)) {
      return;
    }
    assumeTrue(AgentConfig.isRoot(), "the kernel path needs root: skipped");
    java.util.Optional<Path> mount = AgentConfig.cgroup2Mount();
    assumeTrue(mount.isPresent(), "no cgroup2 mount: skipped");
    BpfLoader loader = new BpfLoader(AgentConfig.defaultLoader());
    String problem = loader.probe();
    assumeTrue(problem == null, "the kernel path does not work here (" + problem + "): skipped");
    String unique = java.util.UUID.randomUUID().toString().substring(0, 8);
    kernel = new KernelEnforcement(loader, Path.of("/sys/fs/bpf/vipfarm-rt-" + unique),
        new CgroupTree(mount.get().resolve("vipfarm-rt-" + unique)), runDir);
    kernel.attach();
  }

  // ---- the JVM

  private static EffectivePolicy perSession(List<String> preferLoopback) {
    return new EffectivePolicy(true, List.of("*"), List.of(), true, VipMode.PER_SESSION, "default", List.of(),
        OnExhausted.FALLBACK_HOST_IP, false, preferLoopback, List.of("test"));
  }

  private static VirtualIpView vip(String address, String program) {
    return new VirtualIpView(address, "default", program, 0);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"preload", "kernel"})
  @DisplayName("JVM in two sessions at once: ServerSocket on :: and on 127.0.0.1, Vert.x on epoll, getLocalHost,"
      + " same ports; an unbound JVM client leaves from its VIP")
  void jvmTwoSessions(String mode) throws Exception {
    use(mode);
    writeRules("40", SessionRules.render("40", LoopbackAddress.of("40"), perSession(List.of()),
        List.of(vip("127.100.2.40", null)), List.of()));
    writeRules("41", SessionRules.render("41", LoopbackAddress.of("41"), perSession(List.of()),
        List.of(vip("127.100.2.41", null)), List.of()));

    String[] first = startLine("40", javaCommand("serve", "s40", "0", "0", "0")).split(" ");
    assertThat(first[0]).as(String.join(" ", first)).isEqualTo("ready");
    String w = first[1];
    String l = first[2];
    String v = first[3];
    String second = startLine("41", javaCommand("serve", "s41", w, l, v));
    assertThat(second).as("session 41 binds the same three ports").startsWith("ready " + w + " " + l + " " + v + " ");

    for (String line : List.of(String.join(" ", first), second)) {
      assertThat(line).as("the program sees what it bound").contains(" wildcard 0.0.0.0 ", " loopback 127.0.0.1 ");
      assertThat(line).as("Vert.x really runs on epoll").endsWith(" epoll true native true");
    }
    if (kernel == null) { // name resolution is the shim's: no socket hook sees it
      assertThat(String.join(" ", first)).as("getLocalHost() is the session's VIP").contains(" localhost 127.100.2.40 ");
      assertThat(second).contains(" localhost 127.100.2.41 ");
    }

    // from outside the sessions: each server really listens on its own VIP
    for (String port : List.of(w, l, v)) {
      assertThat(fetch("127.100.2.40", port)).startsWith("s40 ");
      assertThat(fetch("127.100.2.41", port)).startsWith("s41 ");
    }
    // an unbound client in session 40 connecting to session 41's VIP: session 41's server sees 40's VIP
    assertThat(runLine("40", javaCommand("client", "127.100.2.41", w))).isEqualTo("s41 127.100.2.40");
    assertThat(runLine("40", javaCommand("client", "127.100.2.41", v))).isEqualTo("s41 127.100.2.40");
  }

  private List<String> javaCommand(String... args) {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")),
        ShimJvmProbe.class.getName()));
    cmd.addAll(List.of(args));
    return cmd;
  }

  private static String fetch(String host, String port) throws IOException {
    try (Socket s = new Socket()) {
      s.setSoTimeout(5_000);
      s.connect(new InetSocketAddress(host, Integer.parseInt(port)), 5_000);
      return new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
    }
  }

  // ---- policy semantics, end to end through SessionRules

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"preload", "kernel"})
  @DisplayName("Policy semantics through SessionRules: program globs, per-program sharing, dedicated addresses,"
      + " prefer-loopback, excluded ports")
  void policySemantics(String mode) throws Exception {
    use(mode);
    Path toolA = program("toolA");
    Path toolB = program("toolB");
    Path toolC = program("toolC");
    Path other = program("other");

    // loopback for tool* only; per-program VIP shared by toolA and toolC; toolB prefers loopback
    EffectivePolicy shared = new EffectivePolicy(true, List.of("tool*"), List.of(5999), true, VipMode.PER_PROGRAM,
        "default", List.of("toolA", "toolC"), OnExhausted.FALLBACK_HOST_IP, false, List.of("toolB"), List.of("t"));
    writeRules("50", SessionRules.render("50", LoopbackAddress.of("50"), shared,
        List.of(vip("127.100.3.50", null)), List.of()));
    assertThat(bind("50", toolA, "0.0.0.0", "0")).as("toolA is in the VIP list").startsWith("bound 127.100.3.50:");
    assertThat(bind("50", toolC, "0.0.0.0", "0")).as("toolC shares the session's address")
        .startsWith("bound 127.100.3.50:");
    assertThat(bind("50", toolB, "0.0.0.0", "0")).as("toolB is not in the VIP list").startsWith("bound 0.0.0.0:");
    assertThat(bind("50", other, "0.0.0.0", "0")).startsWith("bound 0.0.0.0:");
    assertThat(bind("50", toolA, "127.0.0.1", "0")).as("toolA: L and V, 127.0.0.1 -> V")
        .startsWith("bound 127.100.3.50:");
    assertThat(bind("50", toolB, "127.0.0.1", "0")).as("toolB matches tool*: 127.0.0.1 -> L")
        .startsWith("bound 127.0.0.51:");
    assertThat(bind("50", other, "127.0.0.1", "0")).as("other is not in the loopback list")
        .startsWith("bound 127.0.0.1:");
    assertThat(bind("50", toolB, "127.0.0.1", "5999")).as("excluded port").startsWith("bound 127.0.0.1:5999 ");

    // dedicated address per program; toolA prefers loopback for 127.0.0.1
    EffectivePolicy dedicated = new EffectivePolicy(true, List.of("*"), List.of(), true, VipMode.PER_PROGRAM,
        "default", List.of("toolA", "toolB"), OnExhausted.FALLBACK_HOST_IP, true, List.of("toolA"), List.of("t"));
    writeRules("51", SessionRules.render("51", LoopbackAddress.of("51"), dedicated,
        List.of(vip("127.100.3.61", "toolA"), vip("127.100.3.62", "toolB")), List.of()));
    assertThat(bind("51", toolA, "0.0.0.0", "0")).startsWith("bound 127.100.3.61:");
    assertThat(bind("51", toolB, "0.0.0.0", "0")).startsWith("bound 127.100.3.62:");
    assertThat(bind("51", toolC, "0.0.0.0", "0")).as("not listed: no VIP").startsWith("bound 0.0.0.0:");
    assertThat(bind("51", toolA, "127.0.0.1", "0")).as("toolA prefers loopback").startsWith("bound 127.0.0.52:");
    assertThat(bind("51", toolB, "127.0.0.1", "0")).as("toolB: its dedicated V").startsWith("bound 127.100.3.62:");
    assertThat(bind("51", toolC, "127.0.0.1", "0")).as("toolC: L only").startsWith("bound 127.0.0.52:");
  }

  private Path program(String name) throws IOException {
    Path copy = runDir.resolve(name);
    Files.copy(PROBE, copy, StandardCopyOption.REPLACE_EXISTING);
    copy.toFile().setExecutable(true);
    return copy;
  }

  private String bind(String session, Path program, String address, String port) throws Exception {
    if (kernel == null) {
      return runLine(session, List.of(program.toString(), "bind", "tcp", "4", address, port));
    }
    // the kernel path hides the rewrite from every syscall of the program (getsockname too), so what it
    // really bound is read from /proc/net/tcp while it listens: "ready SEEN shown SEEN" -> "bound REAL ..."
    String line = startLine(session, List.of(program.toString(), "serve", "tcp", "4", address, port, "t"));
    String[] fields = line.split(" ");
    assertThat(fields[0]).as(line).isEqualTo("ready");
    String listenPort = fields[1].substring(fields[1].lastIndexOf(':') + 1);
    String real = KernelPathAgentTest.listening(Integer.parseInt(listenPort));
    Process p = children.get(children.size() - 1);
    p.destroy();
    p.waitFor(5, TimeUnit.SECONDS);
    return "bound " + real + ":" + listenPort + " shown " + fields[3];
  }

  // ---- processes

  private void writeRules(String session, String text) throws IOException {
    Path tmp = runDir.resolve("sessions").resolve("." + session + ".tmp");
    Files.writeString(tmp, text);
    Path rules = runDir.resolve("sessions").resolve(session + ".rules");
    Files.move(tmp, rules, StandardCopyOption.ATOMIC_MOVE);
    if (kernel != null) {
      kernel.prepare(session);
      kernel.apply(session, rules);
    }
  }

  private Process start(String session, List<String> cmd) throws IOException {
    List<String> argv = cmd;
    if (kernel != null) { // into the session's cgroup, then exec: the very process is the program
      argv = new ArrayList<>(List.of("sh", "-c", "echo $$ > \"$0/cgroup.procs\" && exec \"$@\"",
          kernel.cgroups().sessionDir(session).toString()));
      argv.addAll(cmd);
    }
    ProcessBuilder pb = new ProcessBuilder(argv)
        .redirectError(runDir.resolve("stderr-" + session + "-" + children.size()).toFile());
    if (kernel == null) {
      pb.environment().put("LD_PRELOAD", LIB.toString());
      pb.environment().put("VIPFARM_SESSION", session);
      pb.environment().put("VIPFARM_RUN_DIR", runDir.toString());
    }
    Process p = pb.start();
    children.add(p);
    return p;
  }

  /** Starts cmd in the session and returns its first line of output (within 30 s on a busy machine). */
  private String startLine(String session, List<String> cmd) throws Exception {
    Process p = start(session, cmd);
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (IOException e) {
        return "error " + e;
      }
    }).get(30, TimeUnit.SECONDS);
    return line == null ? "(no output; stderr: " + stderrOf(children.size() - 1, session) + ")" : line;
  }

  /** Runs cmd in the session to its end and returns its first line. */
  private String runLine(String session, List<String> cmd) throws Exception {
    String line = startLine(session, cmd);
    Process p = children.get(children.size() - 1);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).as("%s ends", cmd).isTrue();
    return line;
  }

  private String stderrOf(int index, String session) {
    try {
      return Files.readString(runDir.resolve("stderr-" + session + "-" + index));
    } catch (IOException e) {
      return "?";
    }
  }
}
