package io.vipfarm.deploy.bridge;

import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetClient;
import io.vertx.core.net.NetSocket;
import io.vertx.core.parsetools.RecordParser;
import io.vipfarm.api.Addresses;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of the Vert.x TCP event-bus bridge (frames: a 4-byte big-endian length, then a JSON object
 * with {@code type}, {@code address}, {@code replyAddress}, {@code headers}, {@code body}): request/reply,
 * one-way send, register and ping, over TLS, to one of several control members.
 *
 * <p>The link survives control members: when it drops, it reconnects (to the next member, with
 * backoff), registers its addresses again and re-sends the requests still waiting for a reply. That is
 * safe because every request an agent makes is idempotent (acquire by key, renew, release, policy
 * lookups). One-way frames sent while disconnected wait in a bounded queue. Everything runs on the
 * context that created the client; call it only from there.
 */
public final class BridgeClient {
  private static final Logger LOG = LoggerFactory.getLogger(BridgeClient.class);
  static final long PING_INTERVAL_MS = 2_000;
  /** No frame for this long (pongs included) and the member is taken for dead, even without a TCP reset. */
  static final long SILENCE_LIMIT_MS = 3 * PING_INTERVAL_MS;
  static final long MIN_BACKOFF_MS = 200;
  static final long MAX_BACKOFF_MS = 5_000;
  static final int MAX_QUEUED = 10_000;

  private final Vertx vertx;
  private final NetClient net;
  private final List<String> members;
  private final String name;
  private final Map<String, Pending> pending = new LinkedHashMap<>();
  private final Map<String, Consumer<JsonObject>> registrations = new LinkedHashMap<>();
  private final ArrayDeque<JsonObject> queued = new ArrayDeque<>();
  private final Promise<Void> firstConnection = Promise.promise();
  private NetSocket socket;
  private String connectedTo;
  private int memberIndex;
  private long backoffMs = MIN_BACKOFF_MS;
  private long replySequence;
  private long lastFrameAt;
  private long pingTimer = -1;
  private boolean closed;
  private int failuresInARow;

  private record Pending(JsonObject frame, Promise<Object> promise, long timer) {}

  /**
   * @param members {@code host:port} of the control members' bridges; the first one tried depends on
   *     {@code name}, so that a farm's agents spread over the members
   * @param name this client's name in logs (the host id)
   */
  public BridgeClient(Vertx vertx, BridgeTls tls, List<String> members, String name) {
    if (members.isEmpty()) {
      throw new IllegalArgumentException("at least one control member is needed");
    }
    this.vertx = vertx;
    this.net = vertx.createNetClient(tls.clientOptions());
    this.members = List.copyOf(members);
    this.name = name;
    this.memberIndex = Math.floorMod(name.hashCode(), members.size());
  }

  /** Starts connecting; completes on the first connection (and keeps trying until then). */
  public Future<Void> start() {
    if (pingTimer >= 0) {
      return firstConnection.future();
    }
    connect();
    pingTimer = vertx.setPeriodic(PING_INTERVAL_MS, id -> ping());
    return firstConnection.future();
  }

  /** The member this client is connected to ({@code host:port}), or null between connections. */
  public String connectedTo() {
    return connectedTo;
  }

  /** Request/reply; failures come back as {@link ReplyException}s, as on the event bus. */
  public Future<Object> request(String address, String action, Object body, long timeoutMs) {
    if (closed) {
      return Future.failedFuture(new ReplyException(ReplyFailure.NO_HANDLERS, "the bridge link is closed"));
    }
    String replyAddress = "vipfarm.reply." + name + "." + (++replySequence);
    JsonObject frame = frame("send", address, body)
        .put("replyAddress", replyAddress)
        .put("headers", new JsonObject().put(Addresses.ACTION_HEADER, action).put("timeout", timeoutMs));
    Promise<Object> promise = Promise.promise();
    long timer = vertx.setTimer(timeoutMs, id -> {
      Pending gone = pending.remove(replyAddress);
      if (gone != null) {
        gone.promise().tryFail(new ReplyException(ReplyFailure.TIMEOUT, "no reply from " + address + " within "
            + timeoutMs + " ms" + (socket == null ? " (no control member reachable)" : "")));
      }
    });
    pending.put(replyAddress, new Pending(frame, promise, timer));
    if (socket != null) {
      write(frame);
    }
    return promise.future();
  }

  /** One-way send; queued (bounded) while no member is connected. */
  public void send(String address, Object body) {
    JsonObject frame = frame("send", address, body);
    if (socket != null) {
      write(frame);
    } else if (!closed) {
      if (queued.size() >= MAX_QUEUED) {
        queued.pollFirst();
      }
      queued.addLast(frame);
    }
  }

  /** Receives what is sent or published to {@code address}, on every member this client connects to. */
  public void register(String address, Consumer<JsonObject> handler) {
    registrations.put(address, handler);
    if (socket != null) {
      write(frame("register", address, null));
    }
  }

  public void unregister(String address) {
    if (registrations.remove(address) != null && socket != null) {
      write(frame("unregister", address, null));
    }
  }

  /** Answers a request received on a registered address (dropped if the link broke meanwhile: the asker timed out). */
  public void reply(String replyAddress, Object body) {
    if (socket != null) {
      write(frame("send", replyAddress, body));
    }
  }

  /** Fails a request received on a registered address; the requester sees a RECIPIENT_FAILURE with this code. */
  public void fail(String replyAddress, int failureCode, String message) {
    JsonObject frame = frame("send", replyAddress, null).put("failureCode", failureCode).put("message", message);
    if (socket != null) {
      write(frame);
    }
  }

