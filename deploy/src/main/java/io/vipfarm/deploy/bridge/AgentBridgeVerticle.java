package io.vipfarm.deploy.bridge;

import com.hazelcast.core.HazelcastInstance;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetSocket;
import io.vertx.ext.bridge.BridgeEventType;
import io.vertx.ext.bridge.BridgeOptions;
import io.vertx.ext.bridge.PermittedOptions;
import io.vertx.ext.eventbus.bridge.tcp.BridgeEvent;
import io.vertx.ext.eventbus.bridge.tcp.TcpEventBusBridge;
import io.vertx.ext.eventbus.bridge.tcp.impl.protocol.FrameHelper;
import io.vertx.servicediscovery.Record;
import io.vertx.servicediscovery.ServiceDiscovery;
import io.vipfarm.api.Addresses;
import io.vipfarm.api.ErrorType;
import io.vipfarm.api.EventSink;
import io.vipfarm.api.HostAgentService;
import io.vipfarm.api.VipfarmException;
import io.vipfarm.api.bus.ServiceEndpoint;
import io.vipfarm.api.bus.ServiceLocator;
import io.vipfarm.api.model.VipfarmEvent;
import io.vipfarm.deploy.bridge.AgentPermissions.Kind;
import io.vipfarm.deploy.bridge.AgentPermissions.Verdict;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control side of the agents' link (design.md §8): a Vert.x TCP event-bus bridge over TLS that
 * requires a client certificate signed by the farm CA, opens only the addresses agents need, and lets
 * an agent act only for the host id in its certificate ({@link AgentPermissions}).
 *
 * <p>For each connected agent it publishes the agent's {@link HostAgentService} record in Service
 * Discovery (so the gateway finds it as before) and notes its heartbeats in Hazelcast. An agent not
 * heard of for longer than the grace, on any member, has left: its record is withdrawn, {@code host.left}
 * and a {@code session.ended} per session are emitted, and its leases run out at their TTL. An agent that
 * only moved to another member (this one died, or it reconnected) keeps everything.
 */
public final class AgentBridgeVerticle extends VerticleBase {
  private static final Logger LOG = LoggerFactory.getLogger(AgentBridgeVerticle.class);
  private static final long SWEEP_INTERVAL_MS = 1_000;
  /**
   * Pings arrive every two seconds; the heartbeat is written to Hazelcast at most every 5 s per agent (a
   * quarter of the grace when that is shorter), which keeps 5,000 agents at about 1,000 writes a second.
   */
  private static final long MAX_HEARD_WRITE_INTERVAL_MS = 5_000;
  private static final long LIST_SESSIONS_TIMEOUT_MS = 5_000;
  /** A registration that failed is tried again after this (times the attempt), at most {@code REGISTER_RETRY_MAX_MS}. */
  private static final long REGISTER_RETRY_MS = 500;
  private static final long REGISTER_RETRY_MAX_MS = 5_000;

  private final HazelcastInstance hazelcast;
  private final BridgeTls tls;
  private final String host;
  private final int port;
  private final Duration grace;
  private final long heardWriteIntervalMs;
  private final Map<NetSocket, Link> links = new HashMap<>();
  private HostPresence presence;
  private ServiceDiscovery discovery;
  private EventSink events;
  private MessageConsumer<Object> relay;
  private TcpEventBusBridge bridge;
  private String member;
  private long sweepTimer = -1;

  /**
   * One agent's connection; {@code serving} from the agent's registration of its address until it
   * unregisters it, {@code registration} its Service Discovery record once published.
   */
  private static final class Link {
    final String hostId;
    boolean serving;
    String registration;
    long lastHeardWrite;

    Link(String hostId) {
      this.hostId = hostId;
    }
  }

  /**
   * @param host the address the bridge listens on (the control member's address agents can reach)
   * @param grace how long an agent may go unheard (moving to another member included) before it has left
   */
  public AgentBridgeVerticle(HazelcastInstance hazelcast, BridgeTls tls, String host, int port, Duration grace) {
    this.hazelcast = hazelcast;
    this.tls = tls;
    this.host = host;
    this.port = port;
    this.grace = grace;
    this.heardWriteIntervalMs = Math.min(MAX_HEARD_WRITE_INTERVAL_MS, grace.toMillis() / 4);
  }

