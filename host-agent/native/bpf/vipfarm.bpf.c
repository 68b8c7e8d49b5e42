/*
 * vipfarm kernel path: the twelve cgroup socket-address hooks (design.md section 3, the rewrite
 * table of docs/rules-format.md, and "What the program sees"), and post_bind4/6, which note the TCP
 * sockets bound as 127.0.0.1 where the kernel holds V (`bound`).
 *
 * Attached once per host to the parent cgroup of the sessions; a process belongs to session S when
 * its cgroup, or an ancestor at most VFB_ANCESTOR_LEVELS below the parent, has an entry in
 * `sessions`. No entry: the call passes untouched (never an error).
 *
 *   bind4/6         127.0.0.1 (::ffff:127.0.0.1) -> L, or V when V applies and the program does
 *                   not prefer loopback; 0.0.0.0 / :: / a host address -> V (::ffff:V);
 *                   ::1 -> the session's loopback6.
 *   connect4/6      the same for 127.0.0.1 / ::1; a socket that connects elsewhere while unbound
 *                   is first bound to V port 0 (bpf_bind), so the traffic leaves from V. UDP
 *                   connect to 127.0.0.1 also binds to the target first (the server's replies go
 *                   to its "127.0.0.1", i.e. the target).
 *   sendmsg4/6      the same for datagrams; the source V is set per datagram (msg_src_ip).
 *   recvmsg4/6, getpeername4/6, getsockname4/6
 *                   report what the program used: per-socket storage remembers the rewrites
 *                   where nothing else can tell (a TCP connection without storage asks its
 *                   listener; a peer its storage does not know is asked about its own listener;
 *                   a client of a listener noted in `bound` gets none);
 *                   besides, L shows as 127.0.0.1 and the loopback6 as ::1.
 *   isolation       connect/sendmsg to another session's loopback (v4 or v6) is refused with
 *                   ECONNREFUSED, unless that session has isolation off or the caller's uid is in
 *                   its allow list; bind to it gets EACCES.
 *
 * Program names: the thread's command name (bpf_get_current_comm, at most 15 bytes) is matched
 * against the session's compiled globs once per (session cgroup, name, rules generation) and the
 * result kept in an LRU map; the matcher is a bit-parallel NFA with fixed loop bounds. A name of
 * 15 bytes may have been cut by the kernel: it also matches when the glob's text runs on past the
 * cut (its last byte matched by a literal, '?' or set element).
 *
 * Per socket: a socket that has storage keeps its first caller's session lookup under the rules epoch
 * (`begin`), so a socket that keeps sending pays neither the ancestor walk nor the lookups; a
 * datagram to 127.0.0.1 from such a socket takes a short path from that cache (`send_localhost`);
 * vf_sendmsg4 answers the next ones from the storage read in place, without a helper call
 * (`send_target_in_place`; vf_sendmsg4_compat where the kernel refuses that read).
 */
#include <linux/bpf.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "vipfarm_bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define ECONNREFUSED 111
#define EACCES 13

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, VFB_MAX_SESSIONS);
  __type(key, __u64);
  __type(value, struct vfb_session);
} sessions SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(max_entries, 2 * VFB_MAX_SESSIONS);
  __type(key, struct vfb_owner_key);
  __type(value, struct vfb_owner);
} owners SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct vfb_prog_key);
  __type(value, struct vfb_prog);
} progs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct vfb_config);
} config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} epoch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 16384);
  __type(key, struct vfb_bound_key);
  __type(value, struct vfb_bound);
} bound SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_SK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC); /* no BPF_F_CLONE: see listener_view() */
  __type(key, int);
  __type(value, struct vfb_sock);
} socks SEC(".maps");

/*
 * The one kernel-internal field we read: IPV6_V6ONLY of the socket (bpf_getsockopt does not offer
 * it). CO-RE: only the names matter, libbpf finds the offsets in the running kernel's BTF.
 */
struct sock_common {
  unsigned char skc_ipv6only : 1;
} __attribute__((preserve_access_index));
struct sock {
  struct sock_common __sk_common;
  struct bpf_local_storage *sk_bpf_storage;
} __attribute__((preserve_access_index));

/*
 * What bpf_sk_storage_get() looks at first, read in place by vf_sendmsg4 (see send_target_in_place):
 * a socket's BPF storage keeps a small cache of pointers to its maps' values, and a map knows its
 * slot there. Helper calls cost ~25 ns each where `ret` is mitigated (AMD's SRSO safe RET), more
 * than the rest of a datagram's rules.
 */
struct bpf_local_storage_map {
  __u16 cache_idx;
} __attribute__((preserve_access_index));
struct bpf_local_storage_data {
  struct bpf_local_storage_map *smap;
  __u8 data[0];
} __attribute__((preserve_access_index));
struct bpf_local_storage {
  struct bpf_local_storage_data *cache[16];
} __attribute__((preserve_access_index));
struct bpf_sock_addr_kern {
  struct sock *sk;
} __attribute__((preserve_access_index));
/* weak: a kernel without them fails to load vf_sendmsg4 only, and gets vf_sendmsg4_compat */
extern void *bpf_cast_to_kern_ctx(void *) __ksym __weak;
extern void *bpf_rdonly_cast(const void *, __u32) __ksym __weak;

/*
 * What one call works with: the session, and its rules resolved for this program. From the
 * socket's cache the session entry itself is not looked up: `session()` does it when a rule needs
 * more than the fields kept here.
 */
struct hook {
  struct vfb_session *s; /* NULL: not looked up (yet), or not in a session */
  struct vfb_sock *st;   /* the socket's storage if it had one already */
  __u64 cgroup_id;       /* the session's cgroup; 0: not in a session */
  __u32 flags;           /* VFB_P_* */
  __u32 vip;
  __u32 loopback4, session_flags, n_ports;
};

