package io.vipfarm.api.bus;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.MessageCodec;
import io.vipfarm.api.model.AcquireRequest;
import io.vipfarm.api.model.Lease;
import io.vipfarm.api.model.LeaseKey;
import java.nio.charset.StandardCharsets;

/**
 * Event-bus codecs for the records of the acquire path ({@link AcquireRequest} in, {@link Lease} out),
 * so that they travel as they are: delivered in this process without any copy (records are immutable),
 * sent to another member as a few length-prefixed fields. As JSON they cost an encode and a decode on
 * each side of every acquire (a sixth of an acquire's CPU with three members, more than the Hazelcast
 * operations' own serialization). Only the event-bus transports of {@link EventBusClient} send them;
 * the agents' TCP bridge stays JSON.
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
    return body instanceof AcquireRequest || body instanceof Lease;
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

    LeaseKey key() {
      boolean present = buffer.getByte(pos++) != 0;
      return present ? new LeaseKey(string(), string(), string(), string()) : null;
    }

    long longValue() {
      long value = buffer.getLong(pos);
      pos += 8;
      return value;
    }
  }
}