  /** Services of every control member, answered by the member the agent is connected to. */
  private static final java.util.Set<String> SERVED_HERE = java.util.Set.of(Addresses.POLICY, Addresses.ALLOCATION);

  @Override
  public Future<?> start() {
    presence = new HostPresence(hazelcast);
    discovery = ServiceDiscovery.create(vertx);
    events = new EventSink(vertx);
    member = hazelcast.getCluster().getLocalMember().getUuid().toString();
    // agents see policy changes only, relayed by the member they are connected to
    relay = vertx.eventBus().consumer(Addresses.EVENTS, msg -> {
      if (msg.body() instanceof JsonObject event && VipfarmEvent.POLICY_CHANGED.equals(event.getString("type"))) {
        vertx.eventBus().publish(Addresses.POLICY_CHANGES, event, new DeliveryOptions().setLocalOnly(true));
      }
    });
    BridgeOptions permitted = new BridgeOptions()
        .addInboundPermitted(new PermittedOptions().setAddress(Addresses.POLICY))
        .addInboundPermitted(new PermittedOptions().setAddress(Addresses.ALLOCATION))
        .addInboundPermitted(new PermittedOptions().setAddress(Addresses.EVENTS_SUBMIT))
        .addOutboundPermitted(new PermittedOptions().setAddressRegex("vipfarm\\.agent\\.[A-Za-z0-9._-]+"))
        .addOutboundPermitted(new PermittedOptions().setAddress(Addresses.POLICY_CHANGES));
    bridge = TcpEventBusBridge.create(vertx, permitted, tls.serverOptions(host, port), this::onBridgeEvent);
    return relay.completion()
        .compose(v -> bridge.listen())
        .onSuccess(b -> {
          sweepTimer = vertx.setPeriodic(SWEEP_INTERVAL_MS, id -> sweep());
          LOG.info("agent bridge listening on {}:{} (TLS, client certificates of the farm CA; agents gone after {} s)",
              host, port, grace.toSeconds());
        });
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(sweepTimer);
    List<Future<?>> withdrawn = new ArrayList<>();
    links.values().stream().filter(l -> l.registration != null)
        .forEach(l -> withdrawn.add(discovery.unpublish(l.registration)));
    return Future.join(withdrawn).otherwiseEmpty()
        .compose(v -> bridge == null ? Future.succeededFuture() : bridge.close())
        .onComplete(ar -> discovery.close());
  }

  // ---- frames from agents

  private void onBridgeEvent(BridgeEvent event) {
    NetSocket socket = event.socket();
    Link link = links.get(socket);
    if (link == null) {
      Optional<String> hostId = hostIdOf(socket);
      if (hostId.isEmpty()) {
        LOG.warn("bridge connection from {} without a usable client certificate: closed", socket.remoteAddress());
        event.complete(false);
        socket.close();
        return;
      }
      link = new Link(hostId.get());
      links.put(socket, link);
      Link opened = link;
      socket.closeHandler(v -> closed(socket, opened));
    }
    JsonObject raw = event.getRawMessage();
    if (event.type() == BridgeEventType.REGISTERED) {
      if (Addresses.agent(link.hostId).equals(raw.getString("address"))) {
        registered(link);
      }
      event.complete(true);
      return;
    }
    Kind kind = kind(event.type());
    if (kind == null) {
      event.complete(true);
      return;
    }
    heard(link);
    JsonObject headers = raw.getJsonObject("headers");
    Object body = raw.getValue("body");
    Verdict verdict = AgentPermissions.check(link.hostId, kind, raw.getString("address"), raw.getString("replyAddress"),
        headers == null ? null : headers.getString(Addresses.ACTION_HEADER), body instanceof JsonObject json ? json : null);
    if (!verdict.allowed()) {
      LOG.warn("refused for agent '{}' ({}): {}", link.hostId, socket.remoteAddress(), verdict.reason());
      String replyAddress = raw.getString("replyAddress");
      if (replyAddress != null) {
        // fail the agent's request at once (FORBIDDEN) instead of letting it time out
        VipfarmException e = new VipfarmException(ErrorType.FORBIDDEN, "refused by the agent bridge: " + verdict.reason());
        FrameHelper.sendErrFrame(raw.getString("address"), replyAddress,
            new ReplyException(ReplyFailure.RECIPIENT_FAILURE, e.type().code(), ServiceEndpoint.failureMessage(e)), socket);
      }
      event.complete(false);
      return;
    }
    if (kind == Kind.SEND && Addresses.EVENTS_SUBMIT.equals(raw.getString("address"))) {
      observe(link, (JsonObject) body);
    } else if (kind == Kind.SEND && SERVED_HERE.contains(raw.getString("address"))) {
      // every control member runs these services: this member's own answer, never a round trip to a member
      // that may have just died (its consumers stay in the routing table until Hazelcast drops the member,
      // and requests sent there time out meanwhile)
      JsonObject frameHeaders = headers == null ? new JsonObject() : headers;
      raw.put("headers", frameHeaders.put("localOnly", true));
    } else if (kind == Kind.UNREGISTER && Addresses.agent(link.hostId).equals(raw.getString("address"))) {
      withdraw(link);
    }
    event.complete(true);
  }

