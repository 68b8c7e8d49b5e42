package io.vipfarm.deploy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small blocking client of the gateway for tests: real HTTP, JSON in and out. */
final class GatewayClient {
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private final String token;

  GatewayClient(int port, String token) {
    this.base = "http://127.0.0.1:" + port;
    this.token = token;
  }

  record Reply(int status, String contentType, String body) {
    JsonObject json() {
      return new JsonObject(body);
    }

    JsonArray array() {
      return new JsonArray(body);
    }
  }

  Reply get(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  Reply put(String path, JsonObject body) {
    return send(authed(path).PUT(HttpRequest.BodyPublishers.ofString(body.encode())));
  }

  Reply post(String path, JsonObject body) {
    return send(authed(path).POST(HttpRequest.BodyPublishers.ofString(body.encode())));
  }

  Reply delete(String path) {
    return send(authed(path).DELETE());
  }

  /** True once GET /health answers 200. */
  boolean healthy() {
    try {
      return get("/health").status() == 200;
    } catch (RuntimeException e) {
      return false;
    }
  }

  private HttpRequest.Builder authed(String path) {
    return HttpRequest.newBuilder(URI.create(base + path))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json");
  }

  private Reply send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> r = http.send(request.timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body());
    } catch (IOException e) {
      throw new RuntimeException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RuntimeException(e);
    }
  }
}
