package io.vipfarm.agent;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes a file so that readers see the old content or the new one, never a part: a temporary file
 * in the same directory, created with the final mode (never readable more widely, not even for an
 * instant), synced, then renamed over the target. Blocking: call off the event loop.
 */
final class AtomicFile {
  private AtomicFile() {}

  /** Mode of the directories the agent creates: everyone may read, only the agent writes. */
  static final Set<PosixFilePermission> DIRECTORY_MODE = PosixFilePermissions.fromString("rwxr-xr-x");

  static void write(Path target, String text, Set<PosixFilePermission> mode) throws IOException {
    Path directory = target.getParent();
    createDirectory(directory.getParent());
    createDirectory(directory);
    Path temporary = Files.createTempFile(directory, "." + target.getFileName(), ".tmp",
        PosixFilePermissions.asFileAttribute(mode));
    try {
      try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.WRITE)) {
        ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (bytes.hasRemaining()) {
          channel.write(bytes);
        }
        channel.force(true);
      }
      // the umask may have narrowed the mode at creation
      Files.setPosixFilePermissions(temporary, mode);
      Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /** Creates {@code dir} with {@link #DIRECTORY_MODE} (whatever the umask) when it does not exist yet. */
  private static void createDirectory(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, DIRECTORY_MODE);
  }
}
