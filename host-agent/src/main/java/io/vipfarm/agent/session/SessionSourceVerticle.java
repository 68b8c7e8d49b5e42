package io.vipfarm.agent.session;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.bus.EventBusClient;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and ends this host's sessions from the host itself: systemd-logind ({@code --sessions logind})
 * and the local control socket for pam_exec ({@code --sessions pam}). It talks to the host's agent over
 * the event bus like the gateway does, so the agent needs no knowledge of where sessions come from.
 * Deploy it after the agent, undeploy it before.
 */
public final class SessionSourceVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(SessionSourceVerticle.class);

  private final String hostId;
  private final Path runDir;
  private final SessionSources sources;
  private final Duration retryDelay;
  private LogindFollower logind;
  private ControlSocket control;

  public SessionSourceVerticle(String hostId, Path runDir, SessionSources sources) {
    this(hostId, runDir, sources, Duration.ofSeconds(5));
  }

  /** @param retryDelay how long to wait before reconnecting to a lost or unreachable logind */
  public SessionSourceVerticle(String hostId, Path runDir, SessionSources sources, Duration retryDelay) {
    this.hostId = hostId;
    this.runDir = runDir;
    this.sources = sources;
    this.retryDelay = retryDelay;
  }

  @Override
  public Future<?> start() {
    HostAgentService agent = HostAgentService.client(EventBusClient.fixed(vertx, Addresses.agent(hostId)));
    Future<Void> started = Future.succeededFuture();
    if (sources.pam()) {
      control = new ControlSocket(vertx, agent, runDir);
      started = started.compose(v -> control.start());
    }
    if (sources.logind()) {
      logind = new LogindFollower(vertx, agent, sources, retryDelay);
      started = started.compose(v -> logind.start());
    }
    return started.onSuccess(v -> LOG.info("sessions of '{}' come from: {}", hostId, sources.describe()));
  }

  @Override
  public Future<?> stop() {
    return Future.join(logind == null ? Future.succeededFuture() : logind.stop(),
        control == null ? Future.succeededFuture() : control.stop());
  }
}
