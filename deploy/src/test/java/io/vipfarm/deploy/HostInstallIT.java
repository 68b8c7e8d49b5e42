package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vipfarm host install|uninstall} into a prefix ({@code --root}): what it writes, and a clean undo. */
class HostInstallIT {
  private static final Path VIPFARM = Path.of(System.getProperty("vipfarm.bin", "bin/vipfarm")).toAbsolutePath();
  private static final String COMMON_SESSION = """
      # /etc/pam.d/common-session as Debian ships it (shortened)
      session [default=1]   pam_permit.so
      session requisite     pam_deny.so
      session required      pam_permit.so
      session required      pam_unix.so
      session optional      pam_systemd.so
      """;

  @TempDir Path tmp;
  private ManagedProcess last;

  @AfterEach
  void stop() {
    if (last != null) {
      last.stop(10);
    }
  }

  private Path root(String pamText) throws IOException {
    Path root = tmp.resolve("root");
    Files.createDirectories(root.resolve("etc/pam.d"));
    Files.createDirectories(root.resolve("etc/security"));
    Files.writeString(root.resolve("etc/security/pam_env.conf"), "# the admin's own\n");
    Path pam = Files.writeString(root.resolve("etc/pam.d/common-session"), pamText);
    Files.setPosixFilePermissions(pam, PosixFilePermissions.fromString("rw-r-----"));
    return root;
  }

  private ManagedProcess vipfarm(String... args) {
    last = ManagedProcess.start("host-" + args[1], Stream.concat(Stream.of(VIPFARM.toString(), "host"),
        Stream.of(args)).toList(), Map.of(), tmp.resolve("logs"));
    return last;
  }

