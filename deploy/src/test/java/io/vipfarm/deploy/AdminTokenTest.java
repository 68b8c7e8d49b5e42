package io.vipfarm.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminTokenTest {
  @TempDir Path dataDir;

  @Test
  void environmentWins() throws Exception {
    AdminToken.Resolved r = AdminToken.resolve(Map.of(AdminToken.ENV, "s3cret"), dataDir);
    assertThat(r.token()).isEqualTo("s3cret");
    assertThat(r.file()).isNull();
    assertThat(dataDir.resolve(AdminToken.FILE)).doesNotExist();
  }

  @Test
  void generatesAPrivateTokenOnceAndKeepsIt() throws Exception {
    AdminToken.Resolved first = AdminToken.resolve(Map.of(), dataDir);
    AdminToken.Resolved second = AdminToken.resolve(Map.of(), dataDir);
    assertThat(first.token()).hasSizeGreaterThanOrEqualTo(40).isEqualTo(second.token());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(first.file()))).isEqualTo("rw-------");
  }
}
