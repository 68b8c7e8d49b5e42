package io.vipfarm.api;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.PolicyDocument;
import java.util.List;

/**
 * Stores policy documents and resolves the effective policy of a (host, user, groups).
 * All operations are idempotent; failures are {@link VipfarmException}s.
 */
public interface PolicyService {

  /**
   * Creates or replaces the policy named {@code doc.name()}. Validates the whole document first:
   * INVALID_FIELD naming the first bad field, and nothing is stored.
   */
  Future<PolicyDocument> put(PolicyDocument doc);

  /** UNKNOWN_POLICY when there is none. */
  Future<PolicyDocument> get(String name);

  /** UNKNOWN_POLICY when there is none. */
  Future<Void> delete(String name);

  /** All policies, by name. */
  Future<List<PolicyDocument>> list();

  /** Resolution by priority, setting by setting; {@link EffectivePolicy#none()} when nothing matches. */
  Future<EffectivePolicy> effective(String host, String user, List<String> groups);

  /** Action names on {@link Addresses#POLICY}. */
  interface Actions {
    String PUT = "put";
    String GET = "get";
    String DELETE = "delete";
    String LIST = "list";
    String EFFECTIVE = "effective";
  }

  /** A client that sends to the service found by {@code bus}. */
  static PolicyService client(EventBusClient bus) {
    return new PolicyService() {
      @Override
      public Future<PolicyDocument> put(PolicyDocument doc) {
        return bus.call(Actions.PUT, doc, PolicyDocument.class);
      }

      @Override
      public Future<PolicyDocument> get(String name) {
        return bus.call(Actions.GET, new JsonObject().put("name", name), PolicyDocument.class);
      }

      @Override
      public Future<Void> delete(String name) {
        return bus.callVoid(Actions.DELETE, new JsonObject().put("name", name));
      }

      @Override
      public Future<List<PolicyDocument>> list() {
        return bus.callList(Actions.LIST, null, PolicyDocument.class);
      }

      @Override
      public Future<EffectivePolicy> effective(String host, String user, List<String> groups) {
        JsonObject q = new JsonObject().put("host", host).put("user", user).put("groups", groups);
        return bus.call(Actions.EFFECTIVE, q, EffectivePolicy.class);
      }
    };
  }
}
