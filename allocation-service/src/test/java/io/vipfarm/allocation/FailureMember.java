package io.vipfarm.allocation;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * One {@link ClusterMemberMain} JVM started by a test: its stdin/stdout protocol, its grant log, and a
 * real {@code kill -9} ({@link Process#destroyForcibly} on the PID this class started). Its stderr (the
 * member's log) goes to {@code <dir>/<name>.log}.
 */
final class FailureMember implements AutoCloseable {
  private final String name;
  private final Process process;
  private final Writer stdin;
  private final Path grantLog;
  private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> reports = new LinkedBlockingQueue<>();
  private volatile String ready;

  /**
   * @param prefix command words put before {@code java} (e.g. {@code ip netns exec ns1}), or empty
   */
  FailureMember(String name, List<String> prefix, Path dir, String clusterName, String bind, int port,
      List<String> members, int expectedMembers) throws IOException {
    this.name = name;
    this.grantLog = dir.resolve(name + ".grants");
    Files.deleteIfExists(grantLog);
    List<String> command = new ArrayList<>(prefix);
    command.addAll(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-Dhazelcast.phone.home.enabled=false", "-Dhazelcast.logging.type=slf4j",
        "-Djava.net.preferIPv4Stack=true",
        "-cp", System.getProperty("java.class.path"),
        ClusterMemberMain.class.getName(),
        clusterName, bind, Integer.toString(port), String.join(",", members), Integer.toString(expectedMembers),
        grantLog.toString()));
    process = new ProcessBuilder(command)
        .redirectError(dir.resolve(name + ".log").toFile())
        .start();
    stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread reader = new Thread(this::readStdout, "stdout-" + name);
    reader.setDaemon(true);
    reader.start();
  }

  private void readStdout() {
    try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("READY")) {
          ready = line;
        } else if (line.startsWith("DONE")) {
          reports.add(line);
        } else {
          replies.add(line);
        }
      }
    } catch (IOException e) {
      // the process is gone
    }
  }

  String name() {
    return name;
  }

  long pid() {
    return process.pid();
  }

  Path grantLog() {
    return grantLog;
  }

  /** Waits for the READY line; returns it. */
  String awaitReady(long seconds) {
    poll(seconds, () -> ready != null || !process.isAlive(), name + " to start");
    if (ready == null) {
      throw new AssertionError(name + " exited with " + process.exitValue() + " before it was ready; see its log");
    }
    return ready;
  }

  /** Sends one command and returns its reply lines: any {@code LEASE} lines and the final OK line. */
  synchronized List<String> command(String command, long seconds) {
    try {
      stdin.write(command + "\n");
      stdin.flush();
      List<String> lines = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
      while (true) {
        String line = replies.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw new AssertionError(name + ": no answer to '" + command + "' within " + seconds + " s");
        }
        lines.add(line);
        if (line.startsWith("OK") || line.startsWith("ERR")) {
          return lines;
        }
      }
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(name + ": cannot send '" + command + "'", e);
    }
  }

  /** The OK line's text after {@code OK }, failing on ERR. */
  String ok(String command, long seconds) {
    List<String> lines = command(command, seconds);
    String last = lines.get(lines.size() - 1);
    if (!last.startsWith("OK")) {
      throw new AssertionError(name + ": '" + command + "' answered " + last);
    }
    return last.length() > 3 ? last.substring(3) : "";
  }

  int clusterSize() {
    return Integer.parseInt(ok("members", 30));
  }

  /** The next DONE report. */
  String awaitReport(long seconds) throws InterruptedException {
    String report = reports.poll(seconds, TimeUnit.SECONDS);
    if (report == null) {
      throw new AssertionError(name + ": no DONE report within " + seconds + " s");
    }
    return report;
  }

  /** kill -9. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      throw new AssertionError(name + " (pid " + process.pid() + ") did not die from SIGKILL");
    }
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Asks the member to leave, then kills it if it does not exit in time. */
  @Override
  public void close() throws InterruptedException {
    if (!process.isAlive()) {
      return;
    }
    try {
      stdin.write("exit\n");
      stdin.flush();
    } catch (IOException ignored) {
      // already gone
    }
    if (!process.waitFor(20, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** Polls {@code done} every 100 ms until it holds or {@code seconds} pass. */
  static void poll(long seconds, BooleanSupplier done, String what) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + seconds + " s waiting for " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
    }
  }
}