  /** Every file under {@code root}: path -> mode and bytes, to compare trees exactly. */
  private static Map<String, String> snapshot(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.toList()) {
        String mode = PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
        out.put(root.relativize(p).toString(), mode + " "
            + (Files.isRegularFile(p) ? java.util.HexFormat.of().formatHex(Files.readAllBytes(p)) : "dir"));
      }
    }
    return out;
  }

  @Test
  @DisplayName("install adds a marked PAM block and its own pam_env file; uninstall leaves the tree byte-identical")
  void roundTrip() throws Exception {
    Path root = root(COMMON_SESSION);
    Map<String, String> before = snapshot(root);

    ManagedProcess dry = vipfarm("install", "--root", root.toString(), "--dry-run");
    assertThat(dry.waitFor(30)).as(dry.output()).isZero();
    assertThat(dry.output()).contains("would write " + root.resolve("etc/security/vipfarm-env.conf"))
        .contains("pam_exec.so");
    assertThat(snapshot(root)).as("a dry run changes nothing").isEqualTo(before);

    ManagedProcess install = vipfarm("install", "--root", root.toString(), "--run-dir", "/run/vf-test");
    assertThat(install.waitFor(30)).as(install.output()).isZero();
    String pam = Files.readString(root.resolve("etc/pam.d/common-session"));
    assertThat(pam).startsWith(COMMON_SESSION);
    List<String> added = pam.substring(COMMON_SESSION.length()).lines().toList();
    assertThat(added).hasSize(4);
    assertThat(added.get(0)).startsWith("# >>> vipfarm host install");
    assertThat(added.get(1)).matches("session optional pam_exec\\.so quiet /\\S+/vipfarm session --run-dir /run/vf-test");
    assertThat(added.get(2)).isEqualTo("session optional pam_env.so conffile=/etc/security/vipfarm-env.conf"
        + " readenv=0 user_readenv=0");
    assertThat(added.get(3)).isEqualTo("# <<< vipfarm host install <<<");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("etc/pam.d/common-session"))))
        .isEqualTo("rw-r-----");
    String conf = Files.readString(root.resolve("etc/security/vipfarm-env.conf"));
    assertThat(conf).contains("VIPFARM_SESSION  DEFAULT=${XDG_SESSION_ID}\n")
        .contains("VIPFARM_RUN_DIR  DEFAULT=/run/vf-test\n")
        .containsPattern("LD_PRELOAD       DEFAULT=/\\S+/lib/native/libvipfarm\\.so\n");
    Path shim = Path.of(conf.lines().filter(l -> l.startsWith("LD_PRELOAD")).findFirst().orElseThrow()
        .replaceFirst(".*DEFAULT=", ""));
    assertThat(shim).isRegularFile();

    // installing again replaces the block instead of adding a second one
    ManagedProcess again = vipfarm("install", "--root", root.toString(), "--run-dir", "/run/vf-test", "--no-pam-exec");
    assertThat(again.waitFor(30)).as(again.output()).isZero();
    String pamAgain = Files.readString(root.resolve("etc/pam.d/common-session"));
    assertThat(pamAgain).doesNotContain("pam_exec").containsOnlyOnce("# >>> vipfarm host install");

    // an admin's line after the block survives the uninstall
    Files.writeString(root.resolve("etc/pam.d/common-session"), "session optional pam_admin_later.so\n",
        java.nio.file.StandardOpenOption.APPEND);
    ManagedProcess uninstall = vipfarm("uninstall", "--root", root.toString());
    assertThat(uninstall.waitFor(30)).as(uninstall.output()).isZero();
    assertThat(Files.readString(root.resolve("etc/pam.d/common-session")))
        .isEqualTo(COMMON_SESSION + "session optional pam_admin_later.so\n");
    Files.writeString(root.resolve("etc/pam.d/common-session"), COMMON_SESSION);
    assertThat(snapshot(root)).isEqualTo(before);

    ManagedProcess twice = vipfarm("uninstall", "--root", root.toString());
    assertThat(twice.waitFor(30)).as(twice.output()).isZero();
    assertThat(twice.output()).contains("was not installed");
  }

  @Test
  @DisplayName("uninstall detaches the kernel path's pinned programs (root, kernel path)")
  void uninstallDetachesTheKernelPath() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "skipped: the kernel path needs root");
    Path loader = VIPFARM.getParent().resolve("../target/vipfarm/lib/native/vipfarm-bpf").normalize();
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(loader) && exec(loader.toString(), "probe") == 0,
        "skipped: the kernel path is not available here (vipfarm-bpf probe)");
    Path cgroup2 = Files.readAllLines(Path.of("/proc/self/mounts")).stream().map(l -> l.split(" "))
        .filter(f -> f.length > 2 && f[2].equals("cgroup2")).map(f -> Path.of(f[1])).findFirst().orElseThrow();
    String unique = Long.toHexString(System.nanoTime());
    Path cgroup = Files.createDirectory(cgroup2.resolve("vf-uninstall-" + unique));
    Path pins = Path.of("/sys/fs/bpf/vipfarm-uninstall-test-" + unique);
    try {
      assertThat(exec(loader.toString(), "attach", "--pin", pins.toString(), "--cgroup", cgroup.toString())).isZero();
      assertThat(pins).isDirectory();
      Path pam = Files.writeString(tmp.resolve("common-session"), COMMON_SESSION);

      assertThat(vipfarm("uninstall", "--pam-file", pam.toString(), "--bpf-pin-dir", pins.toString()).waitFor(30))
          .as(last.output()).isZero();

      assertThat(last.output()).contains("detached the kernel path pinned at " + pins);
      assertThat(pins).doesNotExist();
      assertThat(pam).hasContent(COMMON_SESSION);
    } finally {
      if (Files.exists(pins)) {
        exec(loader.toString(), "detach", "--pin", pins.toString());
      }
      Files.deleteIfExists(cgroup);
    }
  }

  private static int exec(String... command) throws Exception {
    Process p = new ProcessBuilder(command).inheritIO().start();
    return p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS) ? p.exitValue() : -1;
  }

  @Test
  @DisplayName("Real pam_env reads the installed file: a session's programs get LD_PRELOAD, VIPFARM_SESSION from"
      + " XDG_SESSION_ID and VIPFARM_RUN_DIR (root and pamtester)")
  void pamEnvAppliesTheInstalledFile() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "skipped: a PAM service file needs root");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/pamtester")),
        "skipped: pamtester is not installed (Debian package pamtester)");
    Path root = root(COMMON_SESSION);
    assertThat(vipfarm("install", "--root", root.toString(), "--run-dir", "/run/vf-env-test").waitFor(30))
        .as(last.output()).isZero();
    Path xdg = Files.writeString(tmp.resolve("xdg.conf"), "XDG_SESSION_ID DEFAULT=c7\n");
    Path seen = tmp.resolve("seen.env");
    Path dump = Files.writeString(tmp.resolve("dump.sh"), "env > " + seen + "\n");
    Path service = Path.of("/etc/pam.d", "vipfarm-env-test-" + java.util.UUID.randomUUID().toString().substring(0, 8));
    try {
      Files.writeString(service, String.join("\n",
          "# written by vipfarm's HostInstallIT; removed when the test ends",
          "auth    required pam_permit.so",
          "account required pam_permit.so",
          "session required pam_env.so readenv=0 user_readenv=0 conffile=" + xdg, // what pam_systemd does
          "session required pam_env.so readenv=0 user_readenv=0 conffile="
              + root.resolve("etc/security/vipfarm-env.conf"),
          "session required pam_exec.so type=open_session /bin/sh " + dump,
          ""));
      ManagedProcess pam = ManagedProcess.start("pamtester", List.of("pamtester", service.getFileName().toString(),
          "nobody", "open_session"), Map.of(), tmp.resolve("logs"));
      last = pam;
      assertThat(pam.waitFor(60)).as(pam.output()).isZero();
    } finally {
      Files.deleteIfExists(service);
    }
    List<String> env = Files.readAllLines(seen);
    assertThat(env).contains("VIPFARM_SESSION=c7", "VIPFARM_RUN_DIR=/run/vf-env-test", "VIPFARM_SHIM_LOG=error");
    String preload = env.stream().filter(l -> l.startsWith("LD_PRELOAD=")).findFirst().orElseThrow();
    assertThat(Path.of(preload.substring("LD_PRELOAD=".length()))).isRegularFile()
        .hasFileName("libvipfarm.so");
  }

  @Test
  @DisplayName("A PAM file without a final newline comes back byte-identical too")
  void noFinalNewline() throws Exception {
    Path root = root("session required pam_unix.so");
    Map<String, String> before = snapshot(root);
    assertThat(vipfarm("install", "--root", root.toString()).waitFor(30)).as(last.output()).isZero();
    assertThat(Files.readString(root.resolve("etc/pam.d/common-session")))
        .startsWith("session required pam_unix.so\n# >>> vipfarm host install");
    assertThat(vipfarm("uninstall", "--root", root.toString()).waitFor(30)).as(last.output()).isZero();
    assertThat(snapshot(root)).isEqualTo(before);
  }

  @Test
  @DisplayName("install refuses to overwrite a pam_env file that is not its own, and a missing PAM file")
  void refusals() throws Exception {
    Path root = root(COMMON_SESSION);
    Files.writeString(root.resolve("etc/security/vipfarm-env.conf"), "# someone else's\n");
    Map<String, String> before = snapshot(root);
    ManagedProcess foreign = vipfarm("install", "--root", root.toString());
    assertThat(foreign.waitFor(30)).isEqualTo(2);
    assertThat(foreign.output()).contains("is not vipfarm's");
    ManagedProcess noPam = vipfarm("install", "--root", root.toString(), "--pam-file", "/etc/pam.d/system-auth");
    assertThat(noPam.waitFor(30)).isEqualTo(2);
    assertThat(noPam.output()).contains("no PAM file");
    ManagedProcess unknown = vipfarm("install", "--root", root.toString(), "--frobnicate");
    assertThat(unknown.waitFor(30)).isEqualTo(2);
    assertThat(unknown.output()).contains("unknown option '--frobnicate'");
    assertThat(snapshot(root)).isEqualTo(before);
  }
}
