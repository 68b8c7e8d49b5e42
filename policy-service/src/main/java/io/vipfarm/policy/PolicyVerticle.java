package io.vipfarm.policy;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.PolicyService.Actions;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.PublishedService;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.PolicyDocument;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy service on the event bus: serves every {@link PolicyService.Actions} action on
 * {@link Addresses#POLICY} and publishes itself in Service Discovery as
 * {@link Addresses#POLICY_SERVICE}. Documents live in the given Hazelcast instance, so any number of
 * control members can run this verticle against the same data.
 */
public final class PolicyVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(PolicyVerticle.class);

  private final HazelcastInstance hazelcast;
  private ServiceDiscovery discovery;
  private PublishedService published;

  /** @param hazelcast the control plane's Hazelcast member holding the policy map */
  public PolicyVerticle(HazelcastInstance hazelcast) {
    this.hazelcast = hazelcast;
  }

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx);
    // getMap may create the distributed proxy across the cluster: keep it off the event loop.
    return context.executeBlocking(() -> hazelcast.<String, String>getMap(HazelcastPolicyService.MAP_NAME))
        .map(this::endpoint)
        .compose(endpoint -> PublishedService.publish(discovery, vertx.eventBus(), endpoint,
            ServiceLocator.record(Addresses.POLICY_SERVICE, Addresses.POLICY, PolicyService.class, new JsonObject())))
        .onSuccess(service -> {
          published = service;
          LOG.info("policy service serving on event-bus address {}", Addresses.POLICY);
        });
  }

  @Override
  public Future<?> stop() {
    Future<Void> withdrawn = published == null ? Future.succeededFuture() : published.withdraw();
    return withdrawn.eventually(() -> {
      discovery.close();
      return Future.succeededFuture();
    });
  }

  private ServiceEndpoint endpoint(IMap<String, String> documents) {
    PolicyService policies = new HazelcastPolicyService(context, documents, new EventSink(vertx));
    return new ServiceEndpoint()
        .on(Actions.PUT, PolicyDocument.class, policies::put)
        .on(Actions.GET, args -> policies.get(string(args, "name")))
        .on(Actions.DELETE, args -> policies.delete(string(args, "name")))
        .on(Actions.LIST, args -> policies.list())
        .on(Actions.EFFECTIVE, args -> policies.effective(string(args, "host"), string(args, "user"), strings(args, "groups")));
  }

  /** A string argument, or null when absent; INVALID_FIELD when it is not a string. */
  private static String string(JsonObject args, String field) {
    Object value = args == null ? null : args.getValue(field);
    if (value == null || value instanceof String) {
      return (String) value;
    }
    throw VipfarmException.invalidField(field, "must be a string");
  }

  /** A list-of-strings argument, or null when absent; INVALID_FIELD naming the bad element. */
  private static List<String> strings(JsonObject args, String field) {
    Object value = args == null ? null : args.getValue(field);
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonArray array)) {
      throw VipfarmException.invalidField(field, "must be a list of strings");
    }
    List<String> out = new ArrayList<>(array.size());
    for (int i = 0; i < array.size(); i++) {
      if (!(array.getValue(i) instanceof String s)) {
        throw VipfarmException.invalidField(field + "[" + i + "]", "must be a string");
      }
      out.add(s);
    }
    return out;
  }
}
