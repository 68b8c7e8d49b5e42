package io.vipfarm.api.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonArray;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class JsonBytesTest {
  @Test
  @DisplayName("strings read back as they were, in UTF-8, the array growing as needed")
  void stringsReadBack() {
    List<String> values = List.of("", "plain", "q\"b\\s", "\u0000\u001f\n\t", "ü€", "\uD83D\uDE00", "x".repeat(1000) + "é");
    JsonBytes out = new JsonBytes(1).ascii('[');
    for (String value : values) {
      out.string(value).ascii(',');
    }
    out.string(null).ascii(']');
    List<Object> expected = new ArrayList<>(values);
    expected.add(null);
    assertThat(new JsonArray(new String(out.toByteArray(), StandardCharsets.UTF_8)).getList()).isEqualTo(expected);
    assertThat(new JsonBytes(8).string("ü€\uD83D\uDE00").toByteArray())
        .isEqualTo("\"ü€\uD83D\uDE00\"".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("a lone surrogate becomes '?', as String.getBytes makes it; digits are zero-padded")
  void loneSurrogatesAndDigits() {
    assertThat(new JsonBytes(4).string("a\uD83Db").toString()).isEqualTo("\"a?b\"");
    assertThat(new JsonBytes(4).digits(7, 3).ascii('|').digits(2026, 4).ascii('|').digits(5, 2).toString())
        .isEqualTo("007|2026|05");
  }

  @Test
  @DisplayName("an exactly full array is handed out as it is; otherwise its written start")
  void toByteArrayTrims() {
    JsonBytes full = new JsonBytes(16).ascii("0123456789abcdef");
    assertThat(full.toByteArray()).hasSize(16).isSameAs(full.toByteArray());
    assertThat(new JsonBytes(16).ascii("abc").toByteArray()).containsExactly('a', 'b', 'c');
  }
}
