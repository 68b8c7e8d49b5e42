package io.vipfarm.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.HostView;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.SessionView;
import java.util.List;

/** One session host's agent, at {@link Addresses#agent(String)}. Failures are {@link VipfarmException}s. */
public interface HostAgentService {

  /**
   * Starts a session: computes its loopback, leases its VIPs per the effective policy and writes its
   * interception rules. INVALID_FIELD for a bad session id; SESSION_EXISTS when it is already running
   * for a different user; the same user starting the same session again gets the running session.
   */
  Future<SessionView> startSession(SessionRequest request);

  /** Ends a session: removes its rules and releases its leases. UNKNOWN_SESSION when not running. */
  Future<SessionView> endSession(String sessionId);

  /** UNKNOWN_SESSION when not running. */
  Future<SessionView> getSession(String sessionId);

  Future<List<SessionView>> listSessions();

  Future<HostView> describe();

  interface Actions {
    String START = "startSession";
    String END = "endSession";
    String GET = "getSession";
    String LIST = "listSessions";
    String DESCRIBE = "describe";
  }

  static HostAgentService client(EventBusClient bus) {
    return new HostAgentService() {
      @Override
      public Future<SessionView> startSession(SessionRequest request) {
        return bus.call(Actions.START, request, SessionView.class);
      }

      @Override
      public Future<SessionView> endSession(String sessionId) {
        return bus.call(Actions.END, new JsonObject().put("sessionId", sessionId), SessionView.class);
      }

      @Override
      public Future<SessionView> getSession(String sessionId) {
        return bus.call(Actions.GET, new JsonObject().put("sessionId", sessionId), SessionView.class);
      }

      @Override
      public Future<List<SessionView>> listSessions() {
        return bus.callList(Actions.LIST, null, SessionView.class);
      }

      @Override
      public Future<HostView> describe() {
        return bus.call(Actions.DESCRIBE, null, HostView.class);
      }
    };
  }
}
