package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.openapi.router.RequestExtractor;
import io.vertx.json.schema.OutputErrorType;
import io.vertx.json.schema.OutputUnit;
import io.vertx.openapi.contract.MediaType;
import io.vertx.openapi.contract.OpenAPIContract;
import io.vertx.openapi.contract.Operation;
import io.vertx.openapi.contract.Parameter;
import io.vertx.openapi.validation.RequestValidator;
import io.vertx.openapi.validation.SchemaValidationException;
import io.vertx.openapi.validation.ValidatorException;
import io.vipfarm.api.VipfarmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Validates a request against its operation in the OpenAPI contract and reports what is wrong as
 * INVALID_FIELD naming the field: a missing required parameter by its name, an unreadable body as
 * {@code body}, and a schema violation by the dotted path of the offending value (for a missing
 * required property, the property itself).
 *
 * <p>It runs after access control on every route, so an unauthenticated caller learns nothing about
 * the input rules and no work is done for it.
 */
final class RequestValidation {
  private final OpenAPIContract contract;
  private final RequestValidator validator;
  private final RequestExtractor extractor = RequestExtractor.withBodyHandler();

  RequestValidation(Vertx vertx, OpenAPIContract contract) {
    this.contract = contract;
    this.validator = new ParameterValidator(vertx, contract);
  }

  Handler<RoutingContext> forOperation(Operation operation) {
    return ctx -> checkParametersAndBody(ctx, operation)
        .compose(body -> Future.<Void>succeededFuture()
            .compose(v -> extractor.extractValidatableRequest(ctx, operation))
            .compose(request -> validator.validate(request, operation.getOperationId()))
            .recover(err -> Future.failedFuture(toInvalidField(err, operation, body))))
        .onSuccess(validated -> ctx.next())
        .onFailure(ctx::fail);
  }

