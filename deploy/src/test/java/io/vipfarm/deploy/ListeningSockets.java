package io.vipfarm.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What really listens on a port, read from /proc/net/tcp (what a program under vipfarm is not shown). */
final class ListeningSockets {
  private ListeningSockets() {}

  /** The IPv4 addresses TCP sockets listen on at {@code port}. */
  static List<String> ipv4(int port) {
    List<String> addresses = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/tcp"))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 3 && f[3].equals("0A") && f[1].endsWith(String.format(":%04X", port))) {
          long a = Long.parseLong(f[1].substring(0, 8), 16); // host byte order: little-endian here
          addresses.add((a & 0xff) + "." + ((a >> 8) & 0xff) + "." + ((a >> 16) & 0xff) + "." + ((a >> 24) & 0xff));
        }
      }
      return addresses;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The IPv6 addresses TCP sockets listen on at {@code port} (/proc/net/tcp6: four host-order words). */
  static List<InetAddress> ipv6(int port) {
    List<InetAddress> addresses = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/net/tcp6"))) {
        String[] f = line.trim().split("\\s+");
        if (f.length > 3 && f[3].equals("0A") && f[1].endsWith(String.format(":%04X", port))) {
          byte[] bytes = new byte[16];
          for (int word = 0; word < 4; word++) {
            long w = Long.parseLong(f[1].substring(word * 8, word * 8 + 8), 16);
            for (int b = 0; b < 4; b++) {
              bytes[word * 4 + b] = (byte) (w >> (8 * b));
            }
          }
          addresses.add(InetAddress.getByAddress(bytes));
        }
      }
      return addresses;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
