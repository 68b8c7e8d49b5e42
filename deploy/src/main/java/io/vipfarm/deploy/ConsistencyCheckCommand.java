package io.vipfarm.deploy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.AllocationService;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * {@code vipfarm check [--gateway URL]}: asks the gateway ({@code GET /api/v1/allocations/check}) to
 * check every lease against its pool and the rules, prints the report, and exits 0 when clean, 1 with
 * anomalies, 2 when the gateway cannot be reached or answers with an error.
 */
final class ConsistencyCheckCommand {
  static final String USAGE = "vipfarm check [--gateway URL]   check every lease against its pool (default http://127.0.0.1:8080)";
  static final String DEFAULT_GATEWAY = "http://127.0.0.1:8080";
  /** Longer than the gateway waits for the check, so that its answer (a report or a 503) is what the user sees. */
  static final Duration RESPONSE_TIMEOUT = Duration.ofMillis(AllocationService.CHECK_TIMEOUT_MS + 30_000);
  static final String PATH = "/api/v1/allocations/check";

  private ConsistencyCheckCommand() {}

  static URI parse(List<String> args) {
    String gateway = DEFAULT_GATEWAY;
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.equals("--gateway") && i + 1 < args.size()) {
        gateway = args.get(++i);
      } else if (a.startsWith("--gateway=")) {
        gateway = a.substring("--gateway=".length());
      } else {
        throw new UsageException("check: unknown or incomplete option '" + a + "' (usage: " + USAGE + ")");
      }
    }
    URI uri;
    try {
      uri = URI.create(gateway.endsWith("/") ? gateway.substring(0, gateway.length() - 1) : gateway);
    } catch (IllegalArgumentException e) {
      throw new UsageException("check: --gateway '" + gateway + "' is not a URL");
    }
    if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
      throw new UsageException("check: --gateway must be an http(s) URL such as " + DEFAULT_GATEWAY + ", got '" + gateway + "'");
    }
    return URI.create(uri + PATH);
  }

  /** @return the exit code: 0 clean, 1 anomalies, 2 unreachable or refused */
  static int run(List<String> args, Map<String, String> env, PrintStream out, PrintStream err) {
    URI uri = parse(args);
    HttpRequest.Builder request = HttpRequest.newBuilder(uri).timeout(RESPONSE_TIMEOUT).GET()
        .header("Accept", "application/json");
    String token = env.get(AdminToken.ENV);
    if (token != null && !token.isBlank()) {
      request.header("Authorization", "Bearer " + token);
    }
    HttpResponse<String> response;
    try {
      response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build()
          .send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException | HttpTimeoutException e) {
      err.println("vipfarm check: cannot reach the gateway at " + uri + ": " + e);
      return 2;
    } catch (IOException e) {
      err.println("vipfarm check: cannot reach the gateway at " + uri + ": " + e);
      return 2;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("vipfarm check: interrupted");
      return 2;
    }
    if (response.statusCode() != 200) {
      err.println("vipfarm check: " + uri + " answered " + response.statusCode() + ": " + response.body());
      return 2;
    }
    JsonObject report;
    try {
      report = new JsonObject(response.body());
    } catch (RuntimeException e) {
      err.println("vipfarm check: " + uri + " did not answer with a report: " + e.getMessage());
      return 2;
    }
    JsonArray anomalies = report.getJsonArray("anomalies", new JsonArray());
    out.printf("checked %d pools, %d blocks, %d live leases: %s%n", report.getInteger("pools", 0),
        report.getLong("blocks", 0L), report.getLong("leases", 0L),
        anomalies.isEmpty() ? "consistent" : anomalies.size() + " anomalies");
    for (int i = 0; i < anomalies.size(); i++) {
      JsonObject a = anomalies.getJsonObject(i);
      out.printf("  %s pool=%s address=%s: %s%n", a.getString("type"), a.getString("pool"), a.getString("address"),
          a.getString("detail"));
    }
    return anomalies.isEmpty() ? 0 : 1;
  }
}
