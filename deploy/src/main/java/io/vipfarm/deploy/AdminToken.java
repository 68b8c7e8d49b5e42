package io.vipfarm.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Map;

/**
 * The bootstrap admin bearer token: {@code VIPFARM_ADMIN_TOKEN} when set, else the one stored in
 * {@code <data-dir>/admin-token}, generated on first start and created with mode 0600 (never
 * world-readable, not even for an instant).
 */
public final class AdminToken {
  private AdminToken() {}

  public static final String ENV = "VIPFARM_ADMIN_TOKEN";
  public static final String FILE = "admin-token";

  public record Resolved(String token, Path file) {}

  public static Resolved resolve(Map<String, String> env, Path dataDir) throws IOException {
    String fromEnv = env.get(ENV);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return new Resolved(fromEnv.trim(), null);
    }
    Files.createDirectories(dataDir);
    Path file = dataDir.resolve(FILE);
    if (!Files.exists(file)) {
      byte[] bytes = new byte[32];
      new SecureRandom().nextBytes(bytes);
      String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, token + "\n", StandardCharsets.UTF_8);
      } catch (FileAlreadyExistsException raced) {
        // another process created it first: use theirs
      }
    }
    String token = Files.readString(file, StandardCharsets.UTF_8).trim();
    if (token.isEmpty()) {
      throw new IOException(file + " is empty: delete it to generate a new token, or set " + ENV);
    }
    return new Resolved(token, file);
  }
}
