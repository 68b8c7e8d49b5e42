/*
 * vipfarm preload shim: internal declarations shared by the source files.
 *
 * Layout (one concern per file):
 *   init.c           symbol loading (pthread_once + dlsym(RTLD_NEXT)), constructor, environment
 *   reload.c         the published rules table (double buffer + sequence), periodic re-read
 *   rules.c          parsing of the rules file (docs/rules-format.md) into struct vf_rules; pure
 *   addr.c           address classification and the rewrite decision (design.md section 3); pure
 *   program.c        the program's names (exe and argv[0] base names), glob matching
 *   log.c            stderr logging with once-only warnings
 *   fdtab.c          per-socket state: the addresses the program used where the kernel has L/V
 *   hooks_common.c   the path every hook shares: classify, decide, check the socket, pre-bind,
 *                    remember and show the program's addresses
 *   hooks_bind.c, hooks_connect.c, hooks_send.c   the rewriting wrappers
 *   hooks_names.c, hooks_accept.c, hooks_recv.c   the wrappers that report addresses back
 *   hooks_fd.c       socket, close, close_range, dup, dup2, dup3, fcntl: the fd table's bookkeeping
 *
 * rules.c, addr.c, program.c, log.c and fdtab.c do not depend on the preload machinery and are
 * linked into the unit tests directly.
 */
#ifndef VIPFARM_SHIM_H
#define VIPFARM_SHIM_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define VF_EXPORT __attribute__((visibility("default")))

/* ---- rules (rules.c) ------------------------------------------------------------------------ */

#define VF_MAX_EXCLUDED_PORTS 64
#define VF_MAX_HOST_ADDRESSES 32
#define VF_MAX_RULES_BYTES (64 * 1024)
#define VF_MAX_NAME 256

/* The program's names, against which the rules' globs are matched (fnmatch, no flags). */
struct vf_program {
  char exe[VF_MAX_NAME];   /* base name of /proc/self/exe, "" when unknown */
  char argv0[VF_MAX_NAME]; /* base name of argv[0], "" when unknown */
};

/*
 * The rules of one session, already resolved for this process: the file's globs were matched
 * against the program's names while parsing, so the hot path only compares addresses.
 * Fixed size, no pointers: it can be copied and published as a whole.
 */
struct vf_rules {
  bool active;            /* false: pass everything through (no, unreadable or invalid file) */
  bool has_loopback;      /* L applies to this program */
  bool has_vip;           /* V applies to this program */
  bool prefer_loopback;   /* 127.0.0.1 maps to L even though V applies */
  struct in_addr loopback; /* L */
  struct in_addr vip;      /* V */
  bool has_loopback6;      /* ::1 becomes loopback6 (set, and L applies to this program) */
  struct in6_addr loopback6;
  uint16_t excluded_ports[VF_MAX_EXCLUDED_PORTS]; /* host byte order */
  unsigned n_excluded_ports;
  struct in6_addr host_addresses[VF_MAX_HOST_ADDRESSES]; /* IPv4 ones stored v4-mapped */
  unsigned n_host_addresses;
};

enum vf_parse_status { VF_PARSE_OK = 0, VF_PARSE_INVALID = 1 };

/*
 * Parses the text of a rules file (not NUL-terminated, len bytes) for the program `prog` in
 * session `session` (may be NULL: not checked). On success fills *out (active = true). On failure
 * *out is left inactive and `error` (size error_len) says why, with the line number.
 */
enum vf_parse_status vf_rules_parse(const char *text, size_t len, const char *session,
                                    const struct vf_program *prog, struct vf_rules *out,
                                    char *error, size_t error_len);

bool vf_rules_port_excluded(const struct vf_rules *r, uint16_t port);

/*
 * The file as written, before it is resolved for one program: what the kernel path needs (it
 * matches the globs itself, against the command name, in the kernel). Filled by
 * vf_rules_parse_file, which checks the file exactly as vf_rules_parse does, plus the limits below.
 */
#define VF_MAX_FILE_GLOBS 16
#define VF_MAX_ALLOW_UIDS 16
enum vf_glob_list { VF_GLOBS_LOOPBACK, VF_GLOBS_VIP, VF_GLOBS_PREFER, VF_GLOBS_PROGRAM_VIP };
struct vf_rules_file {
  char session[64];
  bool loopback_set, loopback6_set, vip_set;
  struct in_addr loopback, vip;
  struct in6_addr loopback6;
  bool loopback_programs_seen, vip_programs_seen; /* absent list = all programs */
  struct {
    enum vf_glob_list list;
    char glob[VF_MAX_NAME];
    struct in_addr ip; /* VF_GLOBS_PROGRAM_VIP */
  } globs[VF_MAX_FILE_GLOBS];
  unsigned n_globs;
  uint16_t excluded_ports[VF_MAX_EXCLUDED_PORTS];
  unsigned n_excluded_ports;
  struct in6_addr host_addresses[VF_MAX_HOST_ADDRESSES];
  unsigned n_host_addresses;
  bool isolation;
  uint32_t allow_uids[VF_MAX_ALLOW_UIDS];
  unsigned n_allow_uids;
};

