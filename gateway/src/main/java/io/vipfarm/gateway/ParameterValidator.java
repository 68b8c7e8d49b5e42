package io.vipfarm.gateway;

import io.vertx.core.Vertx;
import io.vertx.json.schema.OutputUnit;
import io.vertx.json.schema.Validator;
import io.vertx.json.schema.common.dsl.SchemaType;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Parameter;
import io.vertx.openapi.contract.Style;
import io.vertx.openapi.validation.RequestParameter;
import io.vertx.openapi.validation.ValidatorException;
import io.vertx.openapi.validation.impl.RequestParameterImpl;
import io.vertx.openapi.validation.impl.RequestValidatorImpl;
import io.vertx.openapi.validation.transformer.FormTransformer;
import io.vertx.openapi.validation.transformer.ParameterTransformer;
import io.vertx.openapi.validation.transformer.SimpleTransformer;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The contract's request validator (vertx-openapi 5.0.7) with the per-request cost of parameters taken
 * out; what it accepts and refuses is unchanged. Two costs, both measured in {@code vipfarm bench gateway}
 * (about 13 % of the CPU of {@code GET /api/v1/allocations?host=H}):
 *
 * <ul>
 *   <li>the library builds a new schema validator for every parameter of every request, and building one
 *       copies the contract's whole schema lookup table. Here each parameter's validator is built once
 *       (validators hold no state between calls);
 *   <li>a string parameter that is not a plain word ({@code host-7}) is first parsed as JSON, which fails
 *       with an exception, and then again in quotes. Here a value that cannot be JSON, nor need unquoting,
 *       is taken as it is: the library would end with the same string.
 * </ul>
 *
 * A value the cached validator refuses goes through the library's own path, so errors read the same.
 * Only the styles the contract uses (form for queries, simple for paths and headers, by default) take
 * this path; any other style goes through the library as it is.
 */
final class ParameterValidator extends RequestValidatorImpl {
  private final Map<Style, ParameterTransformer> transformers = new EnumMap<>(Style.class);
  private final Map<Parameter, Validator> validators = new ConcurrentHashMap<>();

  ParameterValidator(Vertx vertx, OpenAPIContract contract) {
    super(vertx, contract);
    transformers.put(Style.SIMPLE, new PlainStrings.Simple());
    transformers.put(Style.FORM, new PlainStrings.Form());
  }

  @Override
  public RequestParameter validateParameter(Parameter parameter, RequestParameter value) throws ValidatorException {
    ParameterTransformer transformer = transformers.get(parameter.getStyle());
    if (value == null || value.isNull() || transformer == null) {
      return super.validateParameter(parameter, value);
    }
    Object transformed = transformer.transform(parameter, value.getString());
    Validator validator = validators.computeIfAbsent(parameter,
        p -> contract.getSchemaRepository().validator(p.getSchema()));
    OutputUnit result = validator.validate(transformed);
    if (Boolean.TRUE.equals(result.getValid())) {
      return new RequestParameterImpl(transformed);
    }
    return super.validateParameter(parameter, value); // refused: the library words the error
  }

  /** The library's transformers, with a shortcut for string values that cannot be JSON text. */
  static final class PlainStrings {
    private PlainStrings() {}

    /**
     * Whether the library would end with {@code raw} itself for a string parameter: it starts with a
     * character no JSON value starts with (a letter other than t, f, n, N, I: not true, false, null,
     * NaN, Infinity), and
     * holds nothing that JSON would unescape or refuse inside quotes.
     */
    static boolean plain(Parameter parameter, String raw) {
      if (!SchemaType.STRING.equals(parameter.getSchemaType()) || raw.isEmpty()) {
        return false;
      }
      char first = raw.charAt(0);
      if (!(first >= 'a' && first <= 'z' || first >= 'A' && first <= 'Z') || "tfnNI".indexOf(first) >= 0) {
        return false;
      }
      for (int i = 1; i < raw.length(); i++) {
        char c = raw.charAt(i);
        if (c < 0x20 || c == '"' || c == '\\' || c > 0x7e) {
          return false;
        }
      }
      return true;
    }

    static final class Simple extends SimpleTransformer {
      @Override
      public Object transformPrimitive(Parameter parameter, String raw) {
        return plain(parameter, raw) ? raw : super.transformPrimitive(parameter, raw);
      }
    }

    static final class Form extends FormTransformer {
      @Override
      public Object transformPrimitive(Parameter parameter, String raw) {
        return plain(parameter, raw) ? raw : super.transformPrimitive(parameter, raw);
      }
    }
  }
}