#define LOCALHOST4 bpf_htonl(0x7f000001)
#define barrier() asm volatile("" ::: "memory")
#define MAPPED_PREFIX bpf_htonl(0x0000ffff)

/* ---- program names ------------------------------------------------------------------------ */

struct comm {
  char c[VFB_COMM_LEN];
};

/*
 * Glob match without backtracking: bit k of `state` = the first k elements matched the name so
 * far. A '*' keeps its bit on every byte but NUL and passes it on without consuming; any other
 * element passes it on when the byte is in its set. All branch-free with constant bounds, so the
 * verifier walks it once. A global function: verified once per program, not per call.
 */
static __always_inline __u64 closure(__u64 state, __u64 stars) {
  for (int k = 0; k < VFB_GLOB_ELEMS; k++) state |= ((state >> k) & (stars >> k) & 1) << (k + 1);
  return state;
}

__attribute__((noinline)) int glob_match(const struct vfb_glob *g, const struct comm *name) {
  if (!g || !name) return 0;
  __u32 n = g->n_elems;
  if (n > VFB_GLOB_ELEMS) return 0;
  __u64 stars = g->star_mask;
  __u64 state = closure(1, stars);
  __u64 accepted = 0;
  __u64 literal = 0; /* the states the previous byte reached through a non-'*' element */
  for (int i = 0; i < VFB_COMM_LEN; i++) {
    __u64 c = (__u8)name->c[i];
    __u64 at_end = (c - 1) >> 63; /* 1 when c == 0 */
    accepted |= (state >> n) & at_end;
    if (i == VFB_COMM_LEN - 1) {
      /* A 15-byte name may be a longer one cut by the kernel: it also matches when its last byte
         was matched by a literal, '?' or set element (the glob's text runs on past the cut). */
      __u64 full = (0 - (__u64)(__u8)name->c[VFB_COMM_LEN - 2]) >> 63;
      accepted |= full & ((literal | (0 - literal)) >> 63);
    }
    __u64 next = 0;
    literal = 0;
    for (int k = 0; k < VFB_GLOB_ELEMS; k++) {
      __u64 on = (state >> k) & 1;
      __u64 star = (stars >> k) & 1;
      __u64 in = (g->sets[k][c >> 3] >> (c & 7)) & 1;
      next |= (on & star & (at_end ^ 1)) << k;
      literal |= (on & in & (star ^ 1)) << (k + 1);
    }
    state = closure(next | literal, stars);
  }
  return accepted & 1;
}

/* The VFB_P_* flags (and the VIP in *vip) from which of the session's glob lists matched. */
static __always_inline int rules_flags(const struct vfb_session *s, __u64 matched, __u64 pv_found,
                                       __u32 pv, __u32 *vip) {
  __u32 sflags = s->flags;
  int flags = 0;
  if ((sflags & VFB_LOOPBACK) &&
      (!(sflags & VFB_LOOPBACK_PROGRAMS) || (matched & (1 << VFB_GLOBS_LOOPBACK)))) {
    flags |= VFB_P_LOOPBACK;
  }
  *vip = 0;
  if (pv_found) {
    flags |= VFB_P_VIP;
    *vip = pv;
  } else if ((sflags & VFB_VIP) && (!(sflags & VFB_VIP_PROGRAMS) || (matched & (1 << VFB_GLOBS_VIP)))) {
    flags |= VFB_P_VIP;
    *vip = s->vip4;
  }
  if (matched & (1 << VFB_GLOBS_PREFER)) flags |= VFB_P_PREFER;
  return flags;
}

/*
 * The session's rules resolved for one command name: VFB_P_* flags, and the VIP in *vip. A global
 * function, branch-free over the globs: the verifier walks it once.
 */
__attribute__((noinline)) int resolve_globs(const struct vfb_session *s, const struct comm *name,
                                            __u32 *vip) {
  if (!s || !name || !vip) return 0;
  __u32 n_globs = s->n_globs;
  __u64 matched = 0; /* bit (1 << list) */
  __u64 pv_found = 0;
  __u32 pv = 0;
  for (int i = 0; i < VFB_MAX_GLOBS; i++) {
    if (i >= n_globs) break;
    const struct vfb_glob *g = &s->globs[i];
    __u64 m = glob_match(g, name) & 1;
    __u64 list = g->list & 3;
    matched |= m << list;
    __u64 take = m & (((list ^ VFB_GLOBS_PROGRAM_VIP) - 1) >> 63) & (pv_found ^ 1);
    __u32 mask = (__u32)(0 - take);
    pv = (pv & ~mask) | (g->ip & mask); /* the first matching program-vip line wins */
    pv_found |= take;
  }
  return rules_flags(s, matched, pv_found, pv, vip);
}

/* The session's rules for the calling program (cached per command name and generation). */
static __always_inline void resolve(struct hook *h) {
  struct vfb_session *s = h->s;
  struct vfb_prog_key key = {.cgroup_id = h->cgroup_id};
  __u32 vip = 0;
  if (s->n_globs == 0) { /* no program lists: the same rules for every program */
    h->flags = rules_flags(s, 0, 0, 0, &vip);
    h->vip = vip;
    return;
  }
  bpf_get_current_comm(key.comm, sizeof key.comm);
  struct vfb_prog *cached = bpf_map_lookup_elem(&progs, &key);
  if (cached && cached->generation == s->generation) {
    h->flags = cached->flags;
    h->vip = cached->vip4;
    return;
  }
  h->flags = resolve_globs(s, (struct comm *)key.comm, &vip);
  h->vip = vip;
  struct vfb_prog value = {.generation = s->generation, .flags = h->flags, .vip4 = vip};
  bpf_map_update_elem(&progs, &key, &value, BPF_ANY);
}

