package io.vipfarm.agent;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(VertxExtension.class)
class RulesDirectoryTest {

  @Test
  @DisplayName("Writing creates run-dir/sessions (0755) and the rules file (0644) with exactly the text")
  void writesWithModes(Vertx vertx, @TempDir Path temp) throws Exception {
    Path runDir = temp.resolve("run");
    RulesDirectory rules = new RulesDirectory(vertx, runDir);
    Path file = rules.write("7", "vipfarm-rules 1\nsession 7\n").await(10, TimeUnit.SECONDS);

    assertThat(file).isEqualTo(runDir.resolve("sessions").resolve("7.rules")).isEqualTo(rules.fileOf("7"));
    assertThat(Files.readString(file)).isEqualTo("vipfarm-rules 1\nsession 7\n");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r--r--");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file.getParent()))).isEqualTo("rwxr-xr-x");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(runDir))).isEqualTo("rwxr-xr-x");
  }

  @Test
  @DisplayName("Rewriting replaces the file whole and leaves no temporary file behind")
  void rewritesAtomically(Vertx vertx, @TempDir Path temp) throws Exception {
    RulesDirectory rules = new RulesDirectory(vertx, temp);
    rules.write("7", "vipfarm-rules 1\nsession 7\nvip4 127.100.0.1\n").await(10, TimeUnit.SECONDS);
    Path file = rules.write("7", "vipfarm-rules 1\nsession 7\n").await(10, TimeUnit.SECONDS);

    assertThat(Files.readString(file)).isEqualTo("vipfarm-rules 1\nsession 7\n");
    try (Stream<Path> entries = Files.list(file.getParent())) {
      assertThat(entries).containsExactly(file);
    }
  }

  @Test
  @DisplayName("Removing deletes the file; removing a file that is not there is fine")
  void removes(Vertx vertx, @TempDir Path temp) throws Exception {
    RulesDirectory rules = new RulesDirectory(vertx, temp);
    Path file = rules.write("c2", "vipfarm-rules 1\n").await(10, TimeUnit.SECONDS);
    rules.remove("c2").await(10, TimeUnit.SECONDS);
    assertThat(file).doesNotExist();
    rules.remove("c2").await(10, TimeUnit.SECONDS);
    rules.remove("8").await(10, TimeUnit.SECONDS);
  }
}