enum vf_parse_status vf_rules_parse_file(const char *text, size_t len, struct vf_rules_file *out,
                                         char *error, size_t error_len);

/* ---- addresses and the rewrite decision (addr.c) -------------------------------------------- */

/* What the program does with the address. */
enum vf_call {
  VF_CALL_BIND,    /* bind */
  VF_CALL_CONNECT, /* connect, sendto(MSG_FASTOPEN) on a stream socket */
  VF_CALL_SEND,    /* sendto / sendmsg with a destination on a datagram socket */
};

enum vf_action {
  VF_PASS,        /* call the real function with the original arguments */
  VF_REPLACE,     /* call it with `addr` instead (same family, same port, same length) */
  VF_BIND_SOURCE, /* if the socket is unbound, first bind it to `source`; then the original call */
};

/* Address classes of design.md section 3, after normalising v4-mapped IPv6 to IPv4. */
enum vf_addr_class {
  VF_ADDR_OTHER_FAMILY, /* not AF_INET/AF_INET6, NULL or too short: never ours */
  VF_ADDR_WILDCARD,     /* 0.0.0.0, ::, ::ffff:0.0.0.0 */
  VF_ADDR_LOCALHOST,    /* 127.0.0.1, ::ffff:127.0.0.1 */
  VF_ADDR_V6_LOOPBACK,  /* ::1 (becomes the session's loopback6 when the rules give one) */
  VF_ADDR_V4,           /* any other IPv4 (or v4-mapped) address */
  VF_ADDR_V6,           /* any other native IPv6 address */
};

struct vf_decision {
  enum vf_action action;
  struct sockaddr_storage addr; /* VF_REPLACE: the rewritten address */
  socklen_t addr_len;
  struct in_addr source;        /* VF_BIND_SOURCE: V, to bind as V or ::ffff:V with port 0 */
  struct in_addr target;        /* VF_REPLACE: the IPv4 address written (L or V) */
  enum vf_addr_class cls;       /* the class of the program's address */
  const char *why;              /* a short rule name, for debug logging */
};

/* The parts of a socket address the decision needs. */
struct vf_sockaddr {
  enum vf_addr_class cls;
  int family;            /* AF_INET / AF_INET6 (of the sockaddr, not of the socket) */
  uint16_t port;         /* host byte order */
  struct in_addr v4;     /* valid for IPv4 and v4-mapped addresses */
  struct in6_addr v6;    /* the IPv6 address as given (v4-mapped for AF_INET: ::ffff:a.b.c.d) */
};

void vf_sockaddr_classify(const struct sockaddr *addr, socklen_t len, struct vf_sockaddr *out);

/*
 * The rewrite decision, a pure function of the rules and the call: design.md section 3 / the
 * table of docs/rules-format.md. `v6only` is only consulted for binds of wildcard or host
 * addresses on AF_INET6 (whether ::ffff:V is possible). Never changes the port.
 */
void vf_decide(const struct vf_rules *r, enum vf_call call, const struct sockaddr *addr,
               socklen_t len, bool v6only, struct vf_decision *out);

/* Writes the address text of `addr` ("127.0.0.8:80", "[::ffff:127.0.0.8]:80") into buf. */
void vf_sockaddr_format(const struct sockaddr *addr, socklen_t len, char *buf, size_t buf_len);

/* ---- per-socket state (fdtab.c) ------------------------------------------------------------ */

/* fds from VF_FD_MAX up are never recorded: their addresses are reported as the kernel has them. */
#define VF_FD_MAX 65536

/*
 * What one socket's program used where the kernel holds L or V.
 *   local:  the bind was rewritten; a local address local_real is shown as local_shown (the
 *           address the program bound: 0.0.0.0, ::, 127.0.0.1, ::ffff:127.0.0.1, a host address;
 *           stored as IPv6, v4-mapped for IPv4).
 *   remote: the program's 127.0.0.1 became remote_real (connect/send to 127.0.0.1, or a bind of
 *           127.0.0.1): a peer or datagram source remote_real is shown as 127.0.0.1
 *           (::ffff:127.0.0.1 on an IPv6 socket).
 */
struct vf_fd_state {
  bool has_local;
  struct in_addr local_real;
  struct in6_addr local_shown;
  bool has_remote;
  struct in_addr remote_real;
  /* the program used ::1 where the kernel has the session's loopback6 (locally / as the peer) */
  bool local_lb6, remote_lb6;
};

