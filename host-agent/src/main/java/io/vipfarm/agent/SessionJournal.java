package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.EffectivePolicy;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The live sessions of this host on disk, so that an agent that restarts without having ended them (a
 * crash, a kill) re-adopts them and their leases instead of leasing new addresses: one JSON file per
 * session next to its rules file, {@code <run-dir>/sessions/<session-id>.session.json}.
 *
 * <p>Each file holds everything needed to re-adopt the session: host id and boot id (a file of another
 * boot is never inherited), session id, user, groups, the effective policy it started with, and every
 * lease with its pool, key and fence (renew needs the fence; a re-acquire needs pool and key), and the
 * cgroup the session came with (its logind scope; absent in files of older agents: none).
 *
 * <p>Written like the rules: to a temporary file in the same directory, forced to disk, renamed over the
 * old one, so a reader sees a whole file or none. Mode 0600, unlike the rules (0644): only the agent reads
 * it back, and it names every session's user, groups and fences, which the programs of the sessions have
 * no need to see. All file work runs on a worker thread.
 */
public final class SessionJournal {
  private static final Logger LOG = LoggerFactory.getLogger(SessionJournal.class);
  static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
  static final String SUFFIX = ".session.json";
  /** Version of the file format; a file of another version is not read. */
  static final int VERSION = 1;

  /** One session as persisted. */
  public record Entry(int version, String hostId, String bootId, String sessionId, String user,
      List<String> groups, EffectivePolicy policy, List<HeldLease> leases, String vipStatus, long startedAt,
      String rulesFile, String cgroup) {

    public Entry {
      groups = groups == null ? List.of() : List.copyOf(groups);
      leases = leases == null ? List.of() : List.copyOf(leases);
    }

    static Entry of(AgentConfig config, LiveSession s) {
      return new Entry(VERSION, config.hostId(), config.bootId(), s.sessionId(), s.user(), s.groups(), s.policy(),
          s.leases(), s.vipStatus(), s.startedAt(), s.rulesFile(), s.cgroup());
    }
  }

  private final Vertx vertx;
  private final Path directory;

  public SessionJournal(Vertx vertx, Path runDir) {
    this.vertx = vertx;
    this.directory = runDir.resolve("sessions");
  }

  public Path fileOf(String sessionId) {
    return directory.resolve(sessionId + SUFFIX);
  }

  /** Persists {@code session} atomically, creating the directories (mode 0755) when needed. */
  public Future<Void> write(AgentConfig config, LiveSession session) {
    Path target = fileOf(session.sessionId());
    String text = Json.toJson(Entry.of(config, session)).encode();
    return vertx.executeBlocking(() -> {
      writeAtomically(target, text);
      return null;
    }, false);
  }

  /** Forgets {@code sessionId}; a file that is already gone is fine. */
  public Future<Void> remove(String sessionId) {
    Path target = fileOf(sessionId);
    return vertx.executeBlocking(() -> {
      Files.deleteIfExists(target);
      return null;
    }, false);
  }

  /**
   * Every persisted session, in file name order. A file that cannot be read (truncated, another
   * version, not ours) is logged and deleted: the agent cannot re-adopt it, and its leases expire.
   */
  public Future<List<Entry>> load() {
    return vertx.executeBlocking(() -> {
      List<Entry> entries = new ArrayList<>();
      if (!Files.isDirectory(directory)) {
        return entries;
      }
      List<Path> files = new ArrayList<>();
      try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
        stream.forEach(files::add);
      }
      files.sort(null);
      for (Path file : files) {
        try {
          Entry entry = Json.fromJson(new JsonObject(Files.readString(file, StandardCharsets.UTF_8)), Entry.class);
          if (entry.version() != VERSION || entry.sessionId() == null
              || !file.getFileName().toString().equals(entry.sessionId() + SUFFIX)) {
            throw new IllegalArgumentException("version " + entry.version() + ", session " + entry.sessionId());
          }
          entries.add(entry);
        } catch (IOException | RuntimeException e) {
          LOG.warn("cannot read the session file {}, deleting it (its leases will expire): {}", file, e.toString());
          Files.deleteIfExists(file);
        }
      }
      return entries;
    }, false);
  }

  private void writeAtomically(Path target, String text) throws IOException {
    AtomicFile.write(target, text, FILE_MODE);
  }
}