  private static Kind kind(BridgeEventType type) {
    return switch (type) {
      case SEND -> Kind.SEND;
      case PUBLISH -> Kind.PUBLISH;
      case REGISTER -> Kind.REGISTER;
      case UNREGISTER -> Kind.UNREGISTER;
      case SOCKET_PING -> Kind.PING;
      default -> null;
    };
  }

  private static Optional<String> hostIdOf(NetSocket socket) {
    try {
      List<Certificate> chain = socket.peerCertificates();
      if (chain != null && !chain.isEmpty() && chain.get(0) instanceof X509Certificate cert) {
        return BridgeTls.commonName(cert);
      }
    } catch (Exception e) {
      LOG.debug("no peer certificate: {}", e.toString());
    }
    return Optional.empty();
  }

  // ---- agent lifecycle

  /**
   * The agent serves its address: publish its record, then withdraw any other record of the host (one a
   * dead member left behind, or this member's from before a reconnection). In that order, so that a host
   * that only moves is never without a record: withdrawing first left a moment in which every gateway
   * answered 404 "no host agent" for an agent that was connected and serving (the old record and the new
   * one name the same event-bus address, so either is good meanwhile; {@link ServiceLocator#agents()}
   * lists a host once).
   */
  private void registered(Link link) {
    link.serving = true;
    register(link, 1);
  }

  private void register(Link link, int attempt) {
    String hostId = link.hostId;
    long now = System.currentTimeMillis();
    // local only: straight to the agent through this member's bridge, never to a stale registration elsewhere
    Future<List<String>> sessions = vertx.eventBus()
        .request(Addresses.agent(hostId), null, new DeliveryOptions().setLocalOnly(true)
            .addHeader(Addresses.ACTION_HEADER, HostAgentService.Actions.LIST).setSendTimeout(LIST_SESSIONS_TIMEOUT_MS))
        .map(reply -> sessionIds(reply.body()))
        .otherwise(err -> {
          LOG.warn("cannot list the sessions of agent '{}' (keeping what its events said): {}", hostId, err.getMessage());
          return null;
        });
    sessions
        .compose(ids -> vertx.executeBlocking(() -> {
          presence.registered(hostId, member, now, ids);
          return null;
        }))
        .compose(v -> discovery.publish(ServiceLocator.record(Addresses.HOST_AGENT_SERVICE, Addresses.agent(hostId),
            HostAgentService.class, new JsonObject().put(Addresses.META_HOST_ID, hostId).put("bridgeMember", member))))
        .compose(record -> {
          if (!stillServing(link)) {
            // the link dropped (or the agent unregistered) meanwhile: take back this record only; a record
            // that another member published since stays
            return discovery.unpublish(record.getRegistration()).<Boolean>map(false);
          }
          link.registration = record.getRegistration();
          // a record left over (one that another member withdrew first, say) names the same address: harmless
          return unpublishRecordsOf(hostId, record.getRegistration())
              .onFailure(err -> LOG.debug("older records of '{}' not all withdrawn: {}", hostId, err.toString()))
              .otherwiseEmpty()
              .map(true);
        })
        .onSuccess(joined -> {
          if (joined) {
            LOG.info("agent '{}' joined through this member's bridge", hostId);
          }
        })
        .onFailure(err -> {
          // typically a Hazelcast operation that a member's death made indeterminate: try again while the agent
          // is connected here, or the host could stay without a record (404 on every gateway) until it reconnects
          if (stillServing(link)) {
            long delay = Math.min(REGISTER_RETRY_MAX_MS, REGISTER_RETRY_MS * attempt);
            LOG.warn("cannot publish the agent of '{}' (attempt {}; again in {} ms): {}", hostId, attempt, delay,
                err.toString());
            vertx.setTimer(delay, id -> {
              if (stillServing(link)) {
                register(link, attempt + 1);
              }
            });
          } else {
            LOG.warn("cannot publish the agent of '{}' (its link is gone): {}", hostId, err.toString());
          }
        });
  }

