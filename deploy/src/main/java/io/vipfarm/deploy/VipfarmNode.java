package io.vipfarm.deploy;

import com.hazelcast.config.Config;
import com.hazelcast.core.Hazelcast;
import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import io.vipfarm.agent.AgentConfig;
import io.vipfarm.agent.AgentTimings;
import io.vipfarm.agent.HostAgentVerticle;
import io.vipfarm.agent.session.SessionSourceVerticle;
import io.vipfarm.allocation.AllocationVerticle;
import io.vipfarm.deploy.store.DurableState;
import io.vipfarm.deploy.store.StateVerticle;
import io.vipfarm.gateway.EventLogVerticle;
import io.vipfarm.gateway.GatewayConfig;
import io.vipfarm.gateway.GatewayVerticle;
import io.vipfarm.deploy.bridge.AgentBridgeVerticle;
import io.vipfarm.deploy.bridge.BridgeAgentLink;
import io.vipfarm.deploy.bridge.BridgeClient;
import io.vipfarm.policy.PolicyVerticle;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running vipfarm process: a Hazelcast member, a clustered Vert.x on top of it, and the
 * verticles of its role; or, for an agent, a plain Vert.x whose host agent reaches the control plane
 * through the TLS agent bridge (agents never join the cluster). The gateway is deployed last, so a healthy gateway means the node is up.
 */
public final class VipfarmNode {
  private static final Logger LOG = LoggerFactory.getLogger(VipfarmNode.class);

  private final NodeOptions options;
  private final HazelcastInstance hazelcast;
  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private String agentDeployment;
  private String sessionSourceDeployment;
  private GatewayVerticle gateway;

  private VipfarmNode(NodeOptions options, HazelcastInstance hazelcast, Vertx vertx, PrometheusMeterRegistry registry) {
    this.options = options;
    this.hazelcast = hazelcast;
    this.vertx = vertx;
    this.registry = registry;
  }

  /**
   * Starts a node. Blocks while the Hazelcast member joins its cluster, so call it from a plain
   * thread (main, a test), never from an event loop.
   */
  public static Future<VipfarmNode> start(NodeOptions options, String adminToken) {
    if (options.role() == Role.AGENT) {
      return startAgent(options);
    }
    int clusterPort = ClusterConfig.resolvePort(options);
    Config config = ClusterConfig.build(options, clusterPort);
    if (options.role().runsControlPlane()) {
      DurableState.attach(config, options.dataDir());
    }
    HazelcastInstance hazelcast = Hazelcast.newHazelcastInstance(config);
    awaitPartitionsSettled(hazelcast);
    // One Prometheus registry for Vert.x's own metrics (HTTP server, event bus) and the gateway's.
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    VertxOptions vertxOptions = new VertxOptions()
        .setMetricsOptions(new MicrometerMetricsOptions().setEnabled(true))
        .setEventBusOptions(new EventBusOptions()
            .setHost(options.bindAddress())
            .setPort(0)
            .setClusterPublicHost(options.bindAddress()));
    return Vertx.builder()
        .with(vertxOptions)
        .withClusterManager(new HazelcastClusterManager(hazelcast))
        .withMetrics(new MicrometerMetricsFactory(registry))
        .buildClustered()
        .compose(vertx -> new VipfarmNode(options, hazelcast, vertx, registry).deployRole(adminToken)
            // a start that fails leaves nothing running, so that it can be tried again in this process
            .recover(err -> vertx.close().otherwiseEmpty().compose(v -> Future.<VipfarmNode>failedFuture(err))))
        .onFailure(err -> hazelcast.shutdown());
  }