  /** The checks whose failure the schema validator cannot attribute to a field; yields the parsed body. */
  private static Future<Object> checkParametersAndBody(RoutingContext ctx, Operation operation) {
    for (Parameter parameter : operation.getParameters()) {
      if (parameter.isRequired() && isAbsent(ctx, parameter)) {
        return Future.failedFuture(VipfarmException.invalidField(parameter.getName(), "is required"));
      }
    }
    if (operation.getRequestBody() == null) {
      return Future.succeededFuture();
    }
    String contentType = ctx.request().getHeader(HttpHeaders.CONTENT_TYPE);
    if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith(MediaType.APPLICATION_JSON)) {
      return Future.failedFuture(VipfarmException.invalidField("body", "Content-Type must be application/json"));
    }
    String text = ctx.body() == null ? null : ctx.body().asString();
    if (text == null || text.isBlank()) {
      return Future.failedFuture(VipfarmException.invalidField("body", "a JSON object is required"));
    }
    try {
      Object parsed = io.vertx.core.json.Json.decodeValue(text);
      if (!(parsed instanceof JsonObject)) {
        return Future.failedFuture(VipfarmException.invalidField("body", "must be a JSON object"));
      }
      return Future.succeededFuture(parsed);
    } catch (DecodeException e) {
      return Future.failedFuture(VipfarmException.invalidField("body", "malformed JSON"));
    }
  }

  private static boolean isAbsent(RoutingContext ctx, Parameter parameter) {
    String value = switch (parameter.getIn()) {
      case QUERY -> ctx.request().getParam(parameter.getName());
      case HEADER -> ctx.request().getHeader(parameter.getName());
      case PATH -> ctx.pathParam(parameter.getName());
      case COOKIE -> ctx.request().getCookie(parameter.getName()) == null ? null : "present";
    };
    return value == null || value.isBlank();
  }

  private Throwable toInvalidField(Throwable err, Operation operation, Object body) {
    if (err instanceof SchemaValidationException schemaError && body instanceof JsonObject json) {
      OutputUnit violation = mostSpecific(schemaError.getOutputUnit());
      String field = fieldOf(violation, operation, json);
      String reason = violation.getError() == null ? "is invalid" : violation.getError();
      return VipfarmException.invalidField(field, reason);
    }
    if (err instanceof ValidatorException validatorError) {
      return VipfarmException.invalidField(operation.getRequestBody() == null ? "request" : "body",
          validatorError.getMessage());
    }
    return err;
  }

  /** The violation deepest in the instance: the one closest to what the caller got wrong. */
  private static OutputUnit mostSpecific(OutputUnit root) {
    List<OutputUnit> all = new ArrayList<>();
    collect(root, all);
    return all.stream()
        .filter(unit -> unit.getInstanceLocation() != null)
        .max(Comparator.comparingInt(unit -> JsonPointer.segments(unit.getInstanceLocation()).size()))
        .orElse(root);
  }

  private static void collect(OutputUnit unit, List<OutputUnit> into) {
    into.add(unit);
    if (unit.getErrors() != null) {
      unit.getErrors().forEach(child -> collect(child, into));
    }
  }

  private String fieldOf(OutputUnit violation, Operation operation, JsonObject body) {
    List<String> path = new ArrayList<>(JsonPointer.segments(violation.getInstanceLocation()));
    if (violation.getErrorType() == OutputErrorType.MISSING_VALUE) {
      String missing = firstMissingRequired(operation, body, path);
      if (missing != null) {
        path.add(missing);
      }
    }
    return path.isEmpty() ? "body" : JsonPointer.dotted(path);
  }

  /** Walks the body schema along {@code path} and names the first required property the body lacks. */
  private String firstMissingRequired(Operation operation, JsonObject body, List<String> path) {
    JsonObject schema = deref(bodySchemaOf(operation));
    Object instance = body;
    for (String segment : path) {
      if (schema == null || !(instance instanceof JsonObject object)) {
        return null;
      }
      JsonObject properties = schema.getJsonObject("properties");
      schema = properties == null ? null : deref(properties.getJsonObject(segment));
      instance = object.getValue(segment);
    }
    if (schema == null || !(instance instanceof JsonObject object)) {
      return null;
    }
    JsonArray required = schema.getJsonArray("required", new JsonArray());
    for (Object name : required) {
      if (!object.containsKey((String) name)) {
        return (String) name;
      }
    }
    return null;
  }

  /** The request body schema of {@code operation} as written in the contract. */
  private JsonObject bodySchemaOf(Operation operation) {
    Object node = contract.getRawContract().getJsonObject("paths");
    for (String segment : List.of(operation.getOpenAPIPath(), operation.getHttpMethod().name().toLowerCase(Locale.ROOT),
        "requestBody", "content", MediaType.APPLICATION_JSON, "schema")) {
      JsonObject resolved = node instanceof JsonObject object ? deref(object) : null;
      node = resolved == null ? null : resolved.getValue(segment);
    }
    return node instanceof JsonObject object ? object : null;
  }

  /** Follows a local {@code $ref} ({@code #/components/schemas/X}) within the contract. */
  private JsonObject deref(JsonObject schema) {
    JsonObject current = schema;
    for (int hops = 0; current != null && current.containsKey("$ref") && hops < 8; hops++) {
      String ref = current.getString("$ref");
      int hash = ref.indexOf('#');
      Object target = contract.getRawContract();
      for (String segment : JsonPointer.segments(hash < 0 ? ref : ref.substring(hash + 1))) {
        target = target instanceof JsonObject object ? object.getValue(segment) : null;
      }
      current = target instanceof JsonObject object ? object : null;
    }
    return current;
  }

  /** Enough of RFC 6901 for instance and schema locations. */
  static final class JsonPointer {
    private JsonPointer() {}

    static List<String> segments(String pointer) {
      String p = pointer.startsWith("#") ? pointer.substring(1) : pointer;
      List<String> segments = new ArrayList<>();
      for (String raw : p.split("/")) {
        if (!raw.isEmpty()) {
          segments.add(raw.replace("~1", "/").replace("~0", "~"));
        }
      }
      return segments;
    }

    static String dotted(List<String> segments) {
      StringBuilder sb = new StringBuilder();
      for (String segment : segments) {
        if (segment.chars().allMatch(Character::isDigit)) {
          sb.append('[').append(segment).append(']');
        } else {
          if (sb.length() > 0) {
            sb.append('.');
          }
          sb.append(segment);
        }
      }
      return sb.toString();
    }
  }
}
