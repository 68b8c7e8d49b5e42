/*
 * The hooked calls, declared once.
 *
 * For each call NAME: VF_NAME_RET, VF_NAME_PARAMS and VF_NAME_ARGS give its signature and the
 * forwarding argument list; VF_HOOKED_CALLS lists the calls with their raw syscall number (the
 * fallback when the real symbol cannot be found) and whether the symbol is mandatory. The struct
 * of real pointers, the forwarding functions vf_real_NAME and the exported definitions (VF_HOOK)
 * are all generated from these, so they cannot drift apart.
 */
#ifndef VIPFARM_HOOKS_H
#define VIPFARM_HOOKS_H

#include "shim.h"

#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc declares bind/connect/sendto with a transparent union when _GNU_SOURCE is set. */
#if defined(__GLIBC__) && defined(__USE_GNU)
#define VF_SOCKADDR_ARG __CONST_SOCKADDR_ARG
#define VF_SOCKADDR_PTR(a) ((a).__sockaddr__)
#else
#define VF_SOCKADDR_ARG const struct sockaddr *
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

#define VF_MANDATORY true
#define VF_OPTIONAL false

/* X(name, raw syscall number, mandatory) */
#define VF_HOOKED_CALLS(X) \
  X(bind, SYS_bind, VF_MANDATORY) \
  X(connect, SYS_connect, VF_MANDATORY) \
  X(sendto, SYS_sendto, VF_MANDATORY) \
  X(sendmsg, SYS_sendmsg, VF_MANDATORY) \
  X(sendmmsg, SYS_sendmmsg, VF_OPTIONAL)

/* The real functions, filled once by vf_init(); NULL when not found (then the raw syscall). */
struct vf_libc {
#define VF_LIBC_FIELD(name, sysno, mandatory) VF_##name##_RET(*name) VF_##name##_PARAMS;
  VF_HOOKED_CALLS(VF_LIBC_FIELD)
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
VF_HOOKED_CALLS(VF_REAL_FORWARDER)
#undef VF_REAL_FORWARDER

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

#endif
