package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.model.HostView;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import io.vipfarm.api.model.VirtualIpView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A host agent that keeps sessions in memory: numeric id n gets 127.0.0.(n+1) and one VIP. */
final class FakeHostAgent extends FakeService {
  final String hostId;
  final Map<String, SessionView> sessions = new ConcurrentHashMap<>();

  FakeHostAgent(String hostId) {
    super(Addresses.HOST_AGENT_SERVICE, Addresses.agent(hostId), HostAgentService.class,
        new JsonObject().put(Addresses.META_HOST_ID, hostId));
    this.hostId = hostId;
  }

  @Override
  ServiceEndpoint endpoint() {
    return new ServiceEndpoint()
        .on(HostAgentService.Actions.START, SessionRequest.class, this::start)
        .on(HostAgentService.Actions.END, json -> end(json.getString("sessionId")))
        .on(HostAgentService.Actions.GET, json -> get(json.getString("sessionId")))
        .on(HostAgentService.Actions.LIST, json -> Future.succeededFuture(new ArrayList<>(sessions.values())))
        .on(HostAgentService.Actions.DESCRIBE,
            json -> Future.succeededFuture(new HostView(hostId, "boot-1", "preload", sessions.size(), 1L)));
  }

  private Future<SessionView> start(SessionRequest request) {
    SessionView running = sessions.get(request.sessionId());
    if (running != null && !running.user().equals(request.user())) {
      return Future.failedFuture(new VipfarmException(ErrorType.SESSION_EXISTS, "session runs for another user"));
    }
    int n = Integer.parseInt(request.sessionId());
    SessionView session = new SessionView(hostId, request.sessionId(), request.user(), request.groups(),
        "127.0.0." + (n + 1), true, List.of(new VirtualIpView("127.100.0." + n, "default", null, 1L)),
        "leased", 1L, "/run/vipfarm/" + n + ".rules");
    sessions.put(request.sessionId(), session);
    return Future.succeededFuture(session);
  }

  private Future<SessionView> end(String sessionId) {
    SessionView removed = sessions.remove(sessionId);
    return removed == null ? Future.failedFuture(VipfarmException.unknownSession(hostId, sessionId))
        : Future.succeededFuture(removed);
  }

  private Future<SessionView> get(String sessionId) {
    SessionView session = sessions.get(sessionId);
    return session == null ? Future.failedFuture(VipfarmException.unknownSession(hostId, sessionId))
        : Future.succeededFuture(session);
  }
}
