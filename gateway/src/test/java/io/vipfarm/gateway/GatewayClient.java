package io.vipfarm.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;

/** Real HTTP against a started gateway, one blocking call per request to keep tests linear. */
final class GatewayClient {
  static final String ADMIN_TOKEN = "test-admin-token-" + Long.toHexString(System.nanoTime());

  private final WebClient web;

  GatewayClient(WebClient web) {
    this.web = web;
  }

  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("did not complete: " + e, e);
    }
  }

  /** A GET with the admin token (every API call but the probes needs a token). */
  HttpResponse<Buffer> get(String uri) {
    return send(HttpMethod.GET, uri, "Bearer " + ADMIN_TOKEN, null);
  }

  /** A GET without any token. */
  HttpResponse<Buffer> anonymousGet(String uri) {
    return send(HttpMethod.GET, uri, null, null);
  }

  /** A mutation with the admin token. */
  HttpResponse<Buffer> admin(HttpMethod method, String uri, String json) {
    return send(method, uri, "Bearer " + ADMIN_TOKEN, json);
  }

  HttpResponse<Buffer> send(HttpMethod method, String uri, String authorization, String json) {
    HttpRequest<Buffer> request = web.request(method, uri);
    if (authorization != null) {
      request.putHeader("Authorization", authorization);
    }
    if (json == null) {
      return await(request.send());
    }
    return await(request.putHeader("Content-Type", "application/json").sendBuffer(Buffer.buffer(json)));
  }

  /** Asserts a problem+json of {@code status} and {@code kind} and returns it. */
  static JsonObject problem(HttpResponse<Buffer> response, int status, String kind) {
    assertThat(response.statusCode()).as(response.bodyAsString()).isEqualTo(status);
    assertThat(response.getHeader("Content-Type")).isEqualTo("application/problem+json");
    JsonObject problem = response.bodyAsJsonObject();
    assertThat(problem.getString("type")).isEqualTo("urn:vipfarm:problem:" + kind);
    assertThat(problem.getInteger("status")).isEqualTo(status);
    assertThat(problem.getString("title")).isNotBlank();
    assertThat(problem.getString("detail")).isNotBlank();
    return problem;
  }
}