/* The caller's session: its cgroup or an ancestor at most VFB_ANCESTOR_LEVELS below the parent. */
static __always_inline struct vfb_session *find_session(__u64 *cgroup_id) {
  __u32 zero = 0;
  struct vfb_config *cfg = bpf_map_lookup_elem(&config, &zero);
  if (!cfg || cfg->session_level == 0) return 0;
  __u32 level = cfg->session_level;
  for (int i = 0; i < VFB_ANCESTOR_LEVELS; i++) {
    __u64 id = bpf_get_current_ancestor_cgroup_id(level + i);
    if (id == 0) return 0;
    struct vfb_session *s = bpf_map_lookup_elem(&sessions, &id);
    if (s) {
      *cgroup_id = id;
      return s;
    }
  }
  return 0;
}

/* The socket's cache was made in this epoch (and, if it matters, for this command name). */
static __always_inline int cache_for(const struct vfb_sock *st, __u64 now, const __u64 *comm) {
  return st->epoch == now && now != 0 && (!st->by_name || (comm[0] == st->comm[0] && comm[1] == st->comm[1]));
}

/*
 * Finds the caller's session and its rules for this program; false: not in a session. A socket
 * that has storage keeps the answer of its first caller (and command name, when the session has
 * program lists) under the current epoch, so a socket that keeps sending skips the ancestor walk
 * and the lookups; a new epoch after every `set` and `clear` invalidates it. The cache is the
 * socket's, not the caller's: like the kernel, which runs the programs of the cgroup that created
 * a socket, a socket keeps the session it was first used in (a descriptor handed to a process of
 * another session keeps it until the next epoch). Not keyed by the caller's cgroup id because
 * that is one more helper call (~35 ns here) on every datagram.
 */
static __always_inline int begin_at(struct hook *h, __u64 now, struct vfb_sock *st) {
  h->s = 0;
  h->st = 0;
  h->cgroup_id = 0;
  h->flags = 0;
  h->vip = 0;
  h->loopback4 = 0;
  h->session_flags = 0;
  h->n_ports = 0;
  h->st = st;
  __u64 comm[VFB_COMM_LEN / 8] = {0, 0};
  if (st && st->by_name) bpf_get_current_comm(comm, sizeof comm);
  if (st && cache_for(st, now, comm)) {
    __u64 session_cgroup = st->session_cgroup;
    __u32 flags = st->cache_flags, vip = st->vip4, loopback4 = st->loopback4;
    __u32 session_flags = st->session_flags, n_ports = st->n_ports;
    barrier();
    /* still the same key: no other thread began to refill it meanwhile */
    if (cache_for(st, now, comm)) {
      h->cgroup_id = session_cgroup;
      h->flags = flags;
      h->vip = vip;
      h->loopback4 = loopback4;
      h->session_flags = session_flags;
      h->n_ports = n_ports;
      return session_cgroup != 0;
    }
  }
  struct vfb_session *s = find_session(&h->cgroup_id);
  h->s = s;
  if (s) {
    resolve(h);
    h->loopback4 = s->loopback4;
    h->session_flags = s->flags;
    h->n_ports = s->n_ports;
  }
  if (st) { /* the key last (x86 keeps stores in order): readers never take half an entry */
    st->epoch = 0;
    barrier();
    st->by_name = s && s->n_globs != 0;
    if (st->by_name) bpf_get_current_comm(st->comm, sizeof st->comm);
    st->session_cgroup = h->cgroup_id;
    st->cache_flags = h->flags;
    st->vip4 = h->vip;
    st->loopback4 = h->loopback4;
    st->session_flags = h->session_flags;
    st->n_ports = h->n_ports;
    st->send_target = 0;
    barrier();
    st->epoch = now;
  }
  return s != 0;
}

enum call { CALL_BIND, CALL_CONNECT, CALL_SEND };

/* The rules epoch now; read before the session lookup: a `set` after it makes a new epoch. */
static __always_inline __u64 epoch_now(void) {
  __u32 zero = 0;
  __u64 *ep = bpf_map_lookup_elem(&epoch, &zero);
  return ep ? *ep : 0;
}

/* The socket's storage if it has one (no allocation). */
static __always_inline struct vfb_sock *sock_storage(struct bpf_sock_addr *ctx) {
  struct bpf_sock *sk = ctx->sk;
  return sk ? bpf_sk_storage_get(&socks, sk, 0, 0) : 0;
}

/*
 * begin_at() for a bind or connect: with the socket's storage (and its cache) only where a later call
 * can use it. A bind, and a TCP connect, happen once per socket (a TCP socket never reaches the
 * datagram hooks, and the names it is asked for come from the addresses in its storage, not from the
 * cache): the cache such a call could read or refill is never used, so its storage is not looked up
 * (a helper call); remember() finds or creates it when a rewrite must be remembered. A UDP connect
 * keeps it: a socket that sends, or connects again, uses its cache.
 */
static __always_inline int begin(struct bpf_sock_addr *ctx, struct hook *h, enum call call) {
  if (call == CALL_BIND || (call == CALL_CONNECT && ctx->type == SOCK_STREAM)) return begin_at(h, 0, 0);
  __u64 now = epoch_now();
  return begin_at(h, now, sock_storage(ctx));
}

/* The session's entry (NULL when it went away since the socket's cache was made). */
static __always_inline struct vfb_session *session(struct hook *h) {
  if (!h->s && h->cgroup_id) h->s = bpf_map_lookup_elem(&sessions, &h->cgroup_id);
  return h->s;
}

/* ---- rule helpers ------------------------------------------------------------------------- */

static __always_inline int port_excluded(struct hook *h, __u32 user_port) {
  if (h->n_ports == 0) return 0;
  const struct vfb_session *s = session(h);
  if (!s) return 0;
  __u16 port = bpf_ntohs((__u16)user_port);
  __u32 n = s->n_ports;
  for (int i = 0; i < VFB_MAX_PORTS; i++) {
    if (i >= n) break;
    if (s->ports[i] == port) return 1;
  }
  return 0;
}

