/*
 * The maps shared by the kernel programs (vipfarm.bpf.c) and the loader (vipfarm-bpf): one
 * definition of their keys and values. Addresses are in network byte order; IPv4 addresses in
 * 16-byte fields are v4-mapped (::ffff:a.b.c.d).
 *
 * Included by BPF C (clang -target bpf, linux/types.h) and by host C (stdint via linux/types.h).
 */
#ifndef VIPFARM_BPF_H
#define VIPFARM_BPF_H

#include <linux/types.h>

#define VFB_MAX_PORTS 64     /* excluded-ports */
#define VFB_MAX_HOSTS 32     /* host-addresses */
#define VFB_MAX_GLOBS 16     /* program globs of one session */
#define VFB_GLOB_ELEMS 32    /* compiled glob: at most 32 elements ('*' or a set of bytes) */
#define VFB_MAX_UIDS 16      /* isolation-allow-uids */
#define VFB_MAX_SESSIONS 4096
#define VFB_ANCESTOR_LEVELS 4 /* a session's processes may sit this many levels below the parent */
#define VFB_COMM_LEN 16

/* Which list of the rules file a glob came from (enum vf_glob_list). */
enum vfb_glob_list { VFB_GLOBS_LOOPBACK, VFB_GLOBS_VIP, VFB_GLOBS_PREFER, VFB_GLOBS_PROGRAM_VIP };

/*
 * A shell glob compiled for the kernel's matcher (a bit-parallel NFA, no backtracking): element k
 * is either '*' (bit k of star_mask) or the set of bytes it accepts (sets[k], a 256-bit map; '?' is
 * every byte but NUL, [a-z] and [!x] are their sets, a literal is one bit).
 */
struct vfb_glob {
  __u8 list;     /* enum vfb_glob_list */
  __u8 n_elems;  /* 0..VFB_GLOB_ELEMS; 255: never matches (cannot match a 15-byte name) */
  __u8 pad[2];
  __u32 ip;      /* VFB_GLOBS_PROGRAM_VIP: the program's VIP */
  __u64 star_mask;
  __u8 sets[VFB_GLOB_ELEMS][32];
};

/* session flags */
#define VFB_LOOPBACK 0x1           /* loopback4 given */
#define VFB_LOOPBACK6 0x2          /* loopback6 given */
#define VFB_VIP 0x4                /* vip4 given */
#define VFB_LOOPBACK_PROGRAMS 0x8  /* loopback-programs given: L only for matching programs */
#define VFB_VIP_PROGRAMS 0x10      /* vip-programs given: V only for matching programs */
#define VFB_ISOLATION 0x20         /* isolation on */

/* sessions: key = cgroup id (__u64) of the session cgroup. Replaced whole by one update. */
struct vfb_session {
  __u64 generation;   /* new on every `set`: invalidates the per-program cache */
  __u32 flags;
  __u32 loopback4;
  __u32 vip4;
  __u32 n_ports, n_hosts, n_globs;
  __u32 loopback6[4];
  __u16 ports[VFB_MAX_PORTS];          /* host byte order */
  __u32 hosts[VFB_MAX_HOSTS][4];       /* v4-mapped for IPv4 */
  char session[64];                    /* the rules' session id, for `list` */
  struct vfb_glob globs[VFB_MAX_GLOBS];
};

/* owners: key = a session's loopback address (v4-mapped for loopback4): who owns it. */
struct vfb_owner_key {
  __u32 addr[4];
};
struct vfb_owner {
  __u64 cgroup_id;
  __u32 isolation;  /* 1: others are refused */
  __u32 n_uids;
  __u32 uids[VFB_MAX_UIDS];
};

/* program cache (LRU): the rules resolved for one command name in one session. */
struct vfb_prog_key {
  __u64 cgroup_id;
  char comm[VFB_COMM_LEN];
};
#define VFB_P_LOOPBACK 0x1
#define VFB_P_VIP 0x2
#define VFB_P_PREFER 0x4
struct vfb_prog {
  __u64 generation;
  __u32 flags;
  __u32 vip4;
};

/*
 * bound (LRU): TCP sockets bound as 127.0.0.1 where the kernel holds V, written by post_bind4/6
 * after the bind succeeded and by every later bind of the same (namespace, address, port), which
 * removes it when it was not such a bind. A connect to 127.0.0.1 reads it instead of looking the
 * listener up: found, the listener shows the client 127.0.0.1 and the client needs no storage.
 * Entries are not removed when the socket closes (no sock_release hook, which would tax every
 * close); an entry missing (evicted) only costs the client its storage.
 */
struct vfb_bound_key {
  __u64 netns;   /* network namespace cookie */
  __u32 addr[4]; /* the kernel's address (v4-mapped for IPv4) */
  __u32 port;    /* host byte order */
  __u32 pad;
};
struct vfb_bound {
  __u32 shown[4]; /* what the binder used (v4-mapped) */
};

/* config: one entry, written by `attach`. */
struct vfb_config {
  __u64 cgroup_id;    /* the parent cgroup the programs are attached to */
  __u32 session_level; /* cgroup level (root = 0) of the parent's children */
  __u32 pad;
  char cgroup_path[256];
};

/*
 * epoch: one entry (__u64), a new value written by `set` and `clear` after they changed `sessions`.
 * The per-socket cache of the session lookup below is valid only under the epoch it was made in.
 */

/* per-socket storage: what the program used where the kernel holds L, V or the IPv6 loopback. */
#define VFB_S_LOCAL 0x1
#define VFB_S_REMOTE 0x2
struct vfb_addrs {
  __u32 flags;
  __u32 local_real[4], local_shown[4];
  __u32 remote_real[4], remote_shown[4];
};
struct vfb_sock {
  struct vfb_addrs m;
  /* The session lookup's result of the socket's first caller under `epoch` (0: nothing cached: no
     epoch is 0), and when the session has program lists (by_name) for the command name `comm`. */
  __u32 cache_flags;     /* VFB_P_* */
  __u64 epoch;
  __u64 session_cgroup;  /* 0: the task is in no session */
  __u32 vip4, loopback4; /* the hook's V, the session's L */
  __u32 session_flags;   /* VFB_LOOPBACK... of the session */
  __u32 n_ports;
  __u64 comm[VFB_COMM_LEN / 8];
  __u32 by_name;
  /* Where a datagram to 127.0.0.1 goes under `epoch` (0: take the general path). Set by the
     cached path of sendmsg4 once it has noted that target, so that vf_sendmsg4 can answer the
     next datagrams from these two fields alone; reset by every refill. */
  __u32 send_target;
};

#endif
