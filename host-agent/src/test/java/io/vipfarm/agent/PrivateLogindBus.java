package io.vipfarm.agent;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code dbus-daemon} on a private bus (its own config and socket in a temp dir, never the
 * host's system bus) with {@code fake_logind.py} on it speaking logind's interface, driven line by line.
 */
public final class PrivateLogindBus implements AutoCloseable {
  private final Process daemon;
  private final Process logind;
  private final Writer commands;
  private final BufferedReader answers;
  private final String address;
  /** Debian's python3, where python3-dbus installs (not a python3 of pyenv or a virtualenv on PATH). */
  private static final String PYTHON = "/usr/bin/python3";

  private PrivateLogindBus(Process daemon, String address, Process logind) {
    this.daemon = daemon;
    this.address = address;
    this.logind = logind;
    this.commands = new OutputStreamWriter(logind.getOutputStream(), StandardCharsets.UTF_8);
    this.answers = new BufferedReader(new InputStreamReader(logind.getInputStream(), StandardCharsets.UTF_8));
  }

  /** Why the test cannot run here, or null when dbus-daemon and python3-dbus are there. */
  public static String missing() throws Exception {
    if (!Files.isExecutable(Path.of("/usr/bin/dbus-daemon"))) {
      return "dbus-daemon is not installed (Debian package dbus)";
    }
    Process probe = new ProcessBuilder(PYTHON, "-c", "import dbus, dbus.service, gi.repository.GLib")
        .redirectErrorStream(true).start();
    if (!probe.waitFor(20, TimeUnit.SECONDS) || probe.exitValue() != 0) {
      return "python3-dbus / python3-gi are not installed (Debian packages python3-dbus python3-gi)";
    }
    return null;
  }

  public static PrivateLogindBus start(Path dir) throws Exception {
    Path socket = dir.resolve("system_bus_socket");
    Path config = dir.resolve("bus.conf");
    Files.writeString(config, """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>vipfarm-test</type>
          <listen>unix:path=%s</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <allow own="*"/>
            <allow send_destination="*" eavesdrop="true"/>
            <allow receive_sender="*"/>
          </policy>
        </busconfig>
        """.formatted(socket));
    Files.deleteIfExists(socket); // left by an earlier bus in the same dir
    Process daemon = new ProcessBuilder("dbus-daemon", "--config-file=" + config, "--nofork", "--print-address")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String address;
    try {
      address = new BufferedReader(new InputStreamReader(daemon.getInputStream(), StandardCharsets.UTF_8))
          .readLine();
      if (address == null || address.isBlank()) {
        throw new IOException("dbus-daemon printed no address");
      }
      address = address.strip();
    } catch (IOException e) {
      daemon.destroyForcibly();
      throw e;
    }
    Path script = dir.resolve("fake_logind.py");
    try (var in = PrivateLogindBus.class.getResourceAsStream("/fake_logind.py")) {
      Files.write(script, in.readAllBytes());
    }
    Process logind = new ProcessBuilder(PYTHON, script.toString(), address)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    // the address as a system bus's is given (no guid), so that a restarted bus is the same address
    PrivateLogindBus bus = new PrivateLogindBus(daemon, "unix:path=" + socket, logind);
    String ready = bus.answers.readLine();
    if (ready == null || !ready.startsWith("ready")) {
      bus.close();
      throw new IOException("the fake logind did not start: " + ready);
    }
    return bus;
  }

  public String address() {
    return address;
  }

  /** Sends one command of fake_logind.py and waits for its "ok". */
  public void command(String line) throws IOException {
    commands.write(line + "\n");
    commands.flush();
    String answer = answers.readLine();
    if (answer == null || !answer.startsWith("ok ")) {
      throw new IOException("fake logind answered '" + answer + "' to '" + line + "'");
    }
  }

  @Override
  public void close() throws Exception {
    logind.destroy();
    if (!logind.waitFor(5, TimeUnit.SECONDS)) {
      logind.destroyForcibly();
    }
    daemon.destroy();
    if (!daemon.waitFor(5, TimeUnit.SECONDS)) {
      daemon.destroyForcibly();
    }
  }
}
