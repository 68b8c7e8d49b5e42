package io.vipfarm.agent;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.AllocationService;
import io.vipfarm.api.HostAgentService.Actions;
import io.vipfarm.api.PolicyService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.AgentLink;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.model.SessionRequest;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.agent.ifaddr.InterfaceVips;
import io.vipfarm.agent.ifaddr.IpCommand;
import io.vipfarm.agent.ifaddr.VipAddresses;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
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

  private static final java.nio.file.Path PASSWD = java.nio.file.Path.of("/etc/passwd");

  private final AgentConfig config;
  private final AgentTimings timings;
  private final Function<Vertx, AgentLink> linkFactory;
  private AgentLink link;
  private HostAgent agent;
  private SessionEnforcement enforcement;
  private volatile SystemUsers systemUsers = SystemUsers.none();
  private boolean published;
  private long renewalTimer = -1;
  private long vipTimer = -1;
  private boolean abandoned;

  public HostAgentVerticle(AgentConfig config) {
    this(config, AgentTimings.DEFAULT);
  }

  public HostAgentVerticle(AgentConfig config, AgentTimings timings) {
    this(config, timings, AgentLink::eventBus);
  }

  /** @param linkFactory how the agent reaches the control plane (the event bus, or the TLS bridge) */
  public HostAgentVerticle(AgentConfig config, AgentTimings timings, Function<Vertx, AgentLink> linkFactory) {
    this.config = config;
    this.timings = timings;
    this.linkFactory = linkFactory;
  }

  @Override
  public Future<?> start() {
    link = linkFactory.apply(vertx);
    long timeoutMs = timings.requestTimeout().toMillis();
    PolicyService policies = PolicyService.client(link.client(Addresses.POLICY_SERVICE, timeoutMs));
    AllocationService allocations = AllocationService.client(link.client(Addresses.ALLOCATION_SERVICE, timeoutMs));
    KernelEnforcement kernel = config.kernel() == null ? null : new KernelEnforcement(
        new BpfLoader(config.kernel().loader()), config.kernel().pinDir(), config.kernel().cgroups(), config.runDir());
    enforcement = new SessionEnforcement(vertx, kernel, config.loopback6(), new Loopback6Addresses());
    InterfaceVips onInterface = config.vipInterface() == null ? null
        : new InterfaceVips(vertx, new IpCommand(), config.vipInterface());
    agent = new HostAgent(config, policies, allocations, new RulesDirectory(vertx, config.runDir()), enforcement,
        () -> systemUsers, new SessionJournal(vertx, config.runDir()), link::submit, System::currentTimeMillis,
        millis -> vertx.timer(millis, TimeUnit.MILLISECONDS), onInterface == null ? VipAddresses.NONE : onInterface);

    ServiceEndpoint endpoint = new ServiceEndpoint()
        .on(Actions.START, SessionRequest.class, agent::startSession)
        .on(Actions.END, body -> agent.endSession(sessionId(body)))
        .on(Actions.GET, body -> agent.getSession(sessionId(body)))
        .on(Actions.LIST, body -> agent.listSessions())
        .on(Actions.DESCRIBE, body -> agent.describe());
    String address = Addresses.agent(config.hostId());
    // sessions a previous run left behind (same boot) are re-adopted before any request is served
    // new rules reach running programs; users are read again first, the policy may name new ones
    return PolicyChanges.listen(link, () -> readSystemUsers().onComplete(ar -> agent.policiesChanged()))
        .compose(v -> checked(onInterface))
        .compose(v -> readSystemUsers())
        .compose(v -> agent.reclaim())
        .compose(reclaimed -> link.serve(config.hostId(), endpoint))
        .onSuccess(v -> {
          published = true;
          renewalTimer = vertx.setPeriodic(timings.renewalInterval().toMillis(), id -> agent.renewDueLeases());
          if (config.vipInterface() != null) {
            vipTimer = vertx.setPeriodic(VIP_RECONCILE_MS, id -> agent.reconcileVipAddresses());
          }
          link.submit(hostEvent(VipfarmEvent.HOST_JOINED));
          LOG.info("host agent of '{}' serves {} (boot id {}, rules in {}, interception {}: {}, VIP interface {})",
              config.hostId(), address, config.bootId(), config.runDir(), config.interception(),
              config.interceptionReason(), config.vipInterface() == null ? "none" : config.vipInterface());
        })
        .onFailure(err -> link.close());
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(renewalTimer);
    vertx.cancelTimer(vipTimer);
    Future<Void> withdrawn = published ? link.withdraw() : Future.succeededFuture();
    return withdrawn
        .onFailure(err -> LOG.warn("cannot withdraw the agent of '{}' cleanly: {}", config.hostId(), err.getMessage()))
        .otherwiseEmpty()
        .compose(v -> (abandoned ? Future.<Void>succeededFuture() : agent.endAll())
            .timeout(timings.stopTimeout().toMillis(), TimeUnit.MILLISECONDS)
            .onFailure(err -> LOG.warn("stopping the agent of '{}': sessions not ended within {}; their leases"
                + " will expire", config.hostId(), timings.stopTimeout()))
            .otherwiseEmpty())
        // a clean stop ended every session: nothing is left to enforce, so the programs go too
        .compose(v -> (abandoned ? Future.<Void>succeededFuture() : enforcement.stop())
            .onFailure(err -> LOG.warn("cannot detach the kernel path cleanly: {}", err.getMessage()))
            .otherwiseEmpty())
        .onComplete(ar -> {
          link.submit(hostEvent(VipfarmEvent.HOST_LEFT));
          link.close();
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

  /** Reads /etc/passwd on a worker; on failure the previous users are kept (and the problem logged). */
  private Future<Void> readSystemUsers() {
    return vertx.<SystemUsers>executeBlocking(() -> SystemUsers.parse(
            java.nio.file.Files.readString(PASSWD, java.nio.charset.StandardCharsets.UTF_8)), false)
        .onSuccess(users -> systemUsers = users)
        .onFailure(err -> LOG.warn("cannot read {}: loopbackIsolation.allowUsers names are not resolved: {}", PASSWD,
            err.toString()))
        .<Void>mapEmpty()
        .otherwiseEmpty();
  }

  private VipfarmEvent hostEvent(String type) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("bootId", config.bootId());
    data.put("interception", config.interception());
    data.put("interceptionReason", config.interceptionReason());
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
