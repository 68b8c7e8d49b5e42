package io.vipfarm.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Adds and removes sessions' IPv6 loopback addresses on {@code lo} with iproute2
 * ({@code ip -6 addr replace ADDR/128 dev lo nodad scope host}): {@code scope host} keeps them off the
 * wire, {@code nodad} makes them usable at once, {@code replace} makes adding idempotent (a restarted
 * agent adds its live sessions' addresses again). Needs root. Every method blocks.
 */
public final class Loopback6Addresses {
  private static final Path IF_INET6 = Path.of("/proc/net/if_inet6");
  private static final Path LO_DISABLED = Path.of("/proc/sys/net/ipv6/conf/lo/disable_ipv6");

  /** Why this host cannot have IPv6 session loopbacks, or null when it can. */
  public static String problem(boolean root) {
    if (!root) {
      return "not running as root (adding addresses to lo needs CAP_NET_ADMIN)";
    }
    try {
      if (!Files.exists(IF_INET6) || Files.readString(LO_DISABLED, StandardCharsets.US_ASCII).strip().equals("1")) {
        return "IPv6 is disabled on this host";
      }
    } catch (IOException e) {
      return "IPv6 is disabled on this host (" + e.getMessage() + ")";
    }
    return null;
  }

  public void add(String address) throws IOException {
    ip(List.of("-6", "addr", "replace", address + "/128", "dev", "lo", "nodad", "scope", "host"), false);
  }

  /** Removes it; an address that is already gone is fine. */
  public void remove(String address) throws IOException {
    ip(List.of("-6", "addr", "del", address + "/128", "dev", "lo"), true);
  }

  private static void ip(List<String> args, boolean absentIsFine) throws IOException {
    List<String> command = new ArrayList<>();
    command.add("ip");
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish");
      }
      boolean absent = output.contains("not found") || output.contains("Cannot assign requested address");
      if (process.exitValue() != 0 && !(absentIsFine && absent)) {
        throw new IOException(String.join(" ", command) + " failed: " + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", command), e);
    }
  }
}
