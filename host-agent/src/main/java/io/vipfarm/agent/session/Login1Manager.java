package io.vipfarm.agent.session;

import java.util.List;
import org.freedesktop.dbus.DBusPath;
import org.freedesktop.dbus.Struct;
import org.freedesktop.dbus.annotations.DBusInterfaceName;
import org.freedesktop.dbus.annotations.Position;
import org.freedesktop.dbus.exceptions.DBusException;
import org.freedesktop.dbus.interfaces.DBusInterface;
import org.freedesktop.dbus.messages.DBusSignal;
import org.freedesktop.dbus.types.UInt32;

/**
 * The part of systemd-logind's {@code org.freedesktop.login1.Manager} interface vipfarm uses (see
 * org.freedesktop.login1(5)): the method names are logind's, so they are capitalised as on the bus.
 */
@DBusInterfaceName(Login1Manager.INTERFACE)
@SuppressWarnings("checkstyle:MethodName")
public interface Login1Manager extends DBusInterface {
  String BUS_NAME = "org.freedesktop.login1";
  String OBJECT_PATH = "/org/freedesktop/login1";
  String INTERFACE = "org.freedesktop.login1.Manager";
  String SESSION_INTERFACE = "org.freedesktop.login1.Session";

  /** {@code ListSessions(out a(susso) sessions)}. */
  List<SessionEntry> ListSessions();

  /** One entry of {@code ListSessions}: id, uid, user name, seat, object path. */
  final class SessionEntry extends Struct {
    @Position(0)
    public final String id;
    @Position(1)
    public final UInt32 uid;
    @Position(2)
    public final String user;
    @Position(3)
    public final String seat;
    @Position(4)
    public final DBusPath path;

    public SessionEntry(String id, UInt32 uid, String user, String seat, DBusPath path) {
      this.id = id;
      this.uid = uid;
      this.user = user;
      this.seat = seat;
      this.path = path;
    }
  }

  /** {@code SessionNew(s session_id, o object_path)}. */
  final class SessionNew extends DBusSignal {
    private final String sessionId;

    public SessionNew(String objectPath, String sessionId, DBusPath sessionPath) throws DBusException {
      super(objectPath, sessionId, sessionPath);
      this.sessionId = sessionId;
    }

    public String sessionId() {
      return sessionId;
    }
  }

  /** {@code SessionRemoved(s session_id, o object_path)}. */
  final class SessionRemoved extends DBusSignal {
    private final String sessionId;

    public SessionRemoved(String objectPath, String sessionId, DBusPath sessionPath) throws DBusException {
      super(objectPath, sessionId, sessionPath);
      this.sessionId = sessionId;
    }

    public String sessionId() {
      return sessionId;
    }
  }
}
