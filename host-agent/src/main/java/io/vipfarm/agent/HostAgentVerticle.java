package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.HostAgentService.Actions;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.EventBusClient;
import io.vipfarm.api.bus.PublishedService;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.agent.ifaddr.InterfaceVips;
import io.vipfarm.agent.ifaddr.IpCommand;
import io.vipfarm.agent.ifaddr.VipAddresses;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The host agent on the event bus: serves {@link HostAgentService} at {@link Addresses#agent(String)},
 * publishes itself in Service Discovery, finds the policy and allocation services there, renews leases
 * about every second, and on stop ends every session (removing its rules, releasing its leases), so that
 * stopping vipfarm gives the addresses back.
 */
public final class HostAgentVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(HostAgentVerticle.class);
  /** How often the VIP interface is compared with the held leases, to repair drift and retry removals. */
  private static final long VIP_RECONCILE_MS = 30_000;

  private final AgentConfig config;
  private final AgentTimings timings;
  private ServiceDiscovery discovery;
  private EventSink eventSink;
  private HostAgent agent;
  private PublishedService published;
  private long renewalTimer = -1;
  private long vipTimer = -1;
  private boolean abandoned;

  public HostAgentVerticle(AgentConfig config) {
    this(config, AgentTimings.DEFAULT);
  }

  public HostAgentVerticle(AgentConfig config, AgentTimings timings) {
    this.config = config;
    this.timings = timings;
  }

  @Override
  public Future<?> start() {
    discovery = ServiceDiscovery.create(vertx);
    ServiceLocator locator = new ServiceLocator(discovery);
    long timeoutMs = timings.requestTimeout().toMillis();
    PolicyService policies = PolicyService.client(
        new EventBusClient(vertx, () -> locator.address(Addresses.POLICY_SERVICE), timeoutMs));
    AllocationService allocations = AllocationService.client(
        new EventBusClient(vertx, () -> locator.address(Addresses.ALLOCATION_SERVICE), timeoutMs));
    eventSink = new EventSink(vertx.eventBus());
    InterfaceVips onInterface = config.vipInterface() == null ? null
        : new InterfaceVips(vertx, new IpCommand(), config.vipInterface());
    agent = new HostAgent(config, policies, allocations, new RulesDirectory(vertx, config.runDir()),
        new SessionJournal(vertx, config.runDir()), eventSink::emit, System::currentTimeMillis,
        millis -> vertx.timer(millis, TimeUnit.MILLISECONDS), onInterface == null ? VipAddresses.NONE : onInterface);
    PolicyChanges.listen(vertx.eventBus(), agent::policiesChanged); // new rules reach running programs

    ServiceEndpoint endpoint = new ServiceEndpoint()
        .on(Actions.START, SessionRequest.class, agent::startSession)
        .on(Actions.END, body -> agent.endSession(sessionId(body)))
        .on(Actions.GET, body -> agent.getSession(sessionId(body)))
        .on(Actions.LIST, body -> agent.listSessions())
        .on(Actions.DESCRIBE, body -> agent.describe());
    String address = Addresses.agent(config.hostId());
    // sessions a previous run left behind (same boot) are re-adopted before any request is served
    return checked(onInterface)
        .compose(checked -> agent.reclaim())
        .compose(reclaimed -> PublishedService.publish(discovery, vertx.eventBus(), endpoint, ServiceLocator.record(
            Addresses.HOST_AGENT_SERVICE, address, HostAgentService.class,
            new JsonObject().put(Addresses.META_HOST_ID, config.hostId()))))
        .onSuccess(service -> {
          published = service;
          renewalTimer = vertx.setPeriodic(timings.renewalInterval().toMillis(), id -> agent.renewDueLeases());
          if (config.vipInterface() != null) {
            vipTimer = vertx.setPeriodic(VIP_RECONCILE_MS, id -> agent.reconcileVipAddresses());
          }
          eventSink.emit(hostEvent(VipfarmEvent.HOST_JOINED));
          LOG.info("host agent of '{}' serves {} (boot id {}, rules in {}, interception {}, VIP interface {})",
              config.hostId(), address, config.bootId(), config.runDir(), config.interception(),
              config.vipInterface() == null ? "none" : config.vipInterface());
        })
        .onFailure(err -> discovery.close());
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(renewalTimer);
    vertx.cancelTimer(vipTimer);
    Future<Void> withdrawn = published == null ? Future.succeededFuture() : published.withdraw();
    return withdrawn
        .onFailure(err -> LOG.warn("cannot withdraw the agent of '{}' cleanly: {}", config.hostId(), err.getMessage()))
        .otherwiseEmpty()
        .compose(v -> (abandoned ? Future.<Void>succeededFuture() : agent.endAll())
            .timeout(timings.stopTimeout().toMillis(), TimeUnit.MILLISECONDS)
            .onFailure(err -> LOG.warn("stopping the agent of '{}': sessions not ended within {}; their leases"
                + " will expire", config.hostId(), timings.stopTimeout()))
            .otherwiseEmpty())
        .onComplete(ar -> {
          eventSink.emit(hostEvent(VipfarmEvent.HOST_LEFT));
          discovery.close();
          LOG.info("host agent of '{}' stopped", config.hostId());
        });
  }

  /** The VIP interface exists and {@code ip} runs, or the agent refuses to start, saying why. */
  private Future<Void> checked(InterfaceVips onInterface) {
    if (onInterface == null) {
      return Future.succeededFuture();
    }
    return onInterface.check().recover(err -> Future.failedFuture(new IllegalStateException(
        "--vip-interface " + onInterface.interfaceName() + ": " + err.getMessage(), err)));
  }

  /**
   * For tests: makes the coming stop behave like a crash of the agent process, leaving every session's
   * rules, session file and leases as they are (nothing is ended or released), so that a new agent on
   * the same run dir can re-adopt them. A real crash is a kill of the process (farm tests).
   */
  void abandonOnStop() {
    abandoned = true;
  }

  private VipfarmEvent hostEvent(String type) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("bootId", config.bootId());
    data.put("interception", config.interception());
    return VipfarmEvent.submit(type, config.hostId(), null, data);
  }

  private static String sessionId(JsonObject body) {
    Object value = body == null ? null : body.getValue("sessionId");
    String id = value == null ? null : value.toString();
    if (id == null || id.isBlank()) {
      throw VipfarmException.invalidField("sessionId", "a session id is required");
    }
    return id;
  }
}
