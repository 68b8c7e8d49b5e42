package io.vipfarm.policy;

import com.hazelcast.map.IMap;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.bus.CompletionStages;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.Json;
import io.vipfarm.api.model.EffectivePolicy;
import io.vipfarm.api.model.PolicyDocument;
import io.vipfarm.api.model.VipfarmEvent;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * {@link PolicyService} over a Hazelcast map from policy name to the document's JSON text. JSON
 * (rather than Java serialization) keeps the stored form readable in Management Center and
 * tolerant of new optional fields, exactly like the wire format.
 *
 * <p>Hazelcast's async operations complete on its own threads; every result is brought back to the
 * verticle's context with {@link io.vipfarm.api.bus.CompletionStages#onContext(java.util.concurrent.CompletionStage,
 * Context)}. Reading all documents has no async form and runs on a worker thread.
 */
final class HazelcastPolicyService implements PolicyService {
  /** The Hazelcast map holding every policy document, keyed by name. */
  static final String MAP_NAME = "vipfarm.policies";

  static final String CHANGE_PUT = "put";
  static final String CHANGE_DELETE = "delete";

  private final Context context;
  private final IMap<String, String> documents;
  private final EventSink events;
  private final PolicyValidator validator = new PolicyValidator();
  private final PolicyResolver resolver = new PolicyResolver();

  HazelcastPolicyService(Context context, IMap<String, String> documents, EventSink events) {
    this.context = context;
    this.documents = documents;
    this.events = events;
  }

  @Override
  public Future<PolicyDocument> put(PolicyDocument doc) {
    try {
      validator.validate(doc);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    return CompletionStages.onContext(documents.setAsync(doc.name(), encode(doc)), context)
        .map(stored -> {
          emitChanged(doc.name(), CHANGE_PUT);
          return doc;
        });
  }

  @Override
  public Future<PolicyDocument> get(String name) {
    if (name == null || name.isEmpty()) {
      return Future.failedFuture(VipfarmException.invalidField("name", "is required"));
    }
    return CompletionStages.onContext(documents.getAsync(name), context)
        .compose(json -> json == null
            ? Future.failedFuture(VipfarmException.unknownPolicy(name))
            : Future.succeededFuture(decode(json)));
  }

  @Override
  public Future<Void> delete(String name) {
    if (name == null || name.isEmpty()) {
      return Future.failedFuture(VipfarmException.invalidField("name", "is required"));
    }
    return CompletionStages.onContext(documents.removeAsync(name), context)
        .compose(previous -> {
          if (previous == null) {
            return Future.failedFuture(VipfarmException.unknownPolicy(name));
          }
          emitChanged(name, CHANGE_DELETE);
          return Future.succeededFuture();
        });
  }

  @Override
  public Future<List<PolicyDocument>> list() {
    return context.executeBlocking(() -> new ArrayList<>(documents.values()), false)
        .map(texts -> texts.stream()
            .map(HazelcastPolicyService::decode)
            .sorted(Comparator.comparing(PolicyDocument::name))
            .toList());
  }

  @Override
  public Future<EffectivePolicy> effective(String host, String user, List<String> groups) {
    try {
      validator.validateQuery(host, user, groups);
    } catch (VipfarmException e) {
      return Future.failedFuture(e);
    }
    return list().map(policies -> resolver.resolve(policies, host, user, groups));
  }

  private void emitChanged(String name, String change) {
    events.emit(VipfarmEvent.submit(VipfarmEvent.POLICY_CHANGED, null, null, Map.of("name", name, "change", change)));
  }

  private static String encode(PolicyDocument doc) {
    return Json.toJson(doc).encode();
  }

  private static PolicyDocument decode(String json) {
    return Json.fromJson(new JsonObject(json), PolicyDocument.class);
  }
}
