package io.vipfarm.api.bus;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.VipfarmException;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Request/reply to one vipfarm service: the operation goes in the {@code action} header, the
 * argument as a JSON body; failures come back as {@link VipfarmException} with their type intact.
 */
public final class EventBusClient {
  public static final long DEFAULT_TIMEOUT_MS = 10_000;

  /**
   * Where a client's requests go. Told when a request found no consumer at the address it gave, so that
   * a source that remembers its answer (see {@link ServiceLocator#remembered}) looks it up again.
   */
  @FunctionalInterface
  public interface AddressSource {
    Future<String> address();

    default void noConsumerAt(String address) {}
  }

  private final RequestTransport transport;
  private final AddressSource address;
  private final long timeoutMs;

  /** @param address resolves the service's address (usually through Service Discovery) */
  public EventBusClient(Vertx vertx, AddressSource address, long timeoutMs) {
    this(RequestTransport.eventBus(vertx), address, timeoutMs);
  }

  /** A client whose requests travel over {@code transport} (for agents: the TCP event-bus bridge). */
  public EventBusClient(RequestTransport transport, AddressSource address, long timeoutMs) {
    this.transport = transport;
    this.address = address;
    this.timeoutMs = timeoutMs;
  }

  /** The same client with another bound on each request, for operations that take longer than most. */
  public EventBusClient withTimeout(long timeoutMs) {
    return new EventBusClient(transport, address, timeoutMs);
  }

  /** The bound on each request (and on finding the service's address), in milliseconds. */
  public long timeoutMs() {
    return timeoutMs;
  }

  public static EventBusClient fixed(Vertx vertx, String address) {
    return new EventBusClient(vertx, () -> Future.succeededFuture(address), DEFAULT_TIMEOUT_MS);
  }

  /** Sends {@code body} (a record, a JsonObject or null) and reads the reply as {@code type}. */
  public <T> Future<T> call(String action, Object body, Class<T> type) {
    return send(action, body).map(reply -> Json.fromBody(reply, type));
  }

  public <T> Future<List<T>> callList(String action, Object body, Class<T> type) {
    return send(action, body).map(reply -> Json.listFromJson((JsonArray) reply, type));
  }

  public Future<Void> callVoid(String action, Object body) {
    return send(action, body).mapEmpty();
  }

  private Future<Object> send(String action, Object body) {
    Object payload = transport.carriesRecords() && RecordCodec.carries(body) ? body : Json.encode(body);
    // the lookup too is bounded: a discovery that never answers must not hold the caller for good
    return address.address().timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .compose(addr -> transport.request(addr, action, payload, timeoutMs).onFailure(err -> {
          if (err instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS) {
            address.noConsumerAt(addr);
          }
        }))
        .recover(err -> Future.failedFuture(toVipfarm(err)));
  }

  /** Turns an event-bus failure back into the service's own error. */
  static Throwable toVipfarm(Throwable err) {
    if (err instanceof VipfarmException) {
      return err;
    }
    if (err instanceof ReplyException re) {
      if (re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
        ErrorEnvelope envelope = ErrorEnvelope.parse(re.getMessage());
        return new VipfarmException(ErrorType.ofCode(re.failureCode()), envelope.detail(), envelope.field());
      }
      return VipfarmException.unavailable("service did not answer: " + re.failureType().name().toLowerCase());
    }
    if (err instanceof java.util.concurrent.TimeoutException) {
      return VipfarmException.unavailable("service not found in time: " + err.getMessage());
    }
    return err;
  }
}
