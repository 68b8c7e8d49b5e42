package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vipfarm.deploy.store.StateDatabase;
import io.vipfarm.deploy.store.StateRow;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vipfarm state backup|list} on a real state database that another connection holds open. */
class StateCommandTest {
  @TempDir Path tmp;

  @Test
  void backupWhileTheDatabaseIsInUseCopiesEveryRow() {
    Path data = tmp.resolve("data");
    StateRow pool = new StateRow("pool", "a", "{\"name\":\"a\"}", 5);
    StateRow gone = new StateRow("policy", "p", null, 6);
    try (StateDatabase running = StateDatabase.openIn(data)) {
      running.offerAll(List.of(pool, gone));
      Path backup = tmp.resolve("backup.db");
      assertThat(StateCommand.run(List.of("backup", "--data-dir", data.toString(), "--to", backup.toString()),
          Map.of(), new PrintStream(new ByteArrayOutputStream()))).isZero();
      running.offer(new StateRow("pool", "later", "{}", 7));  // after the snapshot: not in it
      Path restored = tmp.resolve("restored");
      restored.toFile().mkdirs();
      assertThat(backup.toFile().renameTo(restored.resolve(StateDatabase.FILE_NAME).toFile())).isTrue();
      try (StateDatabase copy = StateDatabase.openIn(restored)) {
        assertThat(copy.rows()).containsExactlyInAnyOrder(pool, gone);
      }
    }
  }

  @Test
  void listPrintsOneJsonLinePerRowTombstonesMarked() {
    Path data = tmp.resolve("data");
    try (StateDatabase db = StateDatabase.openIn(data)) {
      db.offerAll(List.of(new StateRow("pool", "a", "{}", 5), new StateRow("policy", "p", null, 6)));
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    StateCommand.run(List.of("list", "--data-dir", data.toString()), Map.of(), new PrintStream(out, true, StandardCharsets.UTF_8));
    assertThat(out.toString(StandardCharsets.UTF_8).lines()).containsExactly(
        "{\"kind\":\"policy\",\"key\":\"p\",\"updatedAt\":6,\"deleted\":true}",
        "{\"kind\":\"pool\",\"key\":\"a\",\"updatedAt\":5,\"deleted\":false}");
  }

  @Test
  void refusesWhatItCannotDo() {
    PrintStream out = new PrintStream(new ByteArrayOutputStream());
    assertThatThrownBy(() -> StateCommand.run(List.of("list", "--data-dir", tmp.resolve("none").toString()), Map.of(), out))
        .isInstanceOf(UsageException.class).hasMessageContaining("no state database");
    assertThatThrownBy(() -> StateCommand.run(List.of("backup", "--data-dir", tmp.toString()), Map.of(), out))
        .isInstanceOf(UsageException.class).hasMessageContaining("--to");
    assertThatThrownBy(() -> StateCommand.run(List.of("restore"), Map.of(), out))
        .isInstanceOf(UsageException.class).hasMessageContaining("'backup' or 'list'");
  }
}
