package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * The {@code sessions} directory of the run dir, where each live session has its rules file
 * {@code <run-dir>/sessions/<session-id>.rules} (docs/rules-format.md).
 *
 * <p>A file is written to a temporary file in the same directory, made mode 0644 (every program of
 * the session reads it) and renamed over the old one atomically, so a reader sees the old rules or
 * the new ones, never a part. The directories are created mode 0755. All file work runs on a worker
 * thread, never on the event loop.
 */
public final class RulesDirectory {
  static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-r--r--");
  static final Set<PosixFilePermission> DIRECTORY_MODE = AtomicFile.DIRECTORY_MODE;
  private static final String SUFFIX = ".rules";

  private final Vertx vertx;
  private final Path directory;

  public RulesDirectory(Vertx vertx, Path runDir) {
    this.vertx = vertx;
    this.directory = runDir.resolve("sessions");
  }

  /** Where the rules of {@code sessionId} live (a session id is a plain word, see {@link LoopbackAddress}). */
  public Path fileOf(String sessionId) {
    return directory.resolve(sessionId + SUFFIX);
  }

  /** Writes the rules of {@code sessionId} atomically; completes with the file's path. */
  public Future<Path> write(String sessionId, String rules) {
    Path target = fileOf(sessionId);
    return vertx.executeBlocking(() -> {
      writeAtomically(target, rules);
      return target;
    }, false);
  }

  /** Removes the rules of {@code sessionId}; a file that is already gone is fine. */
  public Future<Void> remove(String sessionId) {
    Path target = fileOf(sessionId);
    return vertx.executeBlocking(() -> {
      Files.deleteIfExists(target);
      return null;
    }, false);
  }

  private void writeAtomically(Path target, String text) throws IOException {
    AtomicFile.write(target, text, FILE_MODE);
  }
}