/* Cheap (one relaxed load): is anything recorded for fd? */
bool vf_fd_tracked(int fd);
/* Copies fd's state into *out; false (and *out empty) when nothing is recorded or it is busy. */
bool vf_fd_get(int fd, struct vf_fd_state *out);
/* Replaces fd's whole state (dup, accept); an empty state clears it. */
void vf_fd_put(int fd, const struct vf_fd_state *s);
void vf_fd_clear(int fd);
/* close_range(first, last): clears every recorded fd in [first, last]. */
void vf_fd_clear_range(unsigned int first, unsigned int last);
/* dup(from) == to: `to` gets from's state (or none). */
void vf_fd_copy(int from, int to);
void vf_fd_record_local(int fd, struct in_addr real, const struct in6_addr *shown);
void vf_fd_record_remote(int fd, struct in_addr real);
/* ::1 became the session's loopback6: by a bind (local and remote) or a connect/send (remote). */
void vf_fd_record_lb6(int fd, bool local);
/*
 * accept(listener) returned fd: fd gets the listener's remote part, and its local part unless the
 * listener was bound to a wildcard (a connection really arrives at V; V is shown).
 */
void vf_fd_accepted(int listener, int fd);

/*
 * In a buffer where the kernel wrote a socket address of which `present` bytes are valid: replace
 * the recorded L/V by what the program used. Pure; true if something changed. Only an address
 * equal to local_real / remote_real is replaced, never the port or any other field.
 */
bool vf_show_local(const struct vf_fd_state *s, void *addr, socklen_t present);
bool vf_show_remote(const struct vf_fd_state *s, void *addr, socklen_t present);
/* An AF_INET6 address equal to lb6 (the session's loopback6) is shown as ::1. */
bool vf_show_lb6(const struct in6_addr *lb6, void *addr, socklen_t present);

/* ---- the host's own name (hostname.c) ----------------------------------------------------- */

/*
 * true if `node` names this host: equal (ignoring case and one trailing dot) to `hostname`, to its
 * first label, or to `canonical` (may be NULL). Never for "localhost" or "localhost.*".
 */
bool vf_is_own_name(const char *node, const char *hostname, const char *canonical);
/* true if node starts with hostname's first label and a dot: only then is the FQDN worth knowing. */
bool vf_name_might_be_fqdn(const char *node, const char *hostname);
/*
 * The address the host's own name resolves to for this program: L when it prefers loopback and L
 * applies, else V when V applies. false: the name resolves as without vipfarm.
 */
bool vf_own_name_target(const struct vf_rules *r, struct in_addr *out);

/* ---- program names (program.c) -------------------------------------------------------------- */

/* Fills prog from /proc/self/exe and program_invocation_name. */
void vf_program_detect(struct vf_program *prog);
/* Base name of a path ("" for NULL), as a pointer into path. */
const char *vf_basename(const char *path);
/* true if glob matches the exe or the argv[0] base name. */
bool vf_program_matches(const struct vf_program *prog, const char *glob);

/* ---- logging (log.c) ------------------------------------------------------------------------ */

enum vf_log_level { VF_LOG_OFF = 0, VF_LOG_ERROR, VF_LOG_WARN, VF_LOG_INFO, VF_LOG_DEBUG };

/* Warnings printed at most once per process, whatever happens after. */
enum vf_once {
  VF_ONCE_NO_RUN_DIR,
  VF_ONCE_BAD_SESSION,
  VF_ONCE_RULES_MISSING,
  VF_ONCE_RULES_UNREADABLE,
  VF_ONCE_RULES_INVALID,
  VF_ONCE_SYMBOL_MISSING,
  VF_ONCE_PREBIND_FAILED,
  VF_ONCE_COUNT
};

/* Reads VIPFARM_SHIM_LOG: off|error|warn|info|debug or 0..4; default warn. */
void vf_log_init(const char *env_value);
bool vf_log_enabled(enum vf_log_level level);
void vf_log(enum vf_log_level level, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs at WARN the first time `which` is reported in this process; later calls do nothing. */
void vf_log_once(enum vf_once which, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define VF_ERROR(...) vf_log(VF_LOG_ERROR, __func__, __VA_ARGS__)
#define VF_WARN(...) vf_log(VF_LOG_WARN, __func__, __VA_ARGS__)
#define VF_INFO(...) vf_log(VF_LOG_INFO, __func__, __VA_ARGS__)
#define VF_DEBUG(...) \
  do { \
    if (vf_log_enabled(VF_LOG_DEBUG)) vf_log(VF_LOG_DEBUG, __func__, __VA_ARGS__); \
  } while (0)

#endif
