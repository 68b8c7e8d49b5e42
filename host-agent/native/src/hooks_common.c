/*
 * The path every hook shares once it has a socket address in hand:
 *   1. cheap classification: no session, NULL or short address, family other than
 *      AF_INET/AF_INET6 -> pass through at once (no syscall, no copy);
 *   2. the current rules (lock-free snapshot, maybe re-read first) and the pure decision;
 *   3. only when the decision rewrites: the socket's type (SO_TYPE; stream or datagram only),
 *      IPV6_V6ONLY for binds on IPv6 sockets, and for the "leaves from V" row the socket's
 *      current address (getsockname: only an unbound socket is pre-bound).
 * Calls that are not ours therefore cost a few compares; errno is preserved throughout.
 *
 * And the way back (design.md section 3, "What the program sees"): vf_hook_remember records in the
 * fd table (fdtab.c) what the program used when a call was rewritten; vf_hook_show puts it back
 * into the addresses getsockname, getpeername, accept and recvfrom/recvmsg report.
 */
#include "hooks.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static bool socket_type(int fd, int *type) {
  socklen_t len = sizeof *type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, type, &len) != 0) return false;
  *type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  return *type == SOCK_STREAM || *type == SOCK_DGRAM;
}

static bool is_v6only(int fd) {
  int on = 0;
  socklen_t len = sizeof on;
  return getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, &len) == 0 && on != 0;
}

/* Binds an unbound socket to V port 0 (::ffff:V on an IPv6 socket) so its traffic leaves from V. */
static void bind_source(const char *func, int fd, int type, struct in_addr vip) {
  struct sockaddr_storage cur;
  socklen_t cur_len = sizeof cur;
  memset(&cur, 0, sizeof cur);
  if (vf_real_getsockname(fd, (struct sockaddr *)&cur, &cur_len) != 0) return;

  struct sockaddr_storage src;
  socklen_t src_len;
  memset(&src, 0, sizeof src);
  if (cur.ss_family == AF_INET) {
    const struct sockaddr_in *c = (const struct sockaddr_in *)&cur;
    if (c->sin_addr.s_addr != htonl(INADDR_ANY) || c->sin_port != 0) return; /* already bound */
    struct sockaddr_in *s = (struct sockaddr_in *)&src;
    s->sin_family = AF_INET;
    s->sin_addr = vip;
    src_len = sizeof *s;
  } else if (cur.ss_family == AF_INET6) {
    const struct sockaddr_in6 *c = (const struct sockaddr_in6 *)&cur;
    if (!IN6_IS_ADDR_UNSPECIFIED(&c->sin6_addr) || c->sin6_port != 0) return;
    if (is_v6only(fd)) return;
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&src;
    s->sin6_family = AF_INET6;
    s->sin6_addr.s6_addr[10] = 0xff;
    s->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s->sin6_addr.s6_addr[12], &vip, 4);
    src_len = sizeof *s;
  } else {
    return;
  }
  if (type == SOCK_STREAM) {
    /* Let connect() pick the port for the full 4-tuple, as without us (Linux >= 4.2). */
    int on = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
  }
  char text[64];
  vf_sockaddr_format((const struct sockaddr *)&src, src_len, text, sizeof text);
  if (vf_real_bind(fd, (const struct sockaddr *)&src, src_len) != 0) {
    vf_log_once(VF_ONCE_PREBIND_FAILED, func,
                "cannot bind fd %d to %s (%s): its traffic leaves from the host's address", fd,
                text, strerror(errno));
    return;
  }
  VF_DEBUG("%s: fd %d bound to %s first", func, fd, text);
}

