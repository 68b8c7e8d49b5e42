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
import io.vipfarm.agent.HostAgentVerticle;
import io.vipfarm.allocation.AllocationVerticle;
import io.vipfarm.gateway.EventLogVerticle;
import io.vipfarm.gateway.GatewayConfig;
import io.vipfarm.gateway.GatewayVerticle;
import io.vipfarm.policy.PolicyVerticle;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running vipfarm process: a Hazelcast member, a clustered Vert.x on top of it, and the
 * verticles of its role. The gateway is deployed last, so a healthy gateway means the node is up.
 */
public final class VipfarmNode {
  private static final Logger LOG = LoggerFactory.getLogger(VipfarmNode.class);

  private final NodeOptions options;
  private final HazelcastInstance hazelcast;
  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private String agentDeployment;
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
    int clusterPort = ClusterConfig.resolvePort(options);
    Config config = ClusterConfig.build(options, clusterPort);
    HazelcastInstance hazelcast = Hazelcast.newHazelcastInstance(config);
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
        .compose(vertx -> new VipfarmNode(options, hazelcast, vertx, registry).deployRole(adminToken))
        .onFailure(err -> hazelcast.shutdown());
  }

  private Future<VipfarmNode> deployRole(String adminToken) {
    Future<?> chain = Future.succeededFuture();
    if (options.role().runsControlPlane()) {
      chain = chain
          .compose(v -> vertx.deployVerticle(new PolicyVerticle(hazelcast)))
          .compose(v -> vertx.deployVerticle(new AllocationVerticle(hazelcast)))
          .compose(v -> vertx.deployVerticle(new EventLogVerticle(hazelcast)));
    }
    if (options.role().runsAgent()) {
      chain = chain
          .compose(v -> vertx.deployVerticle(new HostAgentVerticle(AgentConfig.detect(options.hostId(), options.runDir())
              .withVipInterface(options.vipInterface()))))
          .onSuccess(id -> agentDeployment = id);
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
   * Stops the node, waiting at most {@code seconds} in all: the agent first (it ends its sessions
   * and releases their leases while the allocation service is still reachable), then Vert.x
   * (leaving the cluster), then the Hazelcast member. Call from a plain thread (a shutdown hook, a
   * test), never from an event loop: each step is awaited before the next one starts.
   */
  public void closeAndWait(long seconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    if (agentDeployment != null) {
      await("stopping the host agent", vertx.undeploy(agentDeployment), deadline);
    }
    await("closing Vert.x", vertx.close(), deadline);
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
