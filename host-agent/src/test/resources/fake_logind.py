#!/usr/bin/env python3
"""A stand-in for systemd-logind on a private D-Bus bus, for the host agent's tests.

It owns org.freedesktop.login1 and exports /org/freedesktop/login1 with the Manager methods vipfarm
calls (ListSessions, GetSession) and its SessionNew/SessionRemoved signals, and one object per session
with the org.freedesktop.login1.Session properties vipfarm reads, through org.freedesktop.DBus.Properties.
It is driven through stdin, one command a line, and answers each with a line "ok ..." on stdout:

  new ID UID USER CLASS [SERVICE [LEADER]]
                                    add a session (emits SessionNew); LEADER is its Leader pid
                                    (default 0: unknown), its Scope is always session-ID.scope
  quiet-new ID UID USER CLASS       add a session without a signal (it existed before vipfarm looked)
  remove ID                         remove a session (emits SessionRemoved)
  quiet-remove ID                   remove a session without a signal (vipfarm was away)
  quit

Uses python3-dbus with the GLib main loop (python3-gi), both Debian packages.
"""
import sys

import dbus
import dbus.service
from dbus.mainloop.glib import DBusGMainLoop
from gi.repository import GLib

MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"


class NoSuchSession(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.login1.NoSuchSession"


class UnknownInterface(dbus.DBusException):
    _dbus_error_name = "org.freedesktop.DBus.Error.UnknownInterface"


def object_path(session_id):
    # logind escapes ids into the path the same way: _3 for "3", c1 stays c1
    return "/org/freedesktop/login1/session/" + "".join(
        c if c.isalnum() and not (i == 0 and c.isdigit()) else "_%02x" % ord(c) for i, c in enumerate(session_id))


class Session(dbus.service.Object):
    def __init__(self, bus, session_id, uid, user, session_class, service, leader):
        self.path = object_path(session_id)
        super().__init__(bus, self.path)
        self.props = {
            "Id": dbus.String(session_id),
            "Name": dbus.String(user),
            "User": dbus.Struct((dbus.UInt32(uid), dbus.ObjectPath("/org/freedesktop/login1/user/_%d" % uid)),
                                signature="uo"),
            "Class": dbus.String(session_class),
            "Type": dbus.String("tty"),
            "Scope": dbus.String("session-%s.scope" % session_id),
            "Leader": dbus.UInt32(leader),
            "Remote": dbus.Boolean(service == "sshd"),
            "RemoteHost": dbus.String("127.0.0.1" if service == "sshd" else ""),
            "Service": dbus.String(service),
            "State": dbus.String("active"),
            "Seat": dbus.Struct(("", dbus.ObjectPath("/")), signature="so"),
        }

    @dbus.service.method(PROPERTIES, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        if interface != SESSION:
            raise UnknownInterface(interface)
        return self.props

    @dbus.service.method(PROPERTIES, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        if interface != SESSION:
            raise UnknownInterface(interface)
        return self.props[name]


class Manager(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/login1")
        self.bus = bus
        self.sessions = {}

    @dbus.service.method(MANAGER, in_signature="", out_signature="a(susso)")
    def ListSessions(self):
        return [(s.props["Id"], s.props["User"][0], s.props["Name"], "", dbus.ObjectPath(s.path))
                for s in self.sessions.values()]

    @dbus.service.method(MANAGER, in_signature="s", out_signature="o")
    def GetSession(self, session_id):
        if session_id not in self.sessions:
            raise NoSuchSession("No session '%s' known" % session_id)
        return dbus.ObjectPath(self.sessions[session_id].path)

    @dbus.service.signal(MANAGER, signature="so")
    def SessionNew(self, session_id, path):
        pass

    @dbus.service.signal(MANAGER, signature="so")
    def SessionRemoved(self, session_id, path):
        pass

    def add(self, session_id, uid, user, session_class, service, leader, signal):
        session = Session(self.bus, session_id, int(uid), user, session_class, service, int(leader))
        self.sessions[session_id] = session
        if signal:
            self.SessionNew(session_id, dbus.ObjectPath(session.path))

    def remove(self, session_id, signal):
        session = self.sessions.pop(session_id)
        session.remove_from_connection()
        if signal:
            self.SessionRemoved(session_id, dbus.ObjectPath(session.path))


def main():
    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(sys.argv[1])
    manager = Manager(bus)
    name = dbus.service.BusName("org.freedesktop.login1", bus)
    loop = GLib.MainLoop()

    def command(source, condition):
        line = sys.stdin.readline()
        if not line:
            loop.quit()
            return False
        words = line.split()
        try:
            if words[0] in ("new", "quiet-new"):
                manager.add(words[1], words[2], words[3], words[4], words[5] if len(words) > 5 else "sshd",
                            words[6] if len(words) > 6 else 0, words[0] == "new")
            elif words[0] in ("remove", "quiet-remove"):
                manager.remove(words[1], words[0] == "remove")
            elif words[0] == "quit":
                loop.quit()
                return False
            print("ok " + line.strip(), flush=True)
        except Exception as e:  # the test reads the answer and fails with it
            print("error %s: %r" % (line.strip(), e), flush=True)
        return True

    GLib.io_add_watch(sys.stdin, GLib.IO_IN | GLib.IO_HUP, command)
    print("ready " + name.get_name(), flush=True)
    loop.run()


if __name__ == "__main__":
    main()
