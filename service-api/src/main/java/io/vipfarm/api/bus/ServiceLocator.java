package io.vipfarm.api.bus;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vertx.servicediscovery.Status;
import io.vertx.servicediscovery.types.EventBusService;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.VipfarmException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds services through Vert.x Service Discovery. Each service publishes an event-bus record
 * naming its address; callers never assume where a service runs.
 */
public final class ServiceLocator {
  private final ServiceDiscovery discovery;

  public ServiceLocator(ServiceDiscovery discovery) {
    this.discovery = discovery;
  }

  public ServiceDiscovery discovery() {
    return discovery;
  }

  /** A record for a service reachable at {@code address}. */
  public static Record record(String name, String address, Class<?> itf, JsonObject metadata) {
    return EventBusService.createRecord(name, address, itf.getName(), metadata);
  }

  /** The address of a running instance of {@code name}; fails SERVICE_UNAVAILABLE when none is published. */
  public Future<String> address(String name) {
    return discovery
        .getRecord(r -> name.equals(r.getName()) && r.getStatus() == Status.UP)
        .compose(r -> r == null
            ? Future.failedFuture(VipfarmException.unavailable("no '" + name + "' service is running"))
            : Future.succeededFuture(endpoint(r)));
  }

  /**
   * The address of a running instance of {@code name}, looked up once and then remembered until a
   * request finds no consumer there: for callers that ask on every request (the gateway), so that
   * each request does not scan the discovery records again.
   */
  public EventBusClient.AddressSource remembered(String name) {
    return new EventBusClient.AddressSource() {
      private volatile String known;

      @Override
      public Future<String> address() {
        String address = known;
        return address != null ? Future.succeededFuture(address)
            : ServiceLocator.this.address(name).onSuccess(found -> known = found);
      }

      @Override
      public void noConsumerAt(String address) {
        known = null;
      }
    };
  }

  /** The address of the agent of {@code hostId}; fails UNKNOWN_HOST when that host has none. */
  public Future<String> agentAddress(String hostId) {
    return discovery
        .getRecord(r -> Addresses.HOST_AGENT_SERVICE.equals(r.getName())
            && r.getStatus() == Status.UP
            && hostId.equals(r.getMetadata().getString(Addresses.META_HOST_ID)))
        .compose(r -> r == null
            ? Future.failedFuture(VipfarmException.unknownHost(hostId))
            : Future.succeededFuture(endpoint(r)));
  }

  /**
   * Every published host agent, one record per host: while an agent moves to another control member,
   * the bridge there publishes its new record before it withdraws the old one, and both name the same
   * address.
   */
  public Future<List<Record>> agents() {
    return discovery.getRecords(r -> Addresses.HOST_AGENT_SERVICE.equals(r.getName()) && r.getStatus() == Status.UP)
        .map(records -> {
          Map<String, Record> byHost = new LinkedHashMap<>();
          for (Record r : records) {
            String hostId = r.getMetadata().getString(Addresses.META_HOST_ID);
            byHost.putIfAbsent(hostId == null ? "\u0000" + r.getRegistration() : hostId, r);
          }
          return List.copyOf(byHost.values());
        });
  }

  private static String endpoint(Record r) {
    return r.getLocation().getString(Record.ENDPOINT);
  }
}
