package io.vipfarm.deploy.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * This member's full copy of the configuration state, in an embedded SQLite database: one table of
 * {@link StateRow}s, newest wins. The rows are also kept in memory (the state is small: pools,
 * policies, tokens, webhooks) so that the frequent "is this already stored?" question costs no I/O.
 *
 * <p>Durability: WAL journal with {@code synchronous=FULL}, so a method that returned has its rows on
 * disk (fsync'd), surviving kill -9 and power loss alike. Blocking: call it from worker or Hazelcast
 * threads, never from an event loop. Thread-safe (one connection, writes serialized).
 */
public final class StateDatabase implements AutoCloseable {
  /** The file under the data dir. */
  public static final String FILE_NAME = "state.db";

  private static final java.util.Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

  private final Connection connection;
  private final Map<StateRow.Id, StateRow> rows = new ConcurrentHashMap<>();

  private StateDatabase(Connection connection) throws SQLException {
    this.connection = connection;
    try (Statement s = connection.createStatement()) {
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=FULL");
      s.execute("CREATE TABLE IF NOT EXISTS state_rows ("
          + "kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT, updated_at INTEGER NOT NULL, "
          + "PRIMARY KEY (kind, key))");
      try (ResultSet rs = s.executeQuery("SELECT kind, key, value, updated_at FROM state_rows")) {
        while (rs.next()) {
          StateRow row = new StateRow(rs.getString(1), rs.getString(2), rs.getString(3), rs.getLong(4));
          rows.put(row.id(), row);
        }
      }
    }
  }

  /**
   * Opens (creating if needed) {@code <dataDir>/state.db}, mode 0600: it holds webhook signing secrets.
   * SQLite gives its -wal and -shm files the database file's mode.
   */
  public static StateDatabase openIn(Path dataDir) {
    Path file = dataDir.resolve(FILE_NAME);
    try {
      Files.createDirectories(dataDir);
      if (!Files.exists(file)) {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
      } else {
        Files.setPosixFilePermissions(file, OWNER_ONLY);
      }
    } catch (java.io.IOException e) {
      throw new IllegalStateException("cannot create " + file + ": " + e.getMessage(), e);
    }
    return open("jdbc:sqlite:" + file);
  }

  /** Opens the database at a JDBC URL (an SQLite one: the pragmas are SQLite's). */
  public static StateDatabase open(String jdbcUrl) {
    try {
      return new StateDatabase(DriverManager.getConnection(jdbcUrl));
    } catch (SQLException e) {
      throw new IllegalStateException("cannot open the state database " + jdbcUrl + ": " + e.getMessage(), e);
    }
  }

  /** The row of {@code id}, or null. */
  public StateRow row(StateRow.Id id) {
    return rows.get(id);
  }

  /** Every row, tombstones included. */
  public List<StateRow> rows() {
    return new ArrayList<>(rows.values());
  }

  /** Stores {@code row} if it supersedes the stored one; returns whether it did. */
  public boolean offer(StateRow row) {
    return offerAll(List.of(row)) == 1;
  }

  /** Stores, in one transaction, each row that supersedes the stored one; returns how many were stored. */
  public synchronized int offerAll(Collection<StateRow> offered) {
    List<StateRow> newer = new ArrayList<>();
    for (StateRow row : StateRow.newest(offered).values()) {
      if (row.supersedes(rows.get(row.id()))) {
        newer.add(row);
      }
    }
    if (newer.isEmpty()) {
      return 0;
    }
    try {
      connection.setAutoCommit(false);
      try (PreparedStatement upsert = connection.prepareStatement(
          "INSERT INTO state_rows (kind, key, value, updated_at) VALUES (?, ?, ?, ?) "
              + "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")) {
        for (StateRow row : newer) {
          upsert.setString(1, row.kind());
          upsert.setString(2, row.key());
          upsert.setString(3, row.value());
          upsert.setLong(4, row.updatedAt());
          upsert.addBatch();
        }
        upsert.executeBatch();
        connection.commit();
      } catch (SQLException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("state database write failed: " + e.getMessage(), e);
    }
    for (StateRow row : newer) {
      rows.put(row.id(), row);
    }
    return newer.size();
  }

  /**
   * Writes a consistent snapshot of the database to {@code target} (SQLite {@code VACUUM INTO}), which
   * must not exist yet. Safe while the member runs: other connections keep writing meanwhile.
   */
  public synchronized void backupTo(Path target) {
    try (PreparedStatement vacuum = connection.prepareStatement("VACUUM INTO ?")) {
      vacuum.setString(1, target.toAbsolutePath().toString());
      vacuum.execute();
    } catch (SQLException e) {
      throw new IllegalStateException("backup to " + target + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      throw new IllegalStateException("closing the state database failed: " + e.getMessage(), e);
    }
  }
}
