package io.vipfarm.deploy.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.vipfarm.api.model.PoolSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state database on a real SQLite file: what is written is read back after reopening, newest wins. */
class StateDatabaseTest {
  @TempDir Path dir;

  private static StateRow pool(String name, String cidr, long at) {
    return new StateRow("pool", name, StateKind.poolText(new PoolSpec(name, cidr, List.of(), Map.of(), 300)), at);
  }

  @Test
  void rowsWrittenAreReadBackAfterReopening() {
    try (StateDatabase db = StateDatabase.openIn(dir)) {
      assertThat(db.offer(pool("a", "127.100.0.0/24", 10))).isTrue();
      assertThat(db.offer(new StateRow("policy", "p", "{\"name\":\"p\",\"priority\":1}", 11))).isTrue();
    }
    assertThat(dir.resolve(StateDatabase.FILE_NAME)).exists();
    try (StateDatabase db = StateDatabase.openIn(dir)) {
      assertThat(db.rows()).containsExactlyInAnyOrder(pool("a", "127.100.0.0/24", 10),
          new StateRow("policy", "p", "{\"name\":\"p\",\"priority\":1}", 11));
    }
  }

  @Test
  void aTombstoneReplacesAnOlderValueAndSurvivesReopening() {
    try (StateDatabase db = StateDatabase.openIn(dir)) {
      db.offer(pool("a", "127.100.0.0/24", 10));
      assertThat(db.offer(new StateRow("pool", "a", null, 20))).isTrue();
    }
    try (StateDatabase db = StateDatabase.openIn(dir)) {
      StateRow row = db.row(new StateRow.Id("pool", "a"));
      assertThat(row.isTombstone()).isTrue();
      assertThat(row.updatedAt()).isEqualTo(20);
      // a value older than the deletion does not bring the entry back
      assertThat(db.offer(pool("a", "127.100.0.0/24", 15))).isFalse();
      // a newer one (created again after the deletion) does
      assertThat(db.offer(pool("a", "127.101.0.0/24", 25))).isTrue();
      assertThat(db.row(new StateRow.Id("pool", "a"))).isEqualTo(pool("a", "127.101.0.0/24", 25));
    }
  }

  @Test
  void offerAllKeepsTheNewestOfEachEntryAndIgnoresOlderOnes() {
    try (StateDatabase db = StateDatabase.openIn(dir)) {
      db.offer(pool("a", "127.100.0.0/24", 50));
      int stored = db.offerAll(List.of(
          pool("a", "127.102.0.0/24", 40),          // older than the stored row: ignored
          pool("b", "127.103.0.0/24", 5),
          pool("b", "127.104.0.0/24", 7),           // newer of the two offered for b
          new StateRow("token", "t1", null, 3)));   // a tombstone for an entry never seen is kept
      assertThat(stored).isEqualTo(2);
      assertThat(db.rows()).containsExactlyInAnyOrder(pool("a", "127.100.0.0/24", 50), pool("b", "127.104.0.0/24", 7),
          new StateRow("token", "t1", null, 3));
    }
  }

  @Test
  void equalStampsAreDecidedTheSameWayWhateverTheOrder() {
    StateRow value = pool("a", "127.100.0.0/24", 9);
    StateRow other = pool("a", "127.101.0.0/24", 9);
    StateRow tombstone = new StateRow("pool", "a", null, 9);
    assertThat(tombstone.supersedes(value)).isTrue();
    assertThat(value.supersedes(tombstone)).isFalse();
    assertThat(value.supersedes(other)).isNotEqualTo(other.supersedes(value));
    assertThat(StateRow.newest(List.of(value, other, tombstone)).values()).containsExactly(tombstone);
    assertThat(StateRow.newest(List.of(tombstone, other, value)).values()).containsExactly(tombstone);
  }

  @Test
  void theFileIsSqliteInWalModeSoCommitsAreJournaled() throws Exception {
    try (StateDatabase db = StateDatabase.openIn(dir)) {
      db.offer(pool("a", "127.100.0.0/24", 1));
      assertThat(Files.readString(dir.resolve(StateDatabase.FILE_NAME), java.nio.charset.StandardCharsets.ISO_8859_1))
          .startsWith("SQLite format 3");
      assertThat(dir.resolve(StateDatabase.FILE_NAME + "-wal")).exists();
      // webhook secrets inside: owner only, journal files included
      for (String file : List.of(StateDatabase.FILE_NAME, StateDatabase.FILE_NAME + "-wal")) {
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(file))))
            .as(file).isEqualTo("rw-------");
      }
    }
  }

  @Test
  void aPlanAppliesOnlyWhatTheClusterLacksPoolsFirstDeletionsFirst() {
    StateRow poolA = pool("a", "127.100.0.0/24", 1);
    StateRow goneB = new StateRow("pool", "b", null, 2);
    StateRow goneC = new StateRow("pool", "c", null, 2);
    StateRow policy = new StateRow("policy", "p", "{\"name\":\"p\",\"priority\":1}", 3);
    StateRow token = new StateRow("token", "t", "{\"id\":\"t\",\"role\":\"reader\"}", 4);
    Map<String, String> cluster = Map.of(
        "pool/b", "{}",                                   // deleted in the store, still in the cluster
        "policy/p", "{\"priority\":1,\"name\":\"p\"}",   // same document, other field order: nothing to do
        "token/t", "{\"id\":\"t\",\"role\":\"admin\"}");  // differs
    List<StateRow> plan = RestorePlan.of(List.of(token, policy, poolA, goneC, goneB),
        (kind, key) -> cluster.get(kind.wireName() + "/" + key));
    assertThat(plan).containsExactly(goneB, poolA, token);
  }
}
