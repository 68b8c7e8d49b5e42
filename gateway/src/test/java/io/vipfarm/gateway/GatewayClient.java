package io.vipfarm.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpRequest;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Real HTTP against a started gateway, one blocking call per request to keep tests linear. */
final class GatewayClient {
  static final String ADMIN_TOKEN = "test-admin-token-" + Long.toHexString(System.nanoTime());

  private final WebClient web;
  private final Context context;

  GatewayClient(Vertx vertx, WebClientOptions options) {
    this.web = WebClient.create(vertx, options);
    this.context = vertx.getOrCreateContext();
  }

  /**
   * Starts {@code call} on {@code context} and waits for it. A test's thread is no Vert.x thread: a
   * pooled client called from it straight away picks a new context per call, so a kept-alive
   * connection answers on another event loop than the caller's, and Vert.x 5.0.7 could then lose a
   * response body that arrived before body() was asked for (the call hung). One context per client,
   * as a verticle has, avoids that.
   */
  static <T> T awaitOn(Context context, Supplier<Future<T>> call) {
    Promise<T> result = Promise.promise();
    context.runOnContext(v -> call.get().onComplete(result));
    return await(result.future());
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
      return awaitOn(context, request::send);
    }
    request.putHeader("Content-Type", "application/json");
    return awaitOn(context, () -> request.sendBuffer(Buffer.buffer(json)));
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
