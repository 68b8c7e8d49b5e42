/*
 * The hooked calls, declared once.
 *
 * For each call NAME: VF_NAME_RET, VF_NAME_PARAMS and VF_NAME_ARGS give its signature and the
 * forwarding argument list; VF_HOOKED_CALLS lists the calls with their raw syscall number (the
 * fallback when the real symbol cannot be found) and whether the symbol is mandatory. The struct
 * of real pointers, the forwarding functions vf_real_NAME and the exported definitions (VF_HOOK)
 * are all generated from these, so they cannot drift apart.
 *
 * fcntl and fcntl64 are variadic: VF_VARIADIC_CALLS lists them; the real pointer has the variadic
 * type, the forwarder takes the third argument as one pointer-sized value (as glibc's own fcntl
 * reads it), and their wrappers are written out in hooks_fd.c. Programs built with
 * _FILE_OFFSET_BITS=64 (CPython, for one) call fcntl64 even on 64-bit hosts.
 */
#ifndef VIPFARM_HOOKS_H
#define VIPFARM_HOOKS_H

#include "shim.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc declares bind/connect/sendto with a transparent union when _GNU_SOURCE is set. */
#if defined(__GLIBC__) && defined(__USE_GNU)
#define VF_SOCKADDR_ARG __CONST_SOCKADDR_ARG
#define VF_SOCKADDR_OUT __SOCKADDR_ARG
#define VF_SOCKADDR_PTR(a) ((a).__sockaddr__)
#else
#define VF_SOCKADDR_ARG const struct sockaddr *
#define VF_SOCKADDR_OUT struct sockaddr *
#define VF_SOCKADDR_PTR(a) (a)
#endif

#define VF_bind_RET int
#define VF_bind_PARAMS (int fd, VF_SOCKADDR_ARG addr, socklen_t len)
#define VF_bind_ARGS (fd, addr, len)

#define VF_connect_RET int
#define VF_connect_PARAMS (int fd, VF_SOCKADDR_ARG addr, socklen_t len)
#define VF_connect_ARGS (fd, addr, len)

#define VF_sendto_RET ssize_t
#define VF_sendto_PARAMS \
  (int fd, const void *buf, size_t n, int flags, VF_SOCKADDR_ARG addr, socklen_t len)
#define VF_sendto_ARGS (fd, buf, n, flags, addr, len)

#define VF_sendmsg_RET ssize_t
#define VF_sendmsg_PARAMS (int fd, const struct msghdr *msg, int flags)
#define VF_sendmsg_ARGS (fd, msg, flags)

#define VF_sendmmsg_RET int
#define VF_sendmmsg_PARAMS (int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
#define VF_sendmmsg_ARGS (fd, vec, vlen, flags)

#define VF_getsockname_RET int
#define VF_getsockname_PARAMS (int fd, VF_SOCKADDR_OUT addr, socklen_t *len)
#define VF_getsockname_ARGS (fd, addr, len)

#define VF_getpeername_RET int
#define VF_getpeername_PARAMS (int fd, VF_SOCKADDR_OUT addr, socklen_t *len)
#define VF_getpeername_ARGS (fd, addr, len)

#define VF_accept_RET int
#define VF_accept_PARAMS (int fd, VF_SOCKADDR_OUT addr, socklen_t *len)
#define VF_accept_ARGS (fd, addr, len)

#define VF_accept4_RET int
#define VF_accept4_PARAMS (int fd, VF_SOCKADDR_OUT addr, socklen_t *len, int flags)
#define VF_accept4_ARGS (fd, addr, len, flags)

#define VF_recvfrom_RET ssize_t
#define VF_recvfrom_PARAMS \
  (int fd, void *buf, size_t n, int flags, VF_SOCKADDR_OUT addr, socklen_t *len)
#define VF_recvfrom_ARGS (fd, buf, n, flags, addr, len)

#define VF_recvmsg_RET ssize_t
#define VF_recvmsg_PARAMS (int fd, struct msghdr *msg, int flags)
#define VF_recvmsg_ARGS (fd, msg, flags)

