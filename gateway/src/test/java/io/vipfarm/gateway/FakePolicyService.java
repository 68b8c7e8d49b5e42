package io.vipfarm.gateway;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.OnExhausted;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.VipMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Policies in a map; the effective policy echoes its question in {@code sources} so tests can see it. */
final class FakePolicyService extends FakeService {
  final Map<String, PolicyDocument> policies = java.util.Collections.synchronizedMap(new TreeMap<>());

  FakePolicyService() {
    super(Addresses.POLICY_SERVICE, "test.policy." + System.nanoTime(), PolicyService.class, null);
  }

  @Override
  ServiceEndpoint endpoint() {
    return new ServiceEndpoint()
        .on(PolicyService.Actions.PUT, PolicyDocument.class, this::put)
        .on(PolicyService.Actions.GET, json -> get(json.getString("name")))
        .on(PolicyService.Actions.DELETE, json -> delete(json.getString("name")))
        .on(PolicyService.Actions.LIST, json -> Future.succeededFuture(new ArrayList<>(policies.values())))
        .on(PolicyService.Actions.EFFECTIVE, this::effective);
  }

  private Future<PolicyDocument> put(PolicyDocument document) {
    policies.put(document.name(), document);
    return Future.succeededFuture(document);
  }

  private Future<PolicyDocument> get(String name) {
    PolicyDocument document = policies.get(name);
    return document == null ? Future.failedFuture(VipfarmException.unknownPolicy(name))
        : Future.succeededFuture(document);
  }

  private Future<Void> delete(String name) {
    return policies.remove(name) == null ? Future.failedFuture(VipfarmException.unknownPolicy(name))
        : Future.succeededFuture();
  }

  private Future<EffectivePolicy> effective(JsonObject question) {
    List<String> asked = new ArrayList<>();
    asked.add("host=" + question.getString("host"));
    asked.add("user=" + question.getString("user"));
    question.getJsonArray("groups").forEach(group -> asked.add("group=" + group));
    return Future.succeededFuture(new EffectivePolicy(true, List.of("*"), List.of(), true, VipMode.PER_SESSION,
        "default", List.of(), OnExhausted.FALLBACK_HOST_IP, false, List.of(), asked));
  }
}
