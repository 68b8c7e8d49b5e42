package io.vipfarm.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The share of the machine's CPU time that the hypervisor gave to someone else ("steal" in
 * {@code /proc/stat}) between two readings.
 *
 * <p>Why the benchmarks print it: on the shared 2-CPU machine the same command gave 15,700 and then
 * 4,600 leases/s minutes apart, with nothing else running; {@code vmstat} showed 16-33 % steal during
 * the slow runs. A figure taken while the machine was stolen from says little, and now says so itself.
 */
final class CpuSteal {
  private static final Path PROC_STAT = Path.of("/proc/stat");

  /** One reading of the aggregate {@code cpu} line: steal and total jiffies; both 0 when unreadable. */
  record Reading(long steal, long total) {
    /** Percent of the CPU time between {@code earlier} and this reading that was stolen; NaN if unknown. */
    double percentSince(Reading earlier) {
      long total = this.total - earlier.total;
      return earlier.total == 0 || total <= 0 ? Double.NaN : 100.0 * (steal - earlier.steal) / total;
    }
  }

  private CpuSteal() {}

  static Reading read() {
    try {
      List<String> lines = Files.readAllLines(PROC_STAT);
      return lines.isEmpty() ? new Reading(0, 0) : parse(lines.get(0));
    } catch (IOException | RuntimeException e) {
      return new Reading(0, 0);
    }
  }

  /** Parses {@code cpu user nice system idle iowait irq softirq steal [guest guest_nice]}. */
  static Reading parse(String cpuLine) {
    String[] f = cpuLine.trim().split("\\s+");
    if (f.length < 9 || !f[0].equals("cpu")) {
      return new Reading(0, 0);
    }
    long total = 0;
    // guest time is already counted in user (and guest_nice in nice): fields 1..8 are the whole
    for (int i = 1; i <= 8; i++) {
      total += Long.parseLong(f[i]);
    }
    return new Reading(Long.parseLong(f[8]), total);
  }
}
