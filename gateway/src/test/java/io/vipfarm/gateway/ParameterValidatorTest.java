package io.vipfarm.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.common.dsl.SchemaType;
import io.vertx.openapi.contract.Location;
import io.vertx.openapi.contract.Parameter;
import io.vertx.openapi.contract.Style;
import io.vertx.openapi.validation.transformer.FormTransformer;
import io.vertx.openapi.validation.transformer.ParameterTransformer;
import io.vertx.openapi.validation.transformer.SimpleTransformer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The validator's string shortcut gives what the library's transformers give, for any value. */
class ParameterValidatorTest {

  private static Parameter parameter(SchemaType type, Style style) {
    return new Parameter() {
      @Override public String getName() { return "host"; }
      @Override public Location getIn() { return Location.QUERY; }
      @Override public boolean isRequired() { return false; }
      @Override public Style getStyle() { return style; }
      @Override public boolean isExplode() { return true; }
      @Override public JsonSchema getSchema() { return JsonSchema.of(new JsonObject().put("type", type.toString())); }
      @Override public SchemaType getSchemaType() { return type; }
      @Override public JsonObject getOpenAPIModel() { return new JsonObject(); }
    };
  }

  private static List<String> values() {
    List<String> values = new ArrayList<>(List.of("host-7", "h", "bench-host-12", "true", "true-x", "false.y",
        "null", "nullish", "NaN", "Infinity", "node-1", "1.5", "-1", "[1]", "{\"a\":1}", "\"quoted\"", "a\"b",
        "a\\nb", "a b", "a/b", "a\tb", "é-host", "Host_9.example.org", "x:y@z", "", " lead", "trail ", "Zz~"));
    Random random = new Random(42);
    String alphabet = "abftnNIxyzAB019-_.:@/ \"\\{}[],\t~é";
    for (int i = 0; i < 5000; i++) {
      StringBuilder sb = new StringBuilder();
      int length = random.nextInt(8);
      for (int j = 0; j < length; j++) {
        sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      values.add(sb.toString());
    }
    return values;
  }

  private static Object outcome(ParameterTransformer transformer, Parameter parameter, String raw) {
    try {
      return transformer.transform(parameter, raw);
    } catch (RuntimeException e) {
      return "refused: " + e.getClass().getSimpleName();
    }
  }

  @Test
  @DisplayName("for string, integer and array parameters, form and simple style: the same value or the same refusal")
  void sameAsTheLibrary() {
    int shortcut = 0;
    for (SchemaType type : List.of(SchemaType.STRING, SchemaType.INTEGER, SchemaType.ARRAY)) {
      for (Style style : List.of(Style.FORM, Style.SIMPLE)) {
        Parameter parameter = parameter(type, style);
        ParameterTransformer library = style == Style.FORM ? new FormTransformer() : new SimpleTransformer();
        ParameterTransformer ours = style == Style.FORM ? new ParameterValidator.PlainStrings.Form()
            : new ParameterValidator.PlainStrings.Simple();
        for (String raw : values()) {
          Object expected = outcome(library, parameter, raw);
          Object actual = outcome(ours, parameter, raw);
          assertThat(Objects.toString(actual)).as("%s %s '%s'", type, style, raw).isEqualTo(Objects.toString(expected));
          assertThat(actual == null ? null : actual.getClass()).as("%s %s '%s'", type, style, raw)
              .isEqualTo(expected == null ? null : expected.getClass());
          if (ParameterValidator.PlainStrings.plain(parameter, raw)) {
            shortcut++;
          }
        }
      }
    }
    assertThat(shortcut).as("values that took the shortcut").isGreaterThan(1000);
  }
}
