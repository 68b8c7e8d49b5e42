package io.vipfarm.deploy;

import java.io.IOException;
import java.io.UncheckedIOException;
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
}
