package io.vipfarm.allocation;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A small network of its own for split tests: one network namespace per member, each with a veth link to
 * a bridge in a hub namespace, addresses in 10.213.77.0/24 that exist only inside these namespaces.
 * {@link #cut} takes a member's link down at the hub (a pulled cable), {@link #restore} brings it back.
 * {@link #close} deletes every namespace it created (and with them the links), also after a failure.
 * Needs root and {@code ip netns}: {@link #unavailableReason} says why not, so tests can skip.
 */
final class SplitNetwork implements AutoCloseable {
  private final String id = String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
  private final String hub = "vfsb-" + id + "-hub";
  private final int members;
  private final List<String> created = new ArrayList<>();

  private SplitNetwork(int members) {
    this.members = members;
  }

  /** Null when this machine can run the test, else why not. */
  static String unavailableReason() {
    String user = System.getProperty("user.name");
    if (!"root".equals(user)) {
      return "needs root for network namespaces (running as " + user + ")";
    }
    String probe = "vfsb-probe-" + String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    try {
      String add = run(List.of("ip", "netns", "add", probe));
      if (add != null) {
        return "'ip netns add' does not work here: " + add;
      }
      run(List.of("ip", "netns", "del", probe));
      return null;
    } catch (IOException e) {
      return "cannot run 'ip' (install iproute2): " + e.getMessage();
    }
  }

  static SplitNetwork create(int members) throws IOException {
    SplitNetwork net = new SplitNetwork(members);
    try {
      net.build();
      return net;
    } catch (IOException | RuntimeException e) {
      net.close();
      throw e;
    }
  }

  private void build() throws IOException {
    must("ip", "netns", "add", hub);
    created.add(hub);
    must("ip", "-n", hub, "link", "add", "br0", "type", "bridge");
    must("ip", "-n", hub, "link", "set", "br0", "up");
    for (int i = 1; i <= members; i++) {
      String ns = namespace(i);
      must("ip", "netns", "add", ns);
      created.add(ns);
      must("ip", "-n", ns, "link", "set", "lo", "up");
      must("ip", "-n", ns, "link", "add", memberLink(i), "type", "veth", "peer", "name", hubLink(i), "netns", hub);
      must("ip", "-n", ns, "addr", "add", address(i) + "/24", "dev", memberLink(i));
      must("ip", "-n", ns, "link", "set", memberLink(i), "up");
      must("ip", "-n", hub, "link", "set", hubLink(i), "master", "br0");
      must("ip", "-n", hub, "link", "set", hubLink(i), "up");
    }
  }

  String namespace(int member) {
    return "vfsb-" + id + "-" + member;
  }

  /** The member's address, inside its namespace only. */
  String address(int member) {
    return "10.213.77." + member;
  }

  /** Command words that run a program inside the member's namespace. */
  List<String> exec(int member) {
    return List.of("ip", "netns", "exec", namespace(member));
  }

  void cut(int member) throws IOException {
    must("ip", "-n", hub, "link", "set", hubLink(member), "down");
  }

  void restore(int member) throws IOException {
    must("ip", "-n", hub, "link", "set", hubLink(member), "up");
  }

  private String memberLink(int member) {
    return "vf" + id + "m" + member;
  }

  private String hubLink(int member) {
    return "vf" + id + "h" + member;
  }

  /** Deletes the namespaces (their links go with them); best effort, every one is tried. */
  @Override
  public void close() throws IOException {
    for (int i = created.size() - 1; i >= 0; i--) {
      String failed = run(List.of("ip", "netns", "del", created.get(i)));
      if (failed != null) {
        System.err.println("could not delete network namespace " + created.get(i) + ": " + failed);
      }
    }
    created.clear();
  }

  private static void must(String... command) throws IOException {
    String failed = run(List.of(command));
    if (failed != null) {
      throw new IOException(String.join(" ", command) + " failed: " + failed);
    }
  }

  /** Runs a command; null when it succeeded, else its exit code and output. */
  private static String run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "timed out";
      }
      return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + output;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