#define VF_recvmmsg_RET int
#define VF_recvmmsg_PARAMS \
  (int fd, struct mmsghdr *vec, unsigned int vlen, int flags, struct timespec *timeout)
#define VF_recvmmsg_ARGS (fd, vec, vlen, flags, timeout)

#define VF_socket_RET int
#define VF_socket_PARAMS (int domain, int type, int protocol)
#define VF_socket_ARGS (domain, type, protocol)

#define VF_close_RET int
#define VF_close_PARAMS (int fd)
#define VF_close_ARGS (fd)

#define VF_close_range_RET int
#define VF_close_range_PARAMS (unsigned int first, unsigned int last, int flags)
#define VF_close_range_ARGS (first, last, flags)

#define VF_dup_RET int
#define VF_dup_PARAMS (int fd)
#define VF_dup_ARGS (fd)

#define VF_dup2_RET int
#define VF_dup2_PARAMS (int fd, int fd2)
#define VF_dup2_ARGS (fd, fd2)

#define VF_dup3_RET int
#define VF_dup3_PARAMS (int fd, int fd2, int flags)
#define VF_dup3_ARGS (fd, fd2, flags)

/* Variadic: PARAMS is the real type; FWD_PARAMS / FWD_ARGS the forwarder's. */
#define VF_fcntl_RET int
#define VF_fcntl_PARAMS (int fd, int cmd, ...)
#define VF_fcntl_FWD_PARAMS (int fd, int cmd, void *arg)
#define VF_fcntl_FWD_ARGS (fd, cmd, arg)

#define VF_fcntl64_RET int
#define VF_fcntl64_PARAMS (int fd, int cmd, ...)
#define VF_fcntl64_FWD_PARAMS (int fd, int cmd, void *arg)
#define VF_fcntl64_FWD_ARGS (fd, cmd, arg)

