package io.vipfarm.agent.session;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.freedesktop.dbus.DBusPath;
import org.freedesktop.dbus.connections.IDisconnectCallback;
import org.freedesktop.dbus.connections.impl.DBusConnection;
import org.freedesktop.dbus.connections.impl.DBusConnectionBuilder;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.exceptions.DBusExecutionException;
import org.freedesktop.dbus.interfaces.Properties;
import org.freedesktop.dbus.types.Variant;

/**
 * A connection to systemd-logind on a D-Bus system bus. Every method blocks on the bus: call them on a
 * worker thread, never on an event loop.
 */
final class LogindBus implements AutoCloseable {
  private final DBusConnection connection;
  private final Login1Manager manager;

  private LogindBus(DBusConnection connection, Login1Manager manager) {
    this.connection = connection;
    this.manager = manager;
  }

  /**
   * Connects to {@code address} and calls {@code changed} with the session id of every
   * {@code SessionNew} and {@code SessionRemoved} (on a D-Bus thread), and {@code lost} once when the
   * connection breaks.
   */
  static LogindBus connect(String address, Consumer<String> changed, Runnable lost) throws DBusException {
    DBusConnection connection = DBusConnectionBuilder.forAddress(address)
        .withShared(false)
        .withDisconnectCallback(new IDisconnectCallback() {
          @Override
          public void disconnectOnError(IOException e) {
            lost.run();
          }

          @Override
          public void exceptionOnTerminate(IOException e) {
            lost.run();
          }
        })
        .build();
    try {
      connection.addSigHandler(Login1Manager.SessionNew.class, signal -> changed.accept(signal.sessionId()));
      connection.addSigHandler(Login1Manager.SessionRemoved.class, signal -> changed.accept(signal.sessionId()));
      Login1Manager manager = connection.getRemoteObject(Login1Manager.BUS_NAME, Login1Manager.OBJECT_PATH,
          Login1Manager.class);
      return new LogindBus(connection, manager);
    } catch (DBusException | RuntimeException e) {
      connection.disconnect();
      throw e;
    }
  }

  /** Every session logind has now, with its properties (a session that ends meanwhile is left out). */
  List<LogindSession> sessions() throws DBusException {
    List<LogindSession> out = new ArrayList<>();
    for (Login1Manager.SessionEntry entry : manager.ListSessions()) {
      try {
        out.add(read(entry.id, entry.path));
      } catch (DBusExecutionException e) {
        if (entry(entry.id).isPresent()) {
          throw e;
        } // else it ended meanwhile
      }
    }
    return out;
  }

  /**
   * The session {@code id}, or empty when logind does not have it (any more). Presence is decided by
   * {@code ListSessions}, not by {@code GetSession}'s error: dbus-java keeps a remote error's name only
   * when a Java class of that name exists, and logind's {@code NoSuchSession} has none.
   */
  Optional<LogindSession> session(String id) throws DBusException {
    Optional<Login1Manager.SessionEntry> entry = entry(id);
    if (entry.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(read(id, entry.get().path));
    } catch (DBusExecutionException e) {
      if (entry(id).isEmpty()) {
        return Optional.empty(); // removed between the two calls
      }
      throw e;
    }
  }

  private Optional<Login1Manager.SessionEntry> entry(String id) {
    return manager.ListSessions().stream().filter(e -> id.equals(e.id)).findFirst();
  }

  private LogindSession read(String id, DBusPath path) throws DBusException {
    Map<String, Variant<?>> props = connection
        .getRemoteObject(Login1Manager.BUS_NAME, path.getPath(), Properties.class)
        .GetAll(Login1Manager.SESSION_INTERFACE);
    return new LogindSession(id, text(props, "Name"), uid(props.get("User")), text(props, "Class"),
        text(props, "Scope"), props.get("Remote") != null && Boolean.TRUE.equals(props.get("Remote").getValue()),
        text(props, "State"), text(props, "Service"), number(props.get("Leader")));
  }

  private static long number(Variant<?> value) {
    return value != null && value.getValue() instanceof Number n ? n.longValue() : 0;
  }

  private static String text(Map<String, Variant<?>> props, String name) {
    Variant<?> value = props.get(name);
    return value == null || value.getValue() == null ? "" : value.getValue().toString();
  }

  /** {@code User} is {@code (uo)}: uid and the user's object path. */
  private static long uid(Variant<?> user) {
    Object value = user == null ? null : user.getValue();
    Object first = value instanceof Object[] parts && parts.length > 0 ? parts[0]
        : value instanceof List<?> list && !list.isEmpty() ? list.get(0) : null;
    return first instanceof Number n ? n.longValue() : -1;
  }

  @Override
  public void close() {
    connection.disconnect();
  }
}
