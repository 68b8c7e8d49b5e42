package io.vipfarm.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GlobPatternTest {

  @DisplayName("a well-formed glob matches as fnmatch(3) with no flags does")
  @ParameterizedTest(name = "''{0}'' vs ''{1}'' -> {2}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      // literals and whole-string matching
      "alice       | alice        | true",
      "alice       | alice2       | false",
      "alice       | Alice        | false",
      "alice       | xalice       | false",
      // star
      "*           | anything     | true",
      "*           | \"\"         | true",
      "***         | abc          | true",
      "web-*       | web-01       | true",
      "web-*       | web-         | true",
      "web-*       | db-01        | false",
      "*.farm.lan  | h1.farm.lan  | true",
      "*.farm.lan  | farm.lan     | false",
      "a*b*c       | axxbyyc      | true",
      "a*b*c       | axxbyyb      | false",
      "*ab         | aab          | true",
      "*.*         | .hidden      | true",
      // question mark
      "h?          | h1           | true",
      "h?          | h            | false",
      "h?          | h12          | false",
      // brackets
      "h[0-9]      | h7           | true",
      "h[0-9]      | hx           | false",
      "h[abc]      | hb           | true",
      "h[!abc]     | hb           | false",
      "h[!abc]     | hd           | true",
      "h[^abc]     | hd           | true",
      "[]a]        | ]            | true",
      "[!]a]       | ]            | false",
      "[a-]        | -            | true",
      "[[:digit:]]x | 5x          | true",
      "[[:digit:]]x | ax          | false",
      "[[:alpha:]_]* | _tmp       | true",
      "[[:upper:]]* | Java        | true",
      "[[:upper:]]* | java        | false",
      "[\\]]       | ]            | true",
      // escapes
      "\\*         | *            | true",
      "\\*         | a            | false",
      "a\\?        | a?           | true",
      "a\\?        | ab           | false",
      // non-ASCII text counts one character per code point
      "?           | é            | true",
      "caf?        | café         | true",
  })
  void matchesLikeFnmatch(String glob, String text, boolean expected) {
    assertThat(GlobPattern.compile(glob).matches(text)).isEqualTo(expected);
  }

  @DisplayName("a malformed glob is refused with a reason instead of being taken literally")
  @ParameterizedTest(name = "''{0}''")
  @CsvSource(delimiter = '|', value = {
      "h[0-9       | not closed",
      "[!          | not closed",
      "[]          | not closed",
      "[[:nope:]]  | unknown character class",
      "[[:alpha    | not closed",
      "[z-a]       | reversed",
      "abc\\       | lone",
  })
  void refusesMalformedGlobs(String glob, String reason) {
    assertThatThrownBy(() -> GlobPattern.compile(glob))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(reason);
  }
}
