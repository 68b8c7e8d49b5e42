package io.vipfarm.api.bus;

import io.vertx.core.Future;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of {@link EventBusClient}: one table from action name to operation, registered
 * on one address. Replies are the operation's result as JSON; failures carry the error type's code.
 */
public final class ServiceEndpoint {
  private static final Logger LOG = LoggerFactory.getLogger(ServiceEndpoint.class);

  private final Map<String, Function<JsonObject, Future<?>>> actions = new LinkedHashMap<>();

  /** An operation taking a record argument. */
  public <T> ServiceEndpoint on(String action, Class<T> argType, Function<T, Future<?>> op) {
    actions.put(action, body -> op.apply(body == null ? null : Json.fromJson(body, argType)));
    return this;
  }

  /** An operation taking the raw JSON argument (for small parameter objects). */
  public ServiceEndpoint on(String action, Function<JsonObject, Future<?>> op) {
    actions.put(action, op);
    return this;
  }

  public Future<MessageConsumer<JsonObject>> register(EventBus bus, String address) {
    MessageConsumer<JsonObject> consumer = bus.consumer(address, this::dispatch);
    return consumer.completion().map(v -> consumer);
  }

  private void dispatch(Message<JsonObject> msg) {
    String action = msg.headers().get(Addresses.ACTION_HEADER);
    Function<JsonObject, Future<?>> op = actions.get(action);
    if (op == null) {
      fail(msg, new VipfarmException(ErrorType.INTERNAL, "unknown action '" + action + "'"));
      return;
    }
    Future<?> result;
    try {
      result = op.apply(msg.body());
    } catch (RuntimeException e) {
      result = Future.failedFuture(e);
    }
    result.onSuccess(value -> msg.reply(Json.encode(value))).onFailure(err -> fail(msg, err));
  }

  private static void fail(Message<JsonObject> msg, Throwable err) {
    VipfarmException e;
    if (err instanceof VipfarmException ve) {
      e = ve;
    } else if (err instanceof IllegalArgumentException) {
      e = new VipfarmException(ErrorType.INVALID_FIELD, err.getMessage(), "body");
    } else {
      LOG.error("operation failed unexpectedly", err);
      e = new VipfarmException(ErrorType.INTERNAL, String.valueOf(err.getMessage()));
    }
    msg.fail(e.type().code(), ErrorEnvelope.of(e));
  }
}