static __always_inline int same6(const __u32 *a, const __u32 *b) {
  return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
}

static __always_inline int is_host(struct hook *h, const __u32 *a) {
  const struct vfb_session *s = session(h);
  if (!s) return 0;
  __u32 n = s->n_hosts;
  for (int i = 0; i < VFB_MAX_HOSTS; i++) {
    if (i >= n) break;
    if (same6(s->hosts[i], a)) return 1;
  }
  return 0;
}

static __always_inline int is_127(__u32 ip) { return (bpf_ntohl(ip) >> 24) == 127; }

/* Where 127.0.0.1 goes for this program: L, or V when V applies and it does not prefer loopback. */
static __always_inline int localhost_target(const struct hook *h, __u32 *target) {
  if (!(h->flags & VFB_P_LOOPBACK)) return 0;
  *target = (h->flags & VFB_P_VIP) && !(h->flags & VFB_P_PREFER) ? h->vip : h->loopback4;
  return 1;
}

static __always_inline int has_loopback6(const struct hook *h) {
  return (h->flags & VFB_P_LOOPBACK) && (h->session_flags & VFB_LOOPBACK6);
}

static __always_inline void mapped(__u32 *a, __u32 ip) {
  a[0] = 0;
  a[1] = 0;
  a[2] = MAPPED_PREFIX;
  a[3] = ip;
}

static __always_inline int is_mapped(const __u32 *a) {
  return a[0] == 0 && a[1] == 0 && a[2] == MAPPED_PREFIX;
}

static __always_inline int is_any6(const __u32 *a) { return (a[0] | a[1] | a[2] | a[3]) == 0; }

static __always_inline int is_lo6(const __u32 *a) {
  return a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == bpf_htonl(1);
}

static __always_inline int stream_or_dgram(const struct bpf_sock_addr *ctx) {
  return ctx->type == SOCK_STREAM || ctx->type == SOCK_DGRAM;
}

static __always_inline void read6(const struct bpf_sock_addr *ctx, __u32 *a) {
  a[0] = ctx->user_ip6[0];
  a[1] = ctx->user_ip6[1];
  a[2] = ctx->user_ip6[2];
  a[3] = ctx->user_ip6[3];
}

static __always_inline void write6(struct bpf_sock_addr *ctx, const __u32 *a) {
  ctx->user_ip6[0] = a[0];
  ctx->user_ip6[1] = a[1];
  ctx->user_ip6[2] = a[2];
  ctx->user_ip6[3] = a[3];
}

/* Notes in the socket's storage that the kernel holds `real` where the program used `shown`. */
static __always_inline void note(struct vfb_sock *st, __u32 which, const __u32 *real,
                                 const __u32 *shown) {
  struct vfb_addrs *m = &st->m;
  if ((m->flags & which) && which == VFB_S_REMOTE && same6(m->remote_real, real) &&
      same6(m->remote_shown, shown)) {
    return; /* a socket that keeps sending to 127.0.0.1: nothing new */
  }
  if (which == VFB_S_LOCAL) {
    __builtin_memcpy(m->local_real, real, 16);
    __builtin_memcpy(m->local_shown, shown, 16);
  } else {
    __builtin_memcpy(m->remote_real, real, 16);
    __builtin_memcpy(m->remote_shown, shown, 16);
  }
  m->flags |= which;
}

