package io.vipfarm.agent;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The native loader {@code vipfarm-bpf} (host-agent/native/bpf/CONTRACT.md): it loads, pins and attaches
 * the BPF programs and writes the sessions' rules into their maps. A separate program rather than JNA:
 * libbpf does the relocation and verification work, the agent stays pure Java, and each call is a short
 * exec whose exit status and one-line error are easy to log. Every method blocks (it runs the program):
 * call it on a worker thread.
 */
public final class BpfLoader {
  private static final long TIMEOUT_SECONDS = 20;

  private final Path program;

  public BpfLoader(Path program) {
    this.program = program;
  }

  public Path program() {
    return program;
  }

  /** The problem that keeps the kernel path from working here, or null when it works. */
  public String probe() {
    if (!Files.isExecutable(program)) {
      return "the loader " + program + " is missing or not executable";
    }
    try {
      run(List.of("probe"));
      return null;
    } catch (IOException e) {
      return e.getMessage();
    }
  }

  /** Loads, pins under {@code pinDir} and attaches the programs to {@code cgroup}; idempotent. */
  public void attach(Path pinDir, Path cgroup) throws IOException {
    run(List.of("attach", "--pin", pinDir.toString(), "--cgroup", cgroup.toString()));
  }

  /** Puts the rules of {@code rulesFile} into the maps, keyed by the id of {@code sessionCgroup}. */
  public void set(Path pinDir, Path sessionCgroup, Path rulesFile) throws IOException {
    run(List.of("set", "--pin", pinDir.toString(), "--cgroup", sessionCgroup.toString(), "--rules",
        rulesFile.toString()));
  }

  /** Removes the map entries of the cgroup {@code cgroupId}. */
  public void clear(Path pinDir, long cgroupId) throws IOException {
    run(List.of("clear", "--pin", pinDir.toString(), "--cgroup-id", Long.toString(cgroupId)));
  }

  /** The cgroup ids that have entries in the maps. */
  public List<Long> list(Path pinDir) throws IOException {
    JsonArray sessions = new JsonObject(run(List.of("list", "--pin", pinDir.toString())))
        .getJsonArray("sessions", new JsonArray());
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < sessions.size(); i++) {
      ids.add(sessions.getJsonObject(i).getLong("cgroupId"));
    }
    return ids;
  }

  /** Detaches and unpins everything under {@code pinDir}. */
  public void detach(Path pinDir) throws IOException {
    run(List.of("detach", "--pin", pinDir.toString()));
  }

  /** Runs the loader; its standard output, or an IOException holding its error line. */
  private String run(List<String> args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(program.toString());
    command.addAll(args);
    Path stderr = Files.createTempFile("vipfarm-bpf", ".err");
    try {
      Process process = new ProcessBuilder(command)
          .redirectError(stderr.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
          .start();
      byte[] out = process.getInputStream().readAllBytes();
      if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        throw new IOException("vipfarm-bpf " + args.get(0) + " did not finish within " + TIMEOUT_SECONDS + " s");
      }
      if (process.exitValue() != 0) {
        String error = Files.readString(stderr, StandardCharsets.UTF_8).strip();
        throw new IOException("vipfarm-bpf " + args.get(0) + " failed (exit " + process.exitValue() + "): "
            + (error.isEmpty() ? "no message" : error.lines().reduce((a, b) -> b).orElse(error)));
      }
      return new String(out, StandardCharsets.UTF_8);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running vipfarm-bpf " + args.get(0), e);
    } finally {
      Files.deleteIfExists(stderr);
    }
  }
}