  public Future<Void> close() {
    closed = true;
    vertx.cancelTimer(pingTimer);
    new ArrayList<>(pending.keySet()).forEach(key -> {
      Pending p = pending.remove(key);
      vertx.cancelTimer(p.timer());
      p.promise().tryFail(new ReplyException(ReplyFailure.NO_HANDLERS, "the bridge link is closed"));
    });
    NetSocket s = socket;
    socket = null;
    return (s == null ? Future.<Void>succeededFuture() : s.close()).otherwiseEmpty().compose(v -> net.close());
  }

  // ---- connection

  private void connect() {
    if (closed) {
      return;
    }
    String member = members.get(memberIndex);
    int colon = member.lastIndexOf(':');
    String host = member.substring(0, colon).replace("[", "").replace("]", "");
    int port = Integer.parseInt(member.substring(colon + 1));
    net.connect(port, host).onComplete(ar -> {
      if (ar.failed()) {
        if (failuresInARow++ < members.size()) {
          LOG.warn("agent '{}' cannot connect to control member {}: {}", name, member, ar.cause().toString());
        }
        retryLater();
        return;
      }
      if (closed) {
        ar.result().close();
        return;
      }
      connected(ar.result(), member);
    });
  }

  private void retryLater() {
    memberIndex = (memberIndex + 1) % members.size();
    // a whole round failed: back off, so that thousands of agents do not hammer a recovering plane
    long wait = memberIndex == 0 || members.size() == 1 ? backoffMs : 0;
    if (wait > 0) {
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      long jittered = wait / 2 + (long) (Math.random() * wait / 2);
      vertx.setTimer(jittered, id -> connect());
    } else {
      connect();
    }
  }

  private void connected(NetSocket s, String member) {
    socket = s;
    connectedTo = member;
    backoffMs = MIN_BACKOFF_MS;
    failuresInARow = 0;
    lastFrameAt = System.currentTimeMillis();
    s.handler(parser());
    s.closeHandler(v -> dropped(s));
    s.exceptionHandler(err -> LOG.debug("bridge link to {}: {}", member, err.toString()));
    registrations.keySet().forEach(address -> write(frame("register", address, null)));
    pending.values().forEach(p -> write(p.frame()));
    while (!queued.isEmpty()) {
      write(queued.pollFirst());
    }
    LOG.info("agent '{}' connected to control member {} through the bridge", name, member);
    firstConnection.tryComplete();
  }

  private void dropped(NetSocket s) {
    if (socket != s) {
      return;
    }
    socket = null;
    LOG.warn("agent '{}' lost its link to control member {}; reconnecting", name, connectedTo);
    connectedTo = null;
    if (!closed) {
      retryLater();
    }
  }

  private void ping() {
    if (socket == null) {
      return;
    }
    if (System.currentTimeMillis() - lastFrameAt > SILENCE_LIMIT_MS) {
      LOG.warn("control member {} silent for {} ms; dropping the link", connectedTo, SILENCE_LIMIT_MS);
      socket.close();
      return;
    }
    write(new JsonObject().put("type", "ping"));
  }

  // ---- frames

  private static JsonObject frame(String type, String address, Object body) {
    JsonObject frame = new JsonObject().put("type", type).put("address", address);
    if (body != null) {
      frame.put("body", body);
    }
    return frame;
  }

  private void write(JsonObject frame) {
    byte[] json = frame.encode().getBytes(StandardCharsets.UTF_8);
    socket.write(Buffer.buffer(4 + json.length).appendInt(json.length).appendBytes(json));
  }

  private Handler<Buffer> parser() {
    RecordParser parser = RecordParser.newFixed(4);
    parser.handler(new Handler<>() {
      private boolean header = true;

      @Override
      public void handle(Buffer buffer) {
        if (header) {
          parser.fixedSizeMode(buffer.getInt(0));
        } else {
          parser.fixedSizeMode(4);
          received(new JsonObject(buffer));
        }
        header = !header;
      }
    });
    return parser;
  }

  private void received(JsonObject frame) {
    lastFrameAt = System.currentTimeMillis();
    String type = frame.getString("type", "");
    String address = frame.getString("address");
    switch (type) {
      case "message" -> {
        Pending p = address == null ? null : pending.remove(address);
        if (p != null) {
          vertx.cancelTimer(p.timer());
          p.promise().tryComplete(frame.getValue("body"));
          return;
        }
        Consumer<JsonObject> handler = address == null ? null : registrations.get(address);
        if (handler != null) {
          handler.accept(frame);
        }
      }
      case "err" -> {
        Pending p = address == null ? null : pending.remove(address);
        if (p != null) {
          vertx.cancelTimer(p.timer());
          p.promise().tryFail(new ReplyException(failureType(frame.getString("failureType")),
              frame.getInteger("failureCode", -1), frame.getString("message")));
        } else {
          LOG.warn("the bridge refused a frame of agent '{}': {}", name, frame.getString("message"));
        }
      }
      default -> {
        // pong: the member is alive, which lastFrameAt already says
      }
    }
  }

  private static ReplyFailure failureType(String name) {
    try {
      return name == null ? ReplyFailure.RECIPIENT_FAILURE : ReplyFailure.valueOf(name);
    } catch (IllegalArgumentException e) {
      return ReplyFailure.RECIPIENT_FAILURE;
    }
  }
}
