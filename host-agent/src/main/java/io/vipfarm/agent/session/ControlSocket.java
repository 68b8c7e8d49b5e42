package io.vipfarm.agent.session;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's local control endpoint: HTTP on a Unix domain socket, {@code <run-dir>/control/agent.sock},
 * for {@code vipfarm session open|close} (pam_exec at every login and logout; curl, no JVM start).
 *
 * <pre>
 * POST   /v1/sessions        {"sessionId":"3","user":"alice","service":"sshd"}  -> 201 the session
 *                            (groups: the user's groups on this host unless "groups" is given)
 * DELETE /v1/sessions/{id}                                                      -> 204
 * </pre>
 *
 * <p>Only root reaches it: the {@code control} directory is mode 0700 and the socket 0600, created by
 * the agent (root on a real host). It acts on this host's agent only, so it needs no token.
 */
final class ControlSocket {
  private static final Logger LOG = LoggerFactory.getLogger(ControlSocket.class);
  private static final String SESSIONS = "/v1/sessions";
  private static final int MAX_BODY = 16 * 1024;

  private final Vertx vertx;
  private final HostAgentService agent;
  private final Path socket;
  private HttpServer server;

  ControlSocket(Vertx vertx, HostAgentService agent, Path runDir) {
    this.vertx = vertx;
    this.agent = agent;
    this.socket = path(runDir);
  }

  /** Where the socket of the agent using {@code runDir} is (bin/vipfarm computes the same). */
  static Path path(Path runDir) {
    return runDir.resolve("control").resolve("agent.sock");
  }

  Future<Void> start() {
    return vertx.executeBlocking(this::prepareDirectory)
        .compose(v -> vertx.createHttpServer()
            .requestHandler(this::handle)
            .listen(SocketAddress.domainSocketAddress(socket.toString())))
        .compose(listening -> {
          server = listening;
          return vertx.executeBlocking(() -> Files.setPosixFilePermissions(socket,
              PosixFilePermissions.fromString("rw-------")));
        })
        .onSuccess(v -> LOG.info("local control socket (vipfarm session open|close) at {}", socket))
        .mapEmpty();
  }

  Future<Void> stop() {
    Future<Void> closed = server == null ? Future.succeededFuture() : server.close();
    return closed.eventually(() -> vertx.executeBlocking(() -> Files.deleteIfExists(socket)));
  }

  /** A private directory for the socket; a socket left by a crashed agent is replaced. */
  private Void prepareDirectory() throws IOException {
    Path dir = socket.getParent();
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Files.deleteIfExists(socket);
    return null;
  }

  private void handle(HttpServerRequest request) {
    String path = request.path();
    if (path.equals(SESSIONS) && request.method() == HttpMethod.POST) {
      request.body()
          .compose(this::open)
          .onSuccess(view -> send(request, 201, new JsonObject(Json.encode(view).toString())))
          .onFailure(err -> fail(request, err));
    } else if (path.startsWith(SESSIONS + "/") && request.method() == HttpMethod.DELETE) {
      String id = path.substring(SESSIONS.length() + 1);
      agent.endSession(id)
          .onSuccess(view -> {
            LOG.info("session '{}' of {} closed through the control socket", id, view.user());
            request.response().setStatusCode(204).end();
          })
          .onFailure(err -> fail(request, err));
    } else {
      fail(request, new VipfarmException(ErrorType.NOT_FOUND, request.method() + " " + path
          + " is not served here (POST " + SESSIONS + ", DELETE " + SESSIONS + "/{id})"));
    }
  }

  private Future<SessionView> open(Buffer body) {
    if (body.length() > MAX_BODY) {
      return Future.failedFuture(VipfarmException.invalidField("body", "larger than " + MAX_BODY + " bytes"));
    }
    JsonObject json;
    try {
      json = body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      return Future.failedFuture(VipfarmException.invalidField("body", "not a JSON object: " + e.getMessage()));
    }
    String id = json.getValue("sessionId") instanceof String s ? s : null;
    String user = json.getValue("user") instanceof String s ? s : null;
    if (id == null || id.isBlank()) {
      return Future.failedFuture(VipfarmException.invalidField("sessionId", "a session id is required"));
    }
    if (user == null || user.isBlank()) {
      return Future.failedFuture(VipfarmException.invalidField("user", "a user name is required"));
    }
    Object given = json.getValue("groups");
    if (given != null && !(given instanceof JsonArray array && array.stream().allMatch(g -> g instanceof String))) {
      return Future.failedFuture(VipfarmException.invalidField("groups", "a list of group names"));
    }
    String service = json.getValue("service") instanceof String s ? s : "?";
    @SuppressWarnings("unchecked")
    Future<List<String>> groups = given != null
        ? Future.succeededFuture(((JsonArray) given).getList())
        : vertx.executeBlocking(() -> UserGroups.of(user));
    return groups
        .compose(g -> agent.startSession(new SessionRequest(id, user, g)))
        .onSuccess(view -> LOG.info("session '{}' of {} opened through the control socket (PAM service {}):"
            + " loopback {}", id, user, service, view.loopbackAddress()));
  }

  private static void fail(HttpServerRequest request, Throwable err) {
    VipfarmException e = err instanceof VipfarmException v ? v
        : new VipfarmException(ErrorType.INTERNAL, String.valueOf(err.getMessage()));
    if (e.type() == ErrorType.INTERNAL) {
      LOG.warn("control socket: {} {} failed: {}", request.method(), request.path(), err.toString());
    }
    JsonObject problem = new JsonObject()
        .put("type", "urn:vipfarm:problem:" + e.type().name().toLowerCase(Locale.ROOT))
        .put("title", e.type().title())
        .put("status", e.type().httpStatus())
        .put("detail", e.detail());
    if (e.field() != null) {
      problem.put("field", e.field());
    }
    request.response().setStatusCode(e.type().httpStatus())
        .putHeader("Content-Type", "application/problem+json")
        .end(problem.encode());
  }

  private static void send(HttpServerRequest request, int status, JsonObject body) {
    request.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
  }
}
