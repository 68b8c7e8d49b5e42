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
    this("http://127.0.0.1:" + port, token);
  }

  /** @param base the gateway's URL without a trailing slash, e.g. http://127.77.0.1:8080 */
  GatewayClient(String base, String token) {
    this.base = base;
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

  /** A GET with the token: every API call but /health, /ready and /openapi.yaml needs one. */
  Reply get(String path) {
    return send(authed(path).GET());
  }

  /** A GET without a token. */
  Reply anonymousGet(String path) {
    return send(HttpRequest.newBuilder(URI.create(base + path)).GET());
  }

  /**
   * Reads Server-Sent Events from {@code path} (with {@code Last-Event-ID} when not null) until
   * {@code count} events arrived, or fails after {@code seconds}; returns each as "id type sessionId".
   */
  java.util.List<String> events(String path, String lastEventId, int count, long seconds) throws Exception {
    HttpRequest.Builder request = authed(path).GET();
    if (lastEventId != null) {
      request.header("Last-Event-ID", lastEventId);
    }
    HttpResponse<java.util.stream.Stream<String>> response =
        http.send(request.build(), HttpResponse.BodyHandlers.ofLines());
    if (response.statusCode() != 200) {
      throw new IllegalStateException("events: HTTP " + response.statusCode());
    }
    java.util.List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.concurrent.CompletableFuture<Void> reading = java.util.concurrent.CompletableFuture.runAsync(() -> {
      String id = null;
      String type = null;
      var lines = response.body().iterator();
      while (events.size() < count && lines.hasNext()) {
        String line = lines.next();
        if (line.startsWith("id: ")) {
          id = line.substring(4);
        } else if (line.startsWith("event: ")) {
          type = line.substring(7);
        } else if (line.startsWith("data: ") && id != null) {
          events.add(id + " " + type + " " + new JsonObject(line.substring(6)).getString("sessionId"));
          id = null;
        }
      }
    });
    try {
      reading.get(seconds, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("got " + events.size() + " of " + count + " events: " + events);
    } finally {
      response.body().close();
    }
    return events;
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