enum vf_action vf_hook_prepare(const char *func, enum vf_call call, int fd,
                               const struct sockaddr *addr, socklen_t len, int flags,
                               struct vf_decision *out) {
  out->action = VF_PASS;
  if (!vf_session_enabled || addr == NULL || len < (socklen_t)sizeof(sa_family_t)) return VF_PASS;
  sa_family_t family;
  memcpy(&family, addr, sizeof family);
  if (family != AF_INET && family != AF_INET6) return VF_PASS;

  int saved_errno = errno;
  vf_in_shim++;
  struct vf_rules rules;
  int type;
  if (!vf_rules_snapshot(&rules)) goto done;
  vf_decide(&rules, call, addr, len, false, out);
  if (out->action == VF_PASS) goto done;
  if (!socket_type(fd, &type)) {
    out->action = VF_PASS;
    goto done;
  }
  if (call == VF_CALL_SEND && type == SOCK_STREAM && !(flags & MSG_FASTOPEN)) {
    out->action = VF_PASS; /* a stream socket's destination is its connection */
    goto done;
  }
  if (call == VF_CALL_BIND && family == AF_INET6 && out->action == VF_REPLACE && is_v6only(fd)) {
    vf_decide(&rules, call, addr, len, true, out);
  }
  if (vf_log_enabled(VF_LOG_DEBUG) && out->action != VF_PASS) {
    char from[64], to[64] = "";
    vf_sockaddr_format(addr, len, from, sizeof from);
    if (out->action == VF_REPLACE) {
      vf_sockaddr_format((const struct sockaddr *)&out->addr, out->addr_len, to, sizeof to);
    }
    VF_DEBUG("%s(fd %d, %s)%s%s (%s)", func, fd, from, out->action == VF_REPLACE ? " -> " : "", to,
             out->why);
  }
  if (out->action == VF_BIND_SOURCE) {
    bind_source(func, fd, type, out->source);
    out->action = VF_PASS;
  } else if (call == VF_CALL_CONNECT && type == SOCK_DGRAM && out->action == VF_REPLACE &&
             out->cls == VF_ADDR_LOCALHOST) {
    /* UDP connect(127.0.0.1) -> R: the socket is also bound to R first (if unbound). Left to the
       kernel it would sit at 127.0.0.1 (the source Linux picks for all of 127/8) and filter out
       the server's replies, which its "127.0.0.1" sends to R. TCP needs no such bind (the reply
       is the connection) and a server keeps seeing a same-session client as 127.0.0.1. */
    struct vf_fd_state st;
    if (!(vf_fd_get(fd, &st) && st.has_remote && st.remote_real.s_addr == out->target.s_addr)) {
      bind_source(func, fd, type, out->target); /* not for a socket that already went to R */
    }
  }
done:
  vf_in_shim--;
  errno = saved_errno;
  return out->action;
}

void vf_hook_remember(int fd, enum vf_call call, const struct sockaddr *program_addr,
                      socklen_t len, const struct vf_decision *d) {
  if (d->action != VF_REPLACE) return;
  if (d->cls == VF_ADDR_V6_LOOPBACK) {
    vf_fd_record_lb6(fd, call == VF_CALL_BIND);
    return;
  }
  if (call == VF_CALL_BIND) {
    struct vf_sockaddr a;
    vf_sockaddr_classify(program_addr, len, &a);
    if (a.cls == VF_ADDR_OTHER_FAMILY) return;
    vf_fd_record_local(fd, d->target, &a.v6);
  }
  /* 127.0.0.1 became L/V: a peer or a datagram source at L/V is the program's 127.0.0.1. */
  if (d->cls == VF_ADDR_LOCALHOST) vf_fd_record_remote(fd, d->target);
}

void vf_hook_show(int fd, enum vf_side side, void *addr, socklen_t given, socklen_t written) {
  if (addr == NULL) return;
  struct vf_fd_state s;
  if (!vf_fd_get(fd, &s)) return;
  socklen_t present = given < written ? given : written;
  bool lb6 = side == VF_SIDE_LOCAL ? s.local_lb6 : s.remote_lb6;
  bool changed = side == VF_SIDE_LOCAL ? vf_show_local(&s, addr, present)
                                       : vf_show_remote(&s, addr, present);
  if (lb6 && !changed) {
    int saved_errno = errno;
    vf_in_shim++;
    struct vf_rules rules;
    if (vf_rules_snapshot(&rules) && rules.has_loopback6) vf_show_lb6(&rules.loopback6, addr, present);
    vf_in_shim--;
    errno = saved_errno;
  }
}
