package io.vipfarm.api.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.AllocationPage;
import io.vipfarm.api.model.AllocationPageRequest;
import io.vipfarm.api.model.AllocationQuery;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import io.vipfarm.api.model.VipfarmEvent;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Event-bus codecs for the records of the acquire path ({@link AcquireRequest} in, {@link Lease} out,
 * and the {@link VipfarmEvent} every grant submits to the event log) and of a page of allocations
 * ({@link AllocationPageRequest} in, {@link AllocationPage} out: its rows are UTF-8 bytes, which JSON
 * would carry as base64), so that they travel as they are:
 * delivered in this process without any copy (records are immutable), sent to another member as a few
 * length-prefixed fields. As JSON they cost an encode and a decode on each side of every acquire (a
 * sixth of an acquire's CPU with three members for the request and lease, a tenth for the event).
 * Only the event-bus transports of {@link EventBusClient} and {@link io.vipfarm.api.EventSink} send
 * them; the agents' TCP bridge stays JSON.
 *
 * <p>The wire form starts with a format number; a member that reads a number it does not know fails the
 * message (the requester gets a failure, never a wrong record). Every control member of a farm runs the
 * same vipfarm version.
 */
public abstract sealed class RecordCodec<T> implements MessageCodec<T, T> {
  static final byte FORMAT = 1;

  /** Registers both codecs as the default for their record on {@code bus}; idempotent. */
  public static void register(EventBus bus) {
    register(bus, AcquireRequest.class, new AcquireRequestCodec());
    register(bus, Lease.class, new LeaseCodec());
    register(bus, VipfarmEvent.class, new EventCodec());
    register(bus, AllocationPageRequest.class, new AllocationPageRequestCodec());
    register(bus, AllocationPage.class, new AllocationPageCodec());
  }

  private static <T> void register(EventBus bus, Class<T> type, RecordCodec<T> codec) {
    try {
      bus.registerDefaultCodec(type, codec);
    } catch (IllegalStateException alreadyRegistered) {
      // another client or endpoint of this Vert.x instance registered it first
    }
  }

  /** Whether {@code body} is a record these codecs carry. */
  public static boolean carries(Object body) {
    return body instanceof AcquireRequest || body instanceof Lease || body instanceof VipfarmEvent
        || body instanceof AllocationPageRequest || body instanceof AllocationPage;
  }

  @Override
  public T transform(T record) {
    return record;
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }

  @Override
  public void encodeToWire(Buffer buffer, T record) {
    int lengthAt = buffer.length();
    buffer.appendInt(0).appendByte(FORMAT);
    write(buffer, record);
    buffer.setInt(lengthAt, buffer.length() - lengthAt - 4);
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    Reader in = new Reader(buffer, pos + 4);
    byte format = buffer.getByte(in.pos++);
    if (format != FORMAT) {
      throw new IllegalStateException(name() + ": unknown wire format " + format + " (a member of another vipfarm version?)");
    }
    return read(in);
  }

  abstract void write(Buffer out, T record);

  abstract T read(Reader in);

  static final class AcquireRequestCodec extends RecordCodec<AcquireRequest> {
    @Override
    public String name() {
      return "vipfarm.AcquireRequest";
    }

    @Override
    void write(Buffer out, AcquireRequest r) {
      string(out, r.pool());
      key(out, r.key());
      string(out, r.user());
    }

    @Override
    AcquireRequest read(Reader in) {
      return new AcquireRequest(in.string(), in.key(), in.string());
    }
  }

  static final class LeaseCodec extends RecordCodec<Lease> {
    @Override
    public String name() {
      return "vipfarm.Lease";
    }

    @Override
    void write(Buffer out, Lease l) {
      string(out, l.address());
      string(out, l.pool());
      key(out, l.key());
      string(out, l.user());
      out.appendLong(l.fence()).appendLong(l.grantedAt()).appendLong(l.expiresAt());
    }

    @Override
    Lease read(Reader in) {
      return new Lease(in.string(), in.string(), in.key(), in.string(), in.longValue(), in.longValue(), in.longValue());
    }
  }

  /**
   * An event: its fields, then its data as a count and (name, type tag, value) entries when every value
   * is a string, a boolean, an int or a long (the events vipfarm emits); any other data as a count of
   * -1 and its JSON text, read back as the JSON types (what the event log stores either way).
   */
  static final class EventCodec extends RecordCodec<VipfarmEvent> {
    private static final byte STRING = 'S';
    private static final byte LONG = 'L';
    private static final byte INT = 'I';
    private static final byte BOOLEAN = 'B';

    @Override
    public String name() {
      return "vipfarm.VipfarmEvent";
    }

    @Override
    void write(Buffer out, VipfarmEvent e) {
      out.appendLong(e.id());
      string(out, e.type());
      out.appendLong(e.timestamp());
      string(out, e.hostId());
      string(out, e.sessionId());
      if (!flat(e.data())) {
        out.appendInt(-1);
        string(out, Json.toJson(e).getJsonObject("data").encode());
        return;
      }
      out.appendInt(e.data().size());
      for (Map.Entry<String, Object> d : e.data().entrySet()) {
        string(out, d.getKey());
        Object v = d.getValue();
        if (v instanceof String text) {
          out.appendByte(STRING);
          string(out, text);
        } else if (v instanceof Long l) {
          out.appendByte(LONG).appendLong(l);
        } else if (v instanceof Integer i) {
          out.appendByte(INT).appendInt(i);
        } else {
          out.appendByte(BOOLEAN).appendByte((byte) ((Boolean) v ? 1 : 0));
        }
      }
    }

    private static boolean flat(Map<String, Object> data) {
      for (Object v : data.values()) {
        if (!(v instanceof String || v instanceof Long || v instanceof Integer || v instanceof Boolean)) {
          return false;
        }
      }
      return true;
    }

    @Override
    VipfarmEvent read(Reader in) {
      long id = in.longValue();
      String type = in.string();
      long timestamp = in.longValue();
      String hostId = in.string();
      String sessionId = in.string();
      int entries = in.intValue();
      Map<String, Object> data;
      if (entries < 0) {
        data = new JsonObject(in.string()).getMap();
      } else {
        data = new LinkedHashMap<>(entries * 2);
        for (int i = 0; i < entries; i++) {
          String name = in.string();
          byte tag = in.byteValue();
          data.put(name, switch (tag) {
            case STRING -> in.string();
            case LONG -> in.longValue();
            case INT -> in.intValue();
            case BOOLEAN -> in.byteValue() != 0;
            default -> throw new IllegalStateException(name() + ": unknown value type " + tag + " of data field " + name);
          });
        }
      }
      return new VipfarmEvent(id, type, timestamp, hostId, sessionId, data);
    }
  }

  static final class AllocationPageRequestCodec extends RecordCodec<AllocationPageRequest> {
    @Override
    public String name() {
      return "vipfarm.AllocationPageRequest";
    }

    @Override
    void write(Buffer out, AllocationPageRequest r) {
      AllocationQuery q = r.query() == null ? AllocationQuery.all() : r.query();
      string(out, q.host());
      string(out, q.session());
      string(out, q.user());
      string(out, q.pool());
      string(out, q.address());
      out.appendInt(r.limit());
      string(out, r.afterPool());
      string(out, r.afterAddress());
    }

    @Override
    AllocationPageRequest read(Reader in) {
      AllocationQuery query = new AllocationQuery(in.string(), in.string(), in.string(), in.string(), in.string());
      return new AllocationPageRequest(query, in.intValue(), in.string(), in.string());
    }
  }

  static final class AllocationPageCodec extends RecordCodec<AllocationPage> {
    @Override
    public String name() {
      return "vipfarm.AllocationPage";
    }

    @Override
    void write(Buffer out, AllocationPage p) {
      out.appendInt(p.rows().length).appendBytes(p.rows());
      out.appendInt(p.count());
      string(out, p.lastPool());
      string(out, p.lastAddress());
      out.appendByte((byte) (p.more() ? 1 : 0));
    }

    @Override
    AllocationPage read(Reader in) {
      byte[] rows = in.bytes();
      return new AllocationPage(rows, in.intValue(), in.string(), in.string(), in.byteValue() != 0);
    }
  }

  /** A string as its UTF-8 length (-1 for null) and bytes. */
  static void string(Buffer out, String value) {
    if (value == null) {
      out.appendInt(-1);
      return;
    }
    byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
    out.appendInt(bytes.length).appendBytes(bytes);
  }

  /** A key as a presence byte and its four strings. */
  static void key(Buffer out, LeaseKey key) {
    out.appendByte((byte) (key == null ? 0 : 1));
    if (key != null) {
      string(out, key.hostId());
      string(out, key.bootId());
      string(out, key.sessionId());
      string(out, key.program());
    }
  }

  /** Reads what {@link #string} and {@link #key} wrote, in order. */
  static final class Reader {
    private final Buffer buffer;
    int pos;

    Reader(Buffer buffer, int pos) {
      this.buffer = buffer;
      this.pos = pos;
    }

    String string() {
      int length = buffer.getInt(pos);
      pos += 4;
      if (length < 0) {
        return null;
      }
      String value = buffer.getString(pos, pos + length, "UTF-8");
      pos += length;
      return value;
    }

    byte[] bytes() {
      int length = buffer.getInt(pos);
      pos += 4;
      byte[] value = buffer.getBytes(pos, pos + length);
      pos += length;
      return value;
    }

    LeaseKey key() {
      boolean present = buffer.getByte(pos++) != 0;
      return present ? new LeaseKey(string(), string(), string(), string()) : null;
    }

    long longValue() {
      long value = buffer.getLong(pos);
      pos += 8;
      return value;
    }

    int intValue() {
      int value = buffer.getInt(pos);
      pos += 4;
      return value;
    }

    byte byteValue() {
      return buffer.getByte(pos++);
    }
  }
}
