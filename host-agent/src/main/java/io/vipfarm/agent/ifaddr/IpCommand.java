package io.vipfarm.agent.ifaddr;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Interface addresses through iproute2's {@code ip} command. Blocking: call on a worker thread.
 *
 * <p>Why {@code ip} rather than netlink: Java has no netlink socket, so netlink would mean a native
 * helper or JNA plus hand-built rtnetlink messages, code to maintain for a few calls per session start.
 * {@code ip} is on every Linux host (Debian: iproute2), speaks netlink for us, reports in JSON
 * ({@code -j}), and its commands are what an administrator types to check or repair by hand. A call costs
 * about 9 ms (a loaded 2-CPU machine), against a lease acquisition that crosses the cluster.
 */
public final class IpCommand {
  private static final long TIMEOUT_SECONDS = 10;
  private final List<String> prefix;
  private final long timeoutSeconds;

  /** {@code ip} from the PATH, else from /usr/sbin or /sbin (a service's PATH may lack sbin). */
  public IpCommand() {
    this(List.of(locate()), TIMEOUT_SECONDS);
  }

  /** @param prefix the command words before the arguments, e.g. {@code ip -n NS} for a test's namespace */
  IpCommand(List<String> prefix, long timeoutSeconds) {
    this.prefix = List.copyOf(prefix);
    this.timeoutSeconds = timeoutSeconds;
  }

  private static String locate() {
    String path = System.getenv("PATH");
    List<String> dirs = new ArrayList<>(path == null ? List.of() : List.of(path.split(":")));
    dirs.addAll(List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin"));
    for (String dir : dirs) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "ip"))) {
        return Path.of(dir, "ip").toString();
      }
    }
    return "ip";
  }

  /** Fails with a clear message when {@code interfaceName} does not exist (or {@code ip} cannot run). */
  public void checkInterface(String interfaceName) {
    run(List.of("-j", "link", "show", "dev", interfaceName));
  }

  /** Every IPv4 address of the host, on every interface. */
  public List<PresentAddress> addresses() {
    return parse(run(List.of("-j", "-4", "addr", "show")));
  }

  /** Adds {@code address}/32 to {@code interfaceName} with {@code label}. */
  public void add(String interfaceName, String address, String label) {
    run(List.of("addr", "add", address + "/32", "dev", interfaceName, "label", label));
  }

  /**
   * Removes {@code address}/32 from {@code interfaceName}, only if it carries {@code label}: the kernel
   * compares the label on delete, so an address someone re-added without it in the meantime stays.
   */
  public void remove(String interfaceName, String address, String label) {
    run(List.of("addr", "del", address + "/32", "dev", interfaceName, "label", label));
  }

  /** The addresses in the output of {@code ip -j -4 addr show}. */
  static List<PresentAddress> parse(String json) {
    List<PresentAddress> out = new ArrayList<>();
    JsonArray links;
    try {
      links = new JsonArray(json.isBlank() ? "[]" : json);
    } catch (DecodeException e) {
      throw new IllegalStateException("cannot read the output of 'ip -j -4 addr show': " + e.getMessage(), e);
    }
    for (Object l : links) {
      if (!(l instanceof JsonObject link)) {
        continue;
      }
      String name = link.getString("ifname");
      JsonArray infos = link.getJsonArray("addr_info", new JsonArray());
      for (Object i : infos) {
        if (i instanceof JsonObject info && "inet".equals(info.getString("family")) && info.getString("local") != null) {
          out.add(new PresentAddress(name, info.getString("local"), info.getInteger("prefixlen", 32),
              info.getString("label", name)));
        }
      }
    }
    return out;
  }

  /**
   * Runs {@code ip ARGS} and returns its standard output. The output goes to temporary files, not pipes,
   * so that a command that hangs is ended after its timeout (10 s) instead of blocking the
   * thread (and with it every later change of the interface).
   */
  private String run(List<String> args) {
    List<String> command = new ArrayList<>(prefix);
    command.addAll(args);
    String shown = "'" + String.join(" ", command) + "'";
    Path stdout = null;
    Path stderr = null;
    Process process = null;
    try {
      stdout = Files.createTempFile("vipfarm-ip", ".out");
      stderr = Files.createTempFile("vipfarm-ip", ".err");
      try {
        process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
      } catch (IOException e) {
        throw new IllegalStateException("cannot run " + shown + " (is iproute2 installed?): " + e.getMessage(), e);
      }
      if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IllegalStateException(shown + " did not finish within " + timeoutSeconds + " s");
      }
      if (process.exitValue() != 0) {
        throw new IllegalStateException(shown + " failed (exit " + process.exitValue() + "): "
            + Files.readString(stderr, StandardCharsets.UTF_8).strip());
      }
      return Files.readString(stdout, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("running " + shown, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      if (process != null) {
        process.destroyForcibly();
      }
      throw new IllegalStateException("interrupted while running " + shown, e);
    } finally {
      deleteQuietly(stdout);
      deleteQuietly(stderr);
    }
  }

  private static void deleteQuietly(Path file) {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException ignored) {
        // a leftover temporary file is harmless
      }
    }
  }
}
