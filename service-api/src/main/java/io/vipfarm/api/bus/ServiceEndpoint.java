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

  private final Map<String, Function<Object, Future<?>>> actions = new LinkedHashMap<>();

  /** An operation taking a record argument (sent as JSON, or as itself through {@link RecordCodec}). */
  public <T> ServiceEndpoint on(String action, Class<T> argType, Function<T, Future<?>> op) {
    actions.put(action, body -> op.apply(Json.fromBody(body, argType)));
    return this;
  }

  /** An operation taking the raw JSON argument (for small parameter objects). */
  public ServiceEndpoint on(String action, Function<JsonObject, Future<?>> op) {
    actions.put(action, body -> op.apply(Json.fromBody(body, JsonObject.class)));
    return this;
  }

  public Future<MessageConsumer<Object>> register(EventBus bus, String address) {
    RecordCodec.register(bus);
    MessageConsumer<Object> consumer = bus.consumer(address, this::dispatch);
    return consumer.completion().map(v -> consumer);
  }

  /** A request that came as a record (its sender carries records) gets a record back where there is one. */
  private void dispatch(Message<Object> msg) {
    Object body = msg.body();
    boolean records = RecordCodec.carries(body);
    run(msg.headers().get(Addresses.ACTION_HEADER), body)
        .map(result -> records && RecordCodec.carries(result) ? result : Json.encode(result))
        .onSuccess(msg::reply)
        .onFailure(err -> {
          VipfarmException e = (VipfarmException) err;
          msg.fail(e.type().code(), failureMessage(e));
        });
  }

  /**
   * Runs the operation named {@code action} on {@code body}, whatever carried the request (the event bus
   * here, the TCP bridge for agents outside the cluster): completes with the reply as JSON, or fails
   * with a {@link VipfarmException} to reply with ({@code type().code()} and {@link #failureMessage}).
   */
  public Future<Object> handle(String action, JsonObject body) {
    return run(action, body).map(Json::encode);
  }

  /** The operation's result as it is (a record, a list, JSON), or its failure as a {@link VipfarmException}. */
  private Future<Object> run(String action, Object body) {
    Function<Object, Future<?>> op = actions.get(action);
    if (op == null) {
      return Future.failedFuture(new VipfarmException(ErrorType.INTERNAL, "unknown action '" + action + "'"));
    }
    Future<?> result;
    try {
      result = op.apply(body);
    } catch (RuntimeException e) {
      result = Future.failedFuture(e);
    }
    return result.<Object>map(Object.class::cast).recover(err -> Future.failedFuture(asVipfarm(err)));
  }

  /** The failure message that {@link EventBusClient} reads the detail and field back from. */
  public static String failureMessage(VipfarmException e) {
    return ErrorEnvelope.of(e);
  }

  private static VipfarmException asVipfarm(Throwable err) {
    if (err instanceof VipfarmException ve) {
      return ve;
    }
    if (err instanceof IllegalArgumentException) {
      return new VipfarmException(ErrorType.INVALID_FIELD, err.getMessage(), "body");
    }
    LOG.error("operation failed unexpectedly", err);
    return new VipfarmException(ErrorType.INTERNAL, String.valueOf(err.getMessage()));
  }
}
