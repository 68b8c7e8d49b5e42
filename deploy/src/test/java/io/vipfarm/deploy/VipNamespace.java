package io.vipfarm.deploy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Two network namespaces of a test's own: one stands for a session host on a real subnet (loopback up,
 * a veth interface {@link #INTERFACE} holding {@link #HOST_ADDRESS}/24 of {@link #SUBNET}), the other for
 * a neighbour on that subnet at the far end of the veth link ({@link #NEIGHBOUR_ADDRESS}/24). The subnet
 * exists only between these two, so nothing the test does reaches another network. {@link #close}
 * deletes both (and the link with them). Needs root: {@link #unavailableReason} says why not.
 */
final class VipNamespace implements AutoCloseable {
  static final String SUBNET = "10.77.0.0/24";
  static final String HOST_ADDRESS = "10.77.0.1";
  static final String INTERFACE = "vfvip0";
  static final String NEIGHBOUR_ADDRESS = "10.77.0.2";

  private final String name = "vfvip-" + String.format("%06x", ThreadLocalRandom.current().nextInt(0x1000000));
  private final String neighbour = name + "-nb";
  private boolean created;
  private boolean neighbourCreated;

  private VipNamespace() {}

  /** Null when this machine can run the test, else why not. */
  static String unavailableReason() {
    String user = System.getProperty("user.name");
    if (!"root".equals(user)) {
      return "needs root to create a network namespace and change its interface addresses (running as " + user + ")";
    }
    String probe = "vfvip-probe-" + String.format("%06x", ThreadLocalRandom.current().nextInt(0x1000000));
    String failed = run(List.of("ip", "netns", "add", probe));
    if (failed != null) {
      return "'ip netns add' does not work here: " + failed;
    }
    run(List.of("ip", "netns", "del", probe));
    return null;
  }

  static VipNamespace create() {
    VipNamespace ns = new VipNamespace();
    try {
      ns.must("ip", "netns", "add", ns.name);
      ns.created = true;
      ns.must("ip", "-n", ns.name, "link", "set", "lo", "up");
      ns.must("ip", "netns", "add", ns.neighbour);
      ns.neighbourCreated = true;
      ns.must("ip", "-n", ns.name, "link", "add", INTERFACE, "type", "veth", "peer", "name", "vfvip1",
          "netns", ns.neighbour);
      ns.must("ip", "-n", ns.name, "addr", "add", HOST_ADDRESS + "/24", "dev", INTERFACE);
      ns.must("ip", "-n", ns.name, "link", "set", INTERFACE, "up");
      ns.must("ip", "-n", ns.neighbour, "addr", "add", NEIGHBOUR_ADDRESS + "/24", "dev", "vfvip1");
      ns.must("ip", "-n", ns.neighbour, "link", "set", "vfvip1", "up");
      return ns;
    } catch (RuntimeException e) {
      ns.close();
      throw e;
    }
  }

  String name() {
    return name;
  }

  /** Command words that run a program inside the namespace. */
  List<String> exec(String... command) {
    List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", name));
    argv.addAll(List.of(command));
    return argv;
  }

  /** Runs {@code ip -n NS ARGS}; fails the test when it fails. */
  void ip(String... args) {
    List<String> argv = new ArrayList<>(List.of("ip", "-n", name));
    argv.addAll(List.of(args));
    must(argv.toArray(String[]::new));
  }

  /** The IPv4 addresses on {@code ifname}, as {@code address label}: e.g. {@code 10.77.0.9/32 vfvip0:vf}. */
  List<String> addresses(String ifname) {
    List<String> out = new ArrayList<>();
    String json = output(List.of("ip", "-n", name, "-j", "-4", "addr", "show", "dev", ifname));
    for (Object link : new JsonArray(json)) {
      for (Object a : ((JsonObject) link).getJsonArray("addr_info", new JsonArray())) {
        JsonObject info = (JsonObject) a;
        out.add(info.getString("local") + "/" + info.getInteger("prefixlen") + " " + info.getString("label"));
      }
    }
    return out;
  }

  /** Runs a short program inside the host's namespace; returns its exit code and output. */
  Result run(long seconds, String... command) {
    return runIn(exec(command), seconds);
  }

  /** Runs a short program on the neighbour, across the veth link; returns its exit code and output. */
  Result runOnNeighbour(long seconds, String... command) {
    List<String> argv = new ArrayList<>(List.of("ip", "netns", "exec", neighbour));
    argv.addAll(List.of(command));
    return runIn(argv, seconds);
  }

  private static Result runIn(List<String> argv, long seconds) {
    try {
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out");
      }
      return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  record Result(int exit, String output) {}

  @Override
  public void close() {
    if (neighbourCreated) {
      String failed = run(List.of("ip", "netns", "del", neighbour));
      if (failed != null) {
        System.err.println("could not delete network namespace " + neighbour + ": " + failed);
      }
      neighbourCreated = false;
    }
    if (created) {
      String failed = run(List.of("ip", "netns", "del", name));
      if (failed != null) {
        System.err.println("could not delete network namespace " + name + ": " + failed);
      }
      created = false;
    }
  }

  private void must(String... command) {
    String failed = run(List.of(command));
    if (failed != null) {
      throw new IllegalStateException(String.join(" ", command) + " failed: " + failed);
    }
  }

  private static String output(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IllegalStateException(String.join(" ", command) + " failed");
      }
      return out;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Null on success, else the command's output. */
  private static String run(List<String> command) {
    try {
      Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "timed out";
      }
      return p.exitValue() == 0 ? null : out.strip();
    } catch (IOException e) {
      return e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }
}