  /**
   * A member that just joined receives its share of the partitions; operations in that window can miss
   * their backup acknowledgement, which fails them once the lease maps ask for that (see
   * AllocationMaps.configure), Vert.x's own registrations included. So the event bus and the services
   * start once migrations are done; a cluster that never settles is logged and started anyway.
   */
  private static void awaitPartitionsSettled(HazelcastInstance hazelcast) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!hazelcast.getPartitionService().isClusterSafe()) {
      if (System.nanoTime() > deadline) {
        LOG.warn("partitions still migrating after 60 s; starting the services anyway");
        return;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * An agent: a plain Vert.x, no Hazelcast, the host agent linked to the control plane through the TLS
   * bridge of whichever control member answers. Completes once connected and serving.
   */
  private static Future<VipfarmNode> startAgent(NodeOptions options) {
    Vertx vertx = Vertx.vertx();
    BridgeSettings bridge = options.bridge();
    VipfarmNode node = new VipfarmNode(options, null, vertx, null);
    Future<?> chain = vertx
        .executeBlocking(() -> AgentConfig.detect(options.hostId(), options.runDir(), options.interception())
            .withVipInterface(options.vipInterface()))
        .compose(agentConfig -> vertx.deployVerticle(new HostAgentVerticle(agentConfig, AgentTimings.DEFAULT,
            v -> new BridgeAgentLink(v, new BridgeClient(v, bridge.tls(), bridge.controlMembers(), options.hostId())))))
        .onSuccess(id -> node.agentDeployment = id);
    if (options.sessionSources().any()) {
      chain = chain
          .compose(v -> vertx.deployVerticle(
              new SessionSourceVerticle(options.hostId(), options.runDir(), options.sessionSources())))
          .onSuccess(id -> node.sessionSourceDeployment = id);
    }
    return chain
        .map(v -> node)
        .recover(err -> vertx.close().transform(ignored -> Future.failedFuture(err)));
  }

  private Future<VipfarmNode> deployRole(String adminToken) {
    Future<?> chain = Future.succeededFuture();
    if (options.role().runsControlPlane()) {
      chain = chain
          .compose(v -> vertx.deployVerticle(new PolicyVerticle(hazelcast)))
          .compose(v -> vertx.deployVerticle(new AllocationVerticle(hazelcast)))
          .compose(v -> vertx.deployVerticle(new EventLogVerticle(hazelcast)))
          .compose(v -> vertx.deployVerticle(new StateVerticle(hazelcast)));
      BridgeSettings bridge = options.bridge();
      if (bridge.tls() != null) {
        chain = chain.compose(v -> vertx.deployVerticle(new AgentBridgeVerticle(hazelcast, bridge.tls(),
            options.bindAddress(), bridge.port(), Duration.ofSeconds(bridge.agentGraceSeconds()))));
      }
    }
    if (options.role().runsAgent()) {
      chain = chain
          .compose(v -> vertx.executeBlocking(() -> AgentConfig.detect(options.hostId(), options.runDir(),
              options.interception()).withVipInterface(options.vipInterface()))) // probes the kernel path
          .compose(config -> vertx.deployVerticle(new HostAgentVerticle(config)))
          .onSuccess(id -> agentDeployment = id);
      if (options.sessionSources().any()) {
        chain = chain
            .compose(v -> vertx.deployVerticle(
                new SessionSourceVerticle(options.hostId(), options.runDir(), options.sessionSources())))
            .onSuccess(id -> sessionSourceDeployment = id);
      }
    }
    if (options.role().runsControlPlane()) {
      GatewayConfig gatewayConfig = new GatewayConfig(options.httpHost(), options.httpPort(), adminToken)
          .withWebhooks(options.webhookAllow(), 6, 1_000)
          // ready only with the quorum the allocation service needs to grant leases
          .withMinClusterMembers(options.expectedMembers() / 2 + 1);
      if (options.tlsCert() != null) {
        gatewayConfig = gatewayConfig.withTls(options.tlsCert(), options.tlsKey());
      }
      GatewayVerticle verticle = new GatewayVerticle(gatewayConfig, hazelcast, registry);
      chain = chain.compose(v -> vertx.deployVerticle(verticle)).onSuccess(id -> gateway = verticle);
    }
    return chain.map(v -> this).recover(err -> vertx.close().transform(ignored -> Future.failedFuture(err)));
  }

  public NodeOptions options() {
    return options;
  }

  /** The gateway's port, or -1 when this node runs no gateway. */
  public int gatewayPort() {
    return gateway == null ? -1 : gateway.actualPort();
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * Stops the node, waiting at most {@code seconds} in all: the session sources, then the agent (it ends its sessions
   * and releases their leases while the allocation service is still reachable), then Vert.x
   * (leaving the cluster), then the Hazelcast member. Call from a plain thread (a shutdown hook, a
   * test), never from an event loop: each step is awaited before the next one starts.
   */
  public void closeAndWait(long seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    if (sessionSourceDeployment != null) {
      await("stopping the session sources", vertx.undeploy(sessionSourceDeployment), deadline);
    }
    if (agentDeployment != null) {
      await("stopping the host agent", vertx.undeploy(agentDeployment), deadline);
    }
    await("closing Vert.x", vertx.close(), deadline);
    if (hazelcast == null) {
      return;
    }
    if (System.nanoTime() < deadline) {
      hazelcast.shutdown();
    } else {
      hazelcast.getLifecycleService().terminate();
    }
  }

  private static void await(String step, Future<?> future, long deadline) {
    try {
      future.toCompletionStage().toCompletableFuture()
          .get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      LOG.warn("{} did not finish cleanly: {}", step, e.getCause() != null ? e.getCause().toString() : e.toString());
    }
  }
}
