package io.vipfarm.deploy;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * What a test of {@code vipfarm start --interception kernel} needs: root, the loader, and names of its own
 * (a cgroup parent under the cgroup2 mount, a bpffs pin dir, an IPv6 loopback prefix) so that tests running
 * at the same time never share kernel state. The loader is the distribution's {@code lib/native/vipfarm-bpf},
 * or the system property {@code vipfarm.bpf.loader} (passed on to vipfarm).
 */
final class KernelPathFixture {
  static final Path DIST = Path.of("target", "vipfarm").toAbsolutePath();

  final Path loader;
  final Path cgroupParent;
  final Path pinDir;
  final String loopback6Prefix;

  private KernelPathFixture(Path loader, Path cgroupParent, Path pinDir, String loopback6Prefix) {
    this.loader = loader;
    this.cgroupParent = cgroupParent;
    this.pinDir = pinDir;
    this.loopback6Prefix = loopback6Prefix;
  }

  /** A fixture, or the test is skipped (with the reason) where the kernel path cannot run. */
  static KernelPathFixture require() throws Exception {
    assumeTrue(isRoot(), "the kernel path needs root: skipped");
    String property = System.getProperty("vipfarm.bpf.loader");
    Path loader = property != null ? Path.of(property).toAbsolutePath() : DIST.resolve("lib/native/vipfarm-bpf");
    assumeTrue(Files.isExecutable(loader), "no kernel path loader at " + loader + ": skipped");
    Result probe = run(List.of(loader.toString(), "probe"));
    assumeTrue(probe.exit == 0, "the kernel path does not work here (" + probe.output.strip() + "): skipped");
    Path mount = null;
    for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
      String[] f = line.split(" ");
      if (f.length > 2 && f[2].equals("cgroup2")) {
        mount = Path.of(f[1]);
        break;
      }
    }
    assumeTrue(mount != null, "no cgroup2 mount: skipped");
    String unique = UUID.randomUUID().toString().substring(0, 8);
    return new KernelPathFixture(loader, mount.resolve("vipfarm-e2e-" + unique),
        Path.of("/sys/fs/bpf/vipfarm-e2e-" + unique), randomLoopback6Prefix());
  }

  /**
   * A random unique-local /64 for the sessions' IPv6 loopbacks: a vipfarm running as root adds them to the
   * host's lo, and tests running at the same time must not add and remove the same addresses.
   */
  static String randomLoopback6Prefix() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return String.format("fd%02x:%04x:%04x:%04x::/64", r.nextInt(256), r.nextInt(65536), r.nextInt(65536),
        r.nextInt(65536));
  }

  /** The options of {@code vipfarm start} for this fixture. */
  List<String> startOptions() {
    return List.of("--interception", "kernel", "--cgroup-parent", cgroupParent.toString(),
        "--bpf-pin-dir", pinDir.toString(), "--loopback6-prefix", loopback6Prefix);
  }

  /** The environment vipfarm needs to find a loader given by system property. */
  Map<String, String> environment() {
    String property = System.getProperty("vipfarm.bpf.loader");
    return property == null ? Map.of() : Map.of("VIPFARM_JAVA_OPTS", "-Dvipfarm.bpf.loader=" + loader);
  }

  /** The cgroup ids with map entries ({@code vipfarm-bpf list}). */
  List<Long> mapEntries() throws Exception {
    Result list = run(List.of(loader.toString(), "list", "--pin", pinDir.toString()));
    if (list.exit != 0) {
      throw new AssertionError("vipfarm-bpf list: " + list.output);
    }
    JsonArray sessions = new JsonObject(list.output).getJsonArray("sessions");
    List<Long> ids = new ArrayList<>();
    sessions.forEach(s -> ids.add(((JsonObject) s).getLong("cgroupId")));
    return ids;
  }

  Path sessionCgroup(String sessionId) {
    return cgroupParent.resolve("session-" + sessionId);
  }

  static long cgroupId(Path dir) throws IOException {
    return ((Number) Files.getAttribute(dir, "unix:ino")).longValue();
  }

  /** The cgroup2 path a process is in ({@code 0::/...} of /proc/PID/cgroup). */
  static String cgroupOf(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/cgroup"))) {
      if (line.startsWith("0::")) {
        return line.substring(3);
      }
    }
    return null;
  }

  /** Removes whatever a failed test left: the pinned programs, the cgroups (their processes moved up). */
  void cleanUp() throws Exception {
    run(List.of(loader.toString(), "detach", "--pin", pinDir.toString()));
    if (Files.isDirectory(cgroupParent)) {
      try (var children = Files.list(cgroupParent)) {
        for (Path child : children.filter(Files::isDirectory).toList()) {
          moveProcesses(child, cgroupParent.getParent());
          Files.deleteIfExists(child);
        }
      }
      moveProcesses(cgroupParent, cgroupParent.getParent());
      Files.deleteIfExists(cgroupParent);
    }
  }

  private static void moveProcesses(Path from, Path to) throws IOException {
    for (String pid : Files.readAllLines(from.resolve("cgroup.procs"))) {
      try {
        Files.writeString(to.resolve("cgroup.procs"), pid);
      } catch (IOException e) {
        // exited meanwhile
      }
    }
  }

  private static boolean isRoot() {
    try {
      return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).intValue() == 0;
    } catch (IOException e) {
      return false;
    }
  }

  record Result(int exit, String output) {}

  static Result run(List<String> command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(command + " did not finish");
    }
    return new Result(p.exitValue(), out);
  }
}