/* Name resolution (hooks_resolve.c): no raw syscall behind them; missing = the call fails. */
#define VF_getaddrinfo_RET int
#define VF_getaddrinfo_PARAMS \
  (const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
#define VF_getaddrinfo_ARGS (node, service, hints, res)

#define VF_gethostbyname_RET struct hostent *
#define VF_gethostbyname_PARAMS (const char *name)
#define VF_gethostbyname_ARGS (name)

#define VF_gethostbyname_r_RET int
#define VF_gethostbyname_r_PARAMS \
  (const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, \
   int *h_errnop)
#define VF_gethostbyname_r_ARGS (name, ret, buf, buflen, result, h_errnop)

#define VF_gethostbyname2_RET struct hostent *
#define VF_gethostbyname2_PARAMS (const char *name, int af)
#define VF_gethostbyname2_ARGS (name, af)

#define VF_gethostbyname2_r_RET int
#define VF_gethostbyname2_r_PARAMS \
  (const char *name, int af, struct hostent *ret, char *buf, size_t buflen, \
   struct hostent **result, int *h_errnop)
#define VF_gethostbyname2_r_ARGS (name, af, ret, buf, buflen, result, h_errnop)

#define VF_MANDATORY true
#define VF_OPTIONAL false

/* X(name, raw syscall number, mandatory) */
#define VF_HOOKED_CALLS(X) \
  X(bind, SYS_bind, VF_MANDATORY) \
  X(connect, SYS_connect, VF_MANDATORY) \
  X(sendto, SYS_sendto, VF_MANDATORY) \
  X(sendmsg, SYS_sendmsg, VF_MANDATORY) \
  X(sendmmsg, SYS_sendmmsg, VF_OPTIONAL) \
  X(getsockname, SYS_getsockname, VF_MANDATORY) \
  X(getpeername, SYS_getpeername, VF_MANDATORY) \
  X(accept, SYS_accept, VF_MANDATORY) \
  X(accept4, SYS_accept4, VF_OPTIONAL) \
  X(recvfrom, SYS_recvfrom, VF_MANDATORY) \
  X(recvmsg, SYS_recvmsg, VF_MANDATORY) \
  X(recvmmsg, SYS_recvmmsg, VF_OPTIONAL) \
  X(socket, SYS_socket, VF_MANDATORY) \
  X(close, SYS_close, VF_MANDATORY) \
  X(close_range, SYS_close_range, VF_OPTIONAL) \
  X(dup, SYS_dup, VF_MANDATORY) \
  X(dup2, VF_SYS_dup2, VF_MANDATORY) \
  X(dup3, SYS_dup3, VF_OPTIONAL)

/* X(name, raw syscall number, mandatory): the variadic ones */
#define VF_VARIADIC_CALLS(X) \
  X(fcntl, SYS_fcntl, VF_MANDATORY) \
  X(fcntl64, SYS_fcntl, VF_OPTIONAL)

/* X(name, unused, mandatory): the resolver calls, which have no syscall behind them */
#define VF_RESOLVER_CALLS(X) \
  X(getaddrinfo, 0, VF_MANDATORY) \
  X(gethostbyname, 0, VF_MANDATORY) \
  X(gethostbyname_r, 0, VF_MANDATORY) \
  X(gethostbyname2, 0, VF_OPTIONAL) \
  X(gethostbyname2_r, 0, VF_OPTIONAL)

/* Architectures without dup2(2) (arm64) only have dup3, which differs for fd == fd2 only. */
#ifdef SYS_dup2
#define VF_SYS_dup2 SYS_dup2
#define VF_REAL_SYSCALL_ARGS_dup2 (SYS_dup2, fd, fd2)
#else
#define VF_SYS_dup2 SYS_dup3
#define VF_REAL_SYSCALL_ARGS_dup2 (SYS_dup3, fd, fd2, 0)
#endif

/* The real functions, filled once by vf_init(); NULL when not found (then the raw syscall). */
struct vf_libc {
#define VF_LIBC_FIELD(name, sysno, mandatory) VF_##name##_RET(*name) VF_##name##_PARAMS;
  VF_HOOKED_CALLS(VF_LIBC_FIELD)
  VF_VARIADIC_CALLS(VF_LIBC_FIELD)
  VF_RESOLVER_CALLS(VF_LIBC_FIELD)
#undef VF_LIBC_FIELD
};
extern struct vf_libc vf_libc;

/*
 * Loads the real symbols, reads the environment and the rules: once per process, thread-safe.
 * `caller` names who came first (the constructor or a hook), for the debug log.
 */
void vf_init(const char *caller);

/* true while this thread runs shim code: hooked calls made from inside pass straight through. */
extern __thread int vf_in_shim __attribute__((tls_model("initial-exec")));

/* Forwarders: the real function, or the raw syscall when the symbol was not found. */
#define VF_REAL_FORWARDER(name, sysno, mandatory) \
  static inline VF_##name##_RET vf_real_##name VF_##name##_PARAMS { \
    if (vf_libc.name != NULL) return vf_libc.name VF_##name##_ARGS; \
    return (VF_##name##_RET)syscall VF_REAL_SYSCALL_ARGS_##name; \
  }
#define VF_REAL_SYSCALL_ARGS_bind (SYS_bind, fd, VF_SOCKADDR_PTR(addr), len)
#define VF_REAL_SYSCALL_ARGS_connect (SYS_connect, fd, VF_SOCKADDR_PTR(addr), len)
#define VF_REAL_SYSCALL_ARGS_sendto (SYS_sendto, fd, buf, n, flags, VF_SOCKADDR_PTR(addr), len)
#define VF_REAL_SYSCALL_ARGS_sendmsg (SYS_sendmsg, fd, msg, flags)
#define VF_REAL_SYSCALL_ARGS_sendmmsg (SYS_sendmmsg, fd, vec, vlen, flags)
#define VF_REAL_SYSCALL_ARGS_getsockname (SYS_getsockname, fd, VF_SOCKADDR_PTR(addr), len)
#define VF_REAL_SYSCALL_ARGS_getpeername (SYS_getpeername, fd, VF_SOCKADDR_PTR(addr), len)
#define VF_REAL_SYSCALL_ARGS_accept (SYS_accept, fd, VF_SOCKADDR_PTR(addr), len)
#define VF_REAL_SYSCALL_ARGS_accept4 (SYS_accept4, fd, VF_SOCKADDR_PTR(addr), len, flags)
#define VF_REAL_SYSCALL_ARGS_recvfrom \
  (SYS_recvfrom, fd, buf, n, flags, VF_SOCKADDR_PTR(addr), len)
#define VF_REAL_SYSCALL_ARGS_recvmsg (SYS_recvmsg, fd, msg, flags)
#define VF_REAL_SYSCALL_ARGS_recvmmsg (SYS_recvmmsg, fd, vec, vlen, flags, timeout)
#define VF_REAL_SYSCALL_ARGS_socket (SYS_socket, domain, type, protocol)
#define VF_REAL_SYSCALL_ARGS_close (SYS_close, fd)
#define VF_REAL_SYSCALL_ARGS_close_range (SYS_close_range, first, last, flags)
#define VF_REAL_SYSCALL_ARGS_dup (SYS_dup, fd)
#define VF_REAL_SYSCALL_ARGS_dup3 (SYS_dup3, fd, fd2, flags)
VF_HOOKED_CALLS(VF_REAL_FORWARDER)
#undef VF_REAL_FORWARDER

#define VF_REAL_VARIADIC_FORWARDER(name, sysno, mandatory) \
  static inline VF_##name##_RET vf_real_##name VF_##name##_FWD_PARAMS { \
    if (vf_libc.name != NULL) return vf_libc.name VF_##name##_FWD_ARGS; \
    return (VF_##name##_RET)syscall(sysno, fd, cmd, arg); \
  }
VF_VARIADIC_CALLS(VF_REAL_VARIADIC_FORWARDER)
#undef VF_REAL_VARIADIC_FORWARDER

/* The exported definition of a hooked call: VF_HOOK(bind) { ... } */
#define VF_HOOK(name) VF_EXPORT VF_##name##_RET name VF_##name##_PARAMS

/* ---- the published rules (reload.c) --------------------------------------------------------- */

/* true if VIPFARM_SESSION was set (and valid) at start: otherwise the shim does nothing at all. */
extern bool vf_session_enabled;

/* Reads the rules file for the first time (from vf_init). */
void vf_rules_start(const char *run_dir, const char *session, const struct vf_program *prog);
/*
 * Copies the current rules into *out, first re-reading the file if it is due (at most about once
 * per second). Returns false (and leaves *out inactive) when there are none.
 */
bool vf_rules_snapshot(struct vf_rules *out);

/* ---- the common hook path (hooks_common.c) -------------------------------------------------- */

/*
 * Decides what a hooked call on fd with bind/destination address addr does. Returns VF_REPLACE
 * (call the real function with out->addr / out->addr_len) or VF_PASS (call it with the original
 * arguments). When the last table row applies it binds the socket to V first and returns VF_PASS.
 * errno is left as it was. `flags` are the send flags (MSG_FASTOPEN makes a stream send a connect).
 */
enum vf_action vf_hook_prepare(const char *func, enum vf_call call, int fd,
                               const struct sockaddr *addr, socklen_t len, int flags,
                               struct vf_decision *out);

/*
 * After the real call with a VF_REPLACE decision: records in the fd table what the program used.
 * bind (after it succeeded): the local address, and for 127.0.0.1 also "L/V is 127.0.0.1" for
 * peers; connect / send (before the call, so a reply cannot overtake it): the remote part.
 */
void vf_hook_remember(int fd, enum vf_call call, const struct sockaddr *program_addr,
                      socklen_t len, const struct vf_decision *d);

enum vf_side { VF_SIDE_LOCAL, VF_SIDE_REMOTE };

/*
 * After a successful call that wrote an address into the program's buffer `addr`, whose size was
 * `given` and whose address length the kernel reported as `written`: shows the program's address
 * instead of L/V (design.md section 3, "What the program sees"). No-op for untracked fds.
 */
void vf_hook_show(int fd, enum vf_side side, void *addr, socklen_t given, socklen_t written);

/* true if fd may carry recorded state: a session is active and the table has an entry. */
static inline bool vf_hook_tracked(int fd) { return vf_session_enabled && vf_fd_tracked(fd); }

#endif