  private boolean stillServing(Link link) {
    return link.serving && links.containsValue(link);
  }

  private static List<String> sessionIds(Object reply) {
    List<String> ids = new ArrayList<>();
    if (reply instanceof JsonArray array) {
      for (Object s : array) {
        if (s instanceof JsonObject session && session.getString("sessionId") != null) {
          ids.add(session.getString("sessionId"));
        }
      }
    }
    return ids;
  }

  private void heard(Link link) {
    long now = System.currentTimeMillis();
    if (now - link.lastHeardWrite < heardWriteIntervalMs) {
      return;
    }
    link.lastHeardWrite = now;
    vertx.executeBlocking(() -> {
      presence.heard(link.hostId, now);
      return null;
    }, false);
  }

  /** Follows the agent's own session events, so that the sessions of a vanished agent can be reported ended. */
  private void observe(Link link, JsonObject event) {
    String type = event.getString("type");
    String sessionId = event.getString("sessionId");
    vertx.executeBlocking(() -> {
      switch (type) {
        case VipfarmEvent.SESSION_STARTED -> presence.sessionStarted(link.hostId, sessionId);
        case VipfarmEvent.SESSION_ENDED -> presence.sessionEnded(link.hostId, sessionId);
        case VipfarmEvent.HOST_LEFT -> presence.left(link.hostId);
        default -> {
          // leases and the like: nothing to track
        }
      }
      return null;
    });
  }

  private void withdraw(Link link) {
    link.serving = false;
    String registration = link.registration;
    link.registration = null;
    if (registration != null) {
      discovery.unpublish(registration);
    }
  }

  /**
   * The link is gone. The record stays (the gateway shows the host as unreachable, with its last
   * heartbeat) until the agent comes back through some member or the grace runs out.
   */
  private void closed(NetSocket socket, Link link) {
    links.remove(socket);
    LOG.info("agent '{}' disconnected from this member's bridge", link.hostId);
  }

  /** Withdraws the records of {@code hostId}, all of them or all but {@code keep}. */
  private Future<Void> unpublishRecordsOf(String hostId, String keep) {
    return discovery.getRecords(r -> Addresses.HOST_AGENT_SERVICE.equals(r.getName())
            && hostId.equals(r.getMetadata().getString(Addresses.META_HOST_ID))
            && !r.getRegistration().equals(keep))
        .compose(records -> Future.join(records.stream().map(Record::getRegistration)
            .map(discovery::unpublish).toList()))
        .mapEmpty();
  }

  // ---- departures

  private void sweep() {
    long now = System.currentTimeMillis();
    vertx.executeBlocking(() -> presence.takeGone(now, grace.toMillis()), false)
        .onSuccess(gone -> gone.forEach(this::departed))
        .onFailure(err -> LOG.debug("host sweep: {}", err.toString()));
  }

  private void departed(HostPresence.Departure d) {
    LOG.warn("agent '{}' unheard of since {} (grace {} s): host left, {} session(s) ended", d.hostId(),
        java.time.Instant.ofEpochMilli(d.lastSeen()), grace.toSeconds(), d.sessionIds().size());
    for (String sessionId : d.sessionIds()) {
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("reason", "host.left");
      events.emit(VipfarmEvent.submit(VipfarmEvent.SESSION_ENDED, d.hostId(), sessionId, data));
    }
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("reason", "no heartbeat");
    data.put("lastHeartbeat", d.lastSeen());
    events.emit(VipfarmEvent.submit(VipfarmEvent.HOST_LEFT, d.hostId(), null, data));
    unpublishRecordsOf(d.hostId(), null)
        .onFailure(err -> LOG.warn("cannot withdraw the record of '{}': {}", d.hostId(), err.toString()));
  }
}