/* Remembers, for the way back, that the kernel holds `real` where the program used `shown`. */
static __always_inline void remember(struct bpf_sock_addr *ctx, struct hook *h, __u32 which,
                                     const __u32 *real, const __u32 *shown) {
  struct vfb_sock *st = h->st;
  if (!st) {
    struct bpf_sock *sk = ctx->sk;
    if (!sk) return;
    st = bpf_sk_storage_get(&socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
    if (!st) return;
    h->st = st;
  }
  note(st, which, real, shown);
}

/* The caller may not reach `addr` (a v4-mapped or IPv6 loopback of another isolated session). */
static __always_inline int refused(const struct hook *h, const __u32 *addr) {
  struct vfb_owner_key key;
  __builtin_memcpy(key.addr, addr, 16);
  struct vfb_owner *o = bpf_map_lookup_elem(&owners, &key);
  if (!o || !o->isolation || o->cgroup_id == h->cgroup_id) return 0;
  __u32 uid = (__u32)bpf_get_current_uid_gid();
  __u32 n = o->n_uids;
  for (int i = 0; i < VFB_MAX_UIDS; i++) {
    if (i >= n) break;
    if (o->uids[i] == uid) return 0;
  }
  return 1;
}

static __always_inline int refuse(int err) {
  bpf_set_retval(-err);
  return 0;
}

static __always_inline int sk_unbound4(const struct bpf_sock_addr *ctx) {
  struct bpf_sock *sk = ctx->sk;
  return sk && sk->src_ip4 == 0 && sk->src_port == 0;
}

static __always_inline int sk_unbound6(const struct bpf_sock_addr *ctx) {
  struct bpf_sock *sk = ctx->sk;
  if (!sk || sk->src_port != 0) return 0;
  return (sk->src_ip6[0] | sk->src_ip6[1] | sk->src_ip6[2] | sk->src_ip6[3]) == 0;
}

static __always_inline void bind_source4(struct bpf_sock_addr *ctx, __u32 ip) {
  struct bpf_sock_addr_in {
    __u16 family;
    __u16 port;
    __u32 addr;
    __u8 zero[8];
  } sa = {.family = AF_INET, .addr = ip};
  bpf_bind(ctx, (struct sockaddr *)&sa, sizeof sa);
}

static __always_inline void bind_source6(struct bpf_sock_addr *ctx, const __u32 *a) {
  struct bpf_sock_addr_in6 {
    __u16 family;
    __u16 port;
    __u32 flowinfo;
    __u32 addr[4];
    __u32 scope_id;
  } sa = {.family = AF_INET6};
  __builtin_memcpy(sa.addr, a, 16);
  bpf_bind(ctx, (struct sockaddr *)&sa, sizeof sa);
}

/* ---- listeners ---------------------------------------------------------------------------- */

/* The TCP socket at `addr` (v4-mapped or IPv6) and `port` (network byte order), to be released. */
static __always_inline struct bpf_sock *tcp_at(struct bpf_sock_addr *ctx, const __u32 *addr, __u16 port) {
  struct bpf_sock_tuple t = {};
  __u32 size;
  if (is_mapped(addr)) {
    t.ipv4.daddr = addr[3];
    t.ipv4.dport = port;
    size = sizeof t.ipv4;
  } else {
    __builtin_memcpy(t.ipv6.daddr, addr, 16);
    t.ipv6.dport = port;
    size = sizeof t.ipv6;
  }
  return bpf_sk_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
}

/*
 * The storage of the TCP listener at `addr` (v4-mapped or IPv6) and `port` (network byte order),
 * copied to *m; false: none there, or it has no storage.
 */
static __always_inline int listener_at(struct bpf_sock_addr *ctx, const __u32 *addr, __u16 port,
                                       struct vfb_addrs *m) {
  struct bpf_sock *l = tcp_at(ctx, addr, port);
  if (!l) return 0;
  int found = 0;
  if (l->state == BPF_TCP_LISTEN) {
    struct vfb_sock *st = bpf_sk_storage_get(&socks, l, 0, 0);
    if (st) {
      __builtin_memcpy(m, &st->m, sizeof *m);
      found = 1;
    }
  }
  bpf_sk_release(l);
  return found;
}

/*
 * A connection accepted from a listener: what the listener's storage remembered (its bind to
 * 127.0.0.1 / a host address held as V, its peers at V shown as 127.0.0.1) applies to it too. The
 * storage is not cloned to accepted sockets (BPF_F_CLONE would allocate and free it for every
 * connection, ~1 us each); the listener is looked up by the connection's local address and port
 * when the program asks for a name, which is rare. A connection whose listener was closed since
 * shows the kernel's address (V) from then on.
 */
static __always_inline void listener_view(struct bpf_sock_addr *ctx, struct bpf_sock *sk,
                                          struct vfb_addrs *m) {
  if (sk->type != SOCK_STREAM || sk->state == BPF_TCP_LISTEN || sk->dst_port == 0) return;
  /* both read unconditionally: a load from one of two fields of sk is refused by the verifier */
  __u32 src[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
  __u32 ip4 = sk->src_ip4;
  asm volatile("" : "+r"(ip4));
  if (sk->family == AF_INET) mapped(src, ip4);
  listener_at(ctx, src, bpf_htons((__u16)sk->src_port), m);
}

/* The key of `bound` for the TCP socket at `addr` (v4-mapped or IPv6), `port` (host byte order). */
static __always_inline void bound_key(struct vfb_bound_key *key, __u64 netns, const __u32 *addr, __u32 port) {
  key->netns = netns;
  __builtin_memcpy(key->addr, addr, 16);
  key->port = port;
  key->pad = 0;
}

/*
 * A TCP client that connects to 127.0.0.1 held as `real`: true when the socket bound there was
 * bound as `shown` (the same 127.0.0.1), so that getpeername can find that out from the listener
 * and the client needs no storage of its own (an allocation per connection). One hash lookup in
 * `bound` (post_bind wrote it) instead of looking the listener up, reading its storage and
 * releasing it: three helper calls, and the socket lookup's own nested calls, on every connect.
 */
static __always_inline int bound_as(struct bpf_sock_addr *ctx, const __u32 *real, const __u32 *shown) {
  struct vfb_bound_key key;
  bound_key(&key, bpf_get_netns_cookie(ctx), real, bpf_ntohs((__u16)ctx->user_port));
  struct vfb_bound *b = bpf_map_lookup_elem(&bound, &key);
  return b && same6(b->shown, shown);
}

/* ---- the rewriting hooks ------------------------------------------------------------------- */

/*
 * One IPv4 destination/bind address `ip` (from an AF_INET socket, or v4-mapped on an AF_INET6
 * one: v6 != 0). Returns the hook's verdict.
 */
static __always_inline int rewrite4_in(struct bpf_sock_addr *ctx, enum call call, __u32 ip, int v6,
                                       struct hook *h, int in_session) {
  __u32 a[4], real[4], shown[4];
  if (call != CALL_BIND && is_127(ip) && ip != LOCALHOST4) {
    mapped(a, ip);
    if (refused(h, a)) return refuse(ECONNREFUSED);
  } else if (call == CALL_BIND && is_127(ip) && ip != LOCALHOST4) {
    mapped(a, ip);
    if (refused(h, a)) return refuse(EACCES);
  }
  if (!in_session || !stream_or_dgram(ctx) || port_excluded(h, ctx->user_port)) return 1;

  __u32 target;
  if (ip == LOCALHOST4 && localhost_target(h, &target)) {
    if (v6) ctx->user_ip6[3] = target;
    else ctx->user_ip4 = target;
    mapped(real, target);
    mapped(shown, LOCALHOST4);
    /* Storage only where show() needs it: L shows as 127.0.0.1 without (a session lookup per
       call), and so does a TCP peer whose listener was bound as 127.0.0.1. A datagram socket that
       sends or is bound gets it anyway: its cache and memory spare that lookup per datagram. */
    int dgram = ctx->type == SOCK_DGRAM;
    int keep = call == CALL_SEND || target != h->loopback4 || (call == CALL_BIND && dgram);
    if (keep && call == CALL_CONNECT && ctx->type == SOCK_STREAM) keep = !bound_as(ctx, real, shown);
    if (keep && call == CALL_BIND) remember(ctx, h, VFB_S_LOCAL, real, shown);
    if (keep) remember(ctx, h, VFB_S_REMOTE, real, shown);
    if (call == CALL_CONNECT && dgram && (v6 ? sk_unbound6(ctx) : sk_unbound4(ctx))) {
      if (v6) bind_source6(ctx, real);
      else bind_source4(ctx, target);
      if (keep) remember(ctx, h, VFB_S_LOCAL, real, shown);
    }
    return 1;
  }
  if (!(h->flags & VFB_P_VIP)) return 1;
  __u32 vip = h->vip;
  if (call == CALL_BIND) {
    mapped(a, ip);
    if (ip == 0 || is_host(h, a)) {
      if (v6) ctx->user_ip6[3] = vip;
      else ctx->user_ip4 = vip;
      mapped(real, vip);
      remember(ctx, h, VFB_S_LOCAL, real, a);
    }
    return 1;
  }
  /* connect / send elsewhere: the traffic leaves from V (never a 127/8 V towards a non-127). */
  if (ip == 0 || ip == LOCALHOST4 || (is_127(vip) && !is_127(ip))) return 1;
  if (call == CALL_CONNECT) {
    if (v6 ? sk_unbound6(ctx) : sk_unbound4(ctx)) {
      mapped(a, vip);
      if (v6) bind_source6(ctx, a);
      else bind_source4(ctx, vip);
    }
  } else if (v6 ? sk_unbound6(ctx) : sk_unbound4(ctx)) {
    if (v6) {
      ctx->msg_src_ip6[0] = 0;
      ctx->msg_src_ip6[1] = 0;
      ctx->msg_src_ip6[2] = MAPPED_PREFIX;
      ctx->msg_src_ip6[3] = vip;
    } else {
      ctx->msg_src_ip4 = vip;
    }
  }
  return 1;
}

static __always_inline int rewrite4(struct bpf_sock_addr *ctx, enum call call, __u32 ip, int v6) {
  struct hook h;
  int in_session = begin(ctx, &h, call);
  return rewrite4_in(ctx, call, ip, v6, &h, in_session);
}

/*
 * sendmsg to 127.0.0.1 (or ::ffff:127.0.0.1 on a dual-stack socket) from a socket whose cached
 * session lookup is valid (begin()'s cache, same checks): what rewrite4_in() does for it, from the
 * cache alone, in a few instructions. That is every datagram of a socket that keeps sending to
 * 127.0.0.1 after its first one. Sessions with excluded ports (the list is in the session entry)
 * and anything else take the general path, which gets the epoch and storage read here.
 */
static __always_inline int send_localhost(struct bpf_sock_addr *ctx, int v6) {
  __u64 now = epoch_now();
  struct vfb_sock *st = sock_storage(ctx);
  __u64 comm[VFB_COMM_LEN / 8] = {0, 0};
  if (st && st->by_name) bpf_get_current_comm(comm, sizeof comm);
  if (st && cache_for(st, now, comm)) {
    __u64 session_cgroup = st->session_cgroup;
    __u32 flags = st->cache_flags, vip = st->vip4, loopback4 = st->loopback4, n_ports = st->n_ports;
    barrier();
    if (cache_for(st, now, comm) && n_ports == 0 && stream_or_dgram(ctx)) {
      /* rewrite4_in: not in a session, or 127.0.0.1 not rewritten for this program: unchanged */
      if (session_cgroup == 0 || !(flags & VFB_P_LOOPBACK)) return 1;
      __u32 target = (flags & VFB_P_VIP) && !(flags & VFB_P_PREFER) ? vip : loopback4;
      if (v6) ctx->user_ip6[3] = target;
      else ctx->user_ip4 = target;
      __u32 real[4], shown[4];
      mapped(real, target);
      mapped(shown, LOCALHOST4);
      note(st, VFB_S_REMOTE, real, shown);
      /* noted: the next datagrams of an AF_INET socket need nothing but the target (for
         vf_sendmsg4's first test; the command name is not checked there) */
      if (!v6 && !st->by_name) st->send_target = target;
      return 1;
    }
  }
  struct hook h;
  int in_session = begin_at(&h, now, st);
  return rewrite4_in(ctx, CALL_SEND, LOCALHOST4, v6, &h, in_session);
}

/* The storage's cache slot `i` (constant offsets only: the verifier refuses a variable one). */
static __always_inline struct bpf_local_storage_data *cache_slot(struct bpf_local_storage *ls, __u32 i) {
  struct bpf_local_storage_data *sd = 0;
#define SLOT(n)                                                                                    \
  case n:                                                                                          \
    sd = ls->cache[n];                                                                             \
    break;
  switch (i) {
    SLOT(0) SLOT(1) SLOT(2) SLOT(3) SLOT(4) SLOT(5) SLOT(6) SLOT(7)
    SLOT(8) SLOT(9) SLOT(10) SLOT(11) SLOT(12) SLOT(13) SLOT(14) SLOT(15)
  }
#undef SLOT
  return sd;
}

/*
 * send_localhost()'s answer for a socket that keeps sending to 127.0.0.1, without a helper call:
 * its storage found the way bpf_sk_storage_get() finds it (through the storage's cache, under the
 * RCU read lock the hook runs in), its fields read as untrusted memory. 0: not there (no storage
 * yet, not in the cache slot, another epoch, nothing cached): take send_localhost().
 */
static __always_inline __u32 send_target_in_place(struct bpf_sock_addr *ctx) {
  struct bpf_sock_addr_kern *k = bpf_cast_to_kern_ctx(ctx);
  struct sock *sk = k->sk;
  if (!sk) return 0;
  struct bpf_local_storage *ls = sk->sk_bpf_storage;
  if (!ls) return 0;
  __u32 i = ((struct bpf_local_storage_map *)&socks)->cache_idx;
  if (i >= 16) return 0;
  struct bpf_local_storage_data *sd = cache_slot(ls, i);
  if (!sd || (__u64)sd->smap != (__u64)&socks) return 0;
  const struct vfb_sock *st = bpf_rdonly_cast(sd->data, 0);
  __u64 now = epoch_now();
  __u32 target = st->send_target;
  return now != 0 && st->epoch == now ? target : 0;
}

/* IPV6_V6ONLY is set (or cannot be read: then ::ffff:V is not risked). */
static __always_inline int v6only(const struct bpf_sock_addr *ctx) {
  struct bpf_sock *sk = ctx->sk;
  if (!sk) return 1;
  struct sock *s = ctx->type == SOCK_STREAM ? (struct sock *)bpf_skc_to_tcp6_sock(sk)
                                            : (struct sock *)bpf_skc_to_udp6_sock(sk);
  if (!s) return 1;
  return BPF_CORE_READ_BITFIELD(&s->__sk_common, skc_ipv6only);
}

/* A native IPv6 address on an AF_INET6 socket. */
static __always_inline int rewrite6(struct bpf_sock_addr *ctx, enum call call, const __u32 *a) {
  struct hook h;
  int in_session = begin(ctx, &h, call);
  if (!is_lo6(a) && !is_any6(a) && refused(&h, a)) {
    return refuse(call == CALL_BIND ? EACCES : ECONNREFUSED);
  }
  if (!in_session || !stream_or_dgram(ctx) || port_excluded(&h, ctx->user_port)) return 1;
  __u32 shown[4] = {0, 0, 0, bpf_htonl(1)};
  if (is_lo6(a)) {
    struct vfb_session *s = has_loopback6(&h) ? session(&h) : 0;
    if (!s) return 1;
    __u32 real[4] = {s->loopback6[0], s->loopback6[1], s->loopback6[2], s->loopback6[3]};
    write6(ctx, real);
    /* the loopback6 shows as ::1 without storage; a datagram socket that sends or is bound gets
       it anyway (see rewrite4) */
    int keep = call == CALL_SEND || (call == CALL_BIND && ctx->type == SOCK_DGRAM);
    if (keep && call == CALL_BIND) remember(ctx, &h, VFB_S_LOCAL, real, shown);
    if (keep) remember(ctx, &h, VFB_S_REMOTE, real, shown);
    if (call == CALL_CONNECT && ctx->type == SOCK_DGRAM && sk_unbound6(ctx)) bind_source6(ctx, real);
    return 1;
  }
  /* :: or a host address, bound with V: ::ffff:V, which needs a dual-stack socket. */
  if (call == CALL_BIND && (h.flags & VFB_P_VIP) && (is_any6(a) || is_host(&h, a))) {
    if (v6only(ctx)) return 1;
    __u32 real[4];
    mapped(real, h.vip);
    write6(ctx, real);
    remember(ctx, &h, VFB_S_LOCAL, real, a);
  }
  return 1;
}

static __always_inline int rewrite6_entry(struct bpf_sock_addr *ctx, enum call call) {
  __u32 a[4];
  read6(ctx, a);
  if (is_mapped(a)) {
    if (call == CALL_SEND && a[3] == LOCALHOST4) return send_localhost(ctx, 1);
    return rewrite4(ctx, call, a[3], 1);
  }
  return rewrite6(ctx, call, a);
}

SEC("cgroup/bind4")
int vf_bind4(struct bpf_sock_addr *ctx) { return rewrite4(ctx, CALL_BIND, ctx->user_ip4, 0); }

SEC("cgroup/bind6")
int vf_bind6(struct bpf_sock_addr *ctx) { return rewrite6_entry(ctx, CALL_BIND); }

SEC("cgroup/connect4")
int vf_connect4(struct bpf_sock_addr *ctx) { return rewrite4(ctx, CALL_CONNECT, ctx->user_ip4, 0); }

SEC("cgroup/connect6")
int vf_connect6(struct bpf_sock_addr *ctx) { return rewrite6_entry(ctx, CALL_CONNECT); }

SEC("cgroup/sendmsg4")
int vf_sendmsg4(struct bpf_sock_addr *ctx) {
  __u32 ip = ctx->user_ip4;
  if (ip == LOCALHOST4) {
    __u32 target = send_target_in_place(ctx);
    if (target) {
      ctx->user_ip4 = target;
      return 1;
    }
    return send_localhost(ctx, 0);
  }
  return rewrite4(ctx, CALL_SEND, ip, 0);
}

/* vf_sendmsg4 for kernels that refuse its in-place read (the loader falls back to this one). */
SEC("cgroup/sendmsg4")
int vf_sendmsg4_compat(struct bpf_sock_addr *ctx) {
  __u32 ip = ctx->user_ip4;
  if (ip == LOCALHOST4) return send_localhost(ctx, 0);
  return rewrite4(ctx, CALL_SEND, ip, 0);
}

SEC("cgroup/sendmsg6")
int vf_sendmsg6(struct bpf_sock_addr *ctx) { return rewrite6_entry(ctx, CALL_SEND); }

/* ---- after a bind ------------------------------------------------------------------------- */

/*
 * A TCP bind that succeeded at `real` (v4-mapped or IPv6) and the port the kernel gave: `bound`
 * notes it when the socket was bound as 127.0.0.1 (its storage says so: bind4/6 remembered the
 * rewrite), and forgets any earlier note of that address and port otherwise, so that a later
 * listener there bound as V or a wildcard is not taken for one bound as 127.0.0.1. Every process
 * under the parent cgroup runs it, in a session or not. Never refuses a bind.
 */
static __always_inline int after_bind(struct bpf_sock *sk, const __u32 *real) {
  if (sk->type != SOCK_STREAM) return 1;
  struct vfb_bound_key key;
  bound_key(&key, bpf_get_netns_cookie(sk), real, sk->src_port);
  struct vfb_sock *st = bpf_sk_storage_get(&socks, sk, 0, 0);
  if (st && (st->m.flags & VFB_S_LOCAL) && same6(st->m.local_real, real) && is_mapped(st->m.local_shown) &&
      st->m.local_shown[3] == LOCALHOST4) {
    /* an LRU update always takes a new element (and may evict): not when nothing changes, as for a
       server that binds the same port again */
    struct vfb_bound *had = bpf_map_lookup_elem(&bound, &key);
    if (had && same6(had->shown, st->m.local_shown)) return 1;
    struct vfb_bound b;
    __builtin_memcpy(b.shown, st->m.local_shown, 16);
    bpf_map_update_elem(&bound, &key, &b, BPF_ANY);
  } else if (bpf_map_lookup_elem(&bound, &key)) { /* a delete takes the bucket's lock: only if there */
    bpf_map_delete_elem(&bound, &key);
  }
  return 1;
}

SEC("cgroup/post_bind4")
int vf_post_bind4(struct bpf_sock *sk) {
  __u32 real[4];
  mapped(real, sk->src_ip4);
  return after_bind(sk, real);
}

SEC("cgroup/post_bind6")
int vf_post_bind6(struct bpf_sock *sk) {
  __u32 real[4] = {sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2], sk->src_ip6[3]};
  return after_bind(sk, real);
}

/* ---- the hooks that report addresses back -------------------------------------------------- */

/*
 * `a` is the address the kernel reports (v4-mapped for IPv4); replaces it by what the program
 * used. local: getsockname; otherwise the peer / datagram source.
 */
static __always_inline int show(struct bpf_sock_addr *ctx, __u32 *a, int v6, int local) {
  /* L, V and the loopback6 are never 127.0.0.1 or 0.0.0.0: the most common answers need nothing */
  if (is_mapped(a) && (a[3] == LOCALHOST4 || a[3] == 0)) return 1;
  struct bpf_sock *sk = ctx->sk;
  int done = 0;
  if (sk) {
    /* the socket's own storage read in place; a listener's is copied */
    struct vfb_addrs lm;
    lm.flags = 0;
    const struct vfb_addrs *m = &lm;
    struct vfb_sock *st = bpf_sk_storage_get(&socks, sk, 0, 0);
    if (st) m = &st->m;
    else listener_view(ctx, sk, &lm);
    if (local && (m->flags & VFB_S_LOCAL) && same6(m->local_real, a)) {
      /* A connection accepted on a wildcard listener really came to V: shown as it is. A socket
         that bound the wildcard itself (its own storage: also a client that connected after)
         shows what it bound, as in the shim. */
      if (!(is_any6(m->local_shown) || (is_mapped(m->local_shown) && m->local_shown[3] == 0)) || st) {
        __builtin_memcpy(a, m->local_shown, 16);
        done = 1;
      } else {
        return 1;
      }
    } else if (!local && (m->flags & VFB_S_REMOTE) && same6(m->remote_real, a)) {
      __builtin_memcpy(a, m->remote_shown, 16);
      done = 1;
    } else if (!local && sk->type == SOCK_STREAM) {
      /* a peer the socket's storage (if any: a client's bind to 0.0.0.0 / a host address) says
         nothing of: its listener bound as 127.0.0.1 (bound_as() left it out at connect) */
      struct vfb_addrs p;
      if (listener_at(ctx, a, (__u16)sk->dst_port, &p) && (p.flags & VFB_S_LOCAL) &&
          same6(p.local_real, a) && is_mapped(p.local_shown) && p.local_shown[3] == LOCALHOST4) {
        __builtin_memcpy(a, p.local_shown, 16);
        done = 1;
      }
    }
  }
  if (!done) {
    /* L is in 127/8 and not 127.0.0.1 (vipfarm-bpf set checks it): other IPv4 addresses, and the
       127.0.0.1 of every unbound sender, need no session lookup */
    if (is_mapped(a) && (!is_127(a[3]) || a[3] == LOCALHOST4)) return 1;
    __u64 cgroup_id;
    struct vfb_session *s = find_session(&cgroup_id);
    if (!s || !(s->flags & VFB_LOOPBACK)) return 1;
    if (is_mapped(a) && a[3] == s->loopback4) {
      a[3] = LOCALHOST4;
    } else if ((s->flags & VFB_LOOPBACK6) && same6(a, s->loopback6)) {
      a[0] = 0;
      a[1] = 0;
      a[2] = 0;
      a[3] = bpf_htonl(1);
    } else {
      return 1;
    }
  }
  if (!v6) {
    if (!is_mapped(a)) return 1; /* an IPv6 address cannot be shown on an AF_INET socket */
    ctx->user_ip4 = a[3];
  } else {
    write6(ctx, a);
  }
  return 1;
}

static __always_inline int show4(struct bpf_sock_addr *ctx, int local) {
  __u32 a[4];
  mapped(a, ctx->user_ip4);
  return show(ctx, a, 0, local);
}

static __always_inline int show6(struct bpf_sock_addr *ctx, int local) {
  __u32 a[4];
  read6(ctx, a);
  return show(ctx, a, 1, local);
}

SEC("cgroup/recvmsg4")
int vf_recvmsg4(struct bpf_sock_addr *ctx) { return show4(ctx, 0); }

SEC("cgroup/recvmsg6")
int vf_recvmsg6(struct bpf_sock_addr *ctx) { return show6(ctx, 0); }

SEC("cgroup/getpeername4")
int vf_getpeername4(struct bpf_sock_addr *ctx) { return show4(ctx, 0); }

SEC("cgroup/getpeername6")
int vf_getpeername6(struct bpf_sock_addr *ctx) { return show6(ctx, 0); }

SEC("cgroup/getsockname4")
int vf_getsockname4(struct bpf_sock_addr *ctx) { return show4(ctx, 1); }

SEC("cgroup/getsockname6")
int vf_getsockname6(struct bpf_sock_addr *ctx) { return show6(ctx, 1); }
