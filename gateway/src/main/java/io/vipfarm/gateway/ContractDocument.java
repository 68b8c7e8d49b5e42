package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.openapi.contract.MediaType;
import io.vertx.openapi.contract.OpenAPIContract;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * openapi.yaml twice: the text as written (served at /openapi.yaml) and the contract the router is
 * built from.
 *
 * <p>The router's copy differs in one way: responses drop the media types vertx-openapi cannot model
 * (application/problem+json, application/yaml, text/event-stream). The gateway validates requests
 * only, never responses, so nothing it checks is lost.
 */
record ContractDocument(Buffer text, OpenAPIContract contract) {

  static Future<ContractDocument> load(Vertx vertx, String resource) {
    return vertx.fileSystem().readFile(resource)
        .compose(text -> OpenAPIContract.from(vertx, forRouter(parse(text)))
            .map(contract -> new ContractDocument(text, contract)));
  }

  private static JsonObject parse(Buffer text) {
    Map<String, Object> tree = new Yaml(new SafeConstructor(new LoaderOptions())).load(text.toString());
    return new JsonObject(new JsonObject(tree).encode());
  }

  private static JsonObject forRouter(JsonObject document) {
    JsonObject paths = document.getJsonObject("paths", new JsonObject());
    for (String path : paths.fieldNames()) {
      JsonObject operations = paths.getJsonObject(path);
      for (String method : operations.fieldNames()) {
        if (operations.getValue(method) instanceof JsonObject operation) {
          dropUnsupportedContent(operation.getJsonObject("responses"));
        }
      }
    }
    JsonObject components = document.getJsonObject("components", new JsonObject());
    dropUnsupportedContent(components.getJsonObject("responses"));
    return document;
  }

  private static void dropUnsupportedContent(JsonObject responses) {
    if (responses == null) {
      return;
    }
    for (String status : responses.fieldNames()) {
      JsonObject content = responses.getJsonObject(status).getJsonObject("content");
      if (content != null) {
        content.fieldNames().removeIf(type -> !MediaType.isMediaTypeSupported(type));
        if (content.isEmpty()) {
          responses.getJsonObject(status).remove("content");
        }
      }
    }
  }
}
