/*
 * Per-socket state: what the program used where the kernel holds L or V (design.md section 3,
 * "What the program sees").
 *
 * A fixed table indexed by fd (VF_FD_MAX entries, 32 bytes each, in .bss: untouched pages cost no
 * memory). Larger fds are never recorded: their calls pass through untranslated. Each entry is a
 * small seqlock (as reload.c's rules, per fd):
 *   - writers take the entry by moving its sequence from even to odd with a compare-and-swap, write
 *     the fields, and make it even again. Two writers on the SAME fd at once only happen when the
 *     program itself races (close in one thread while bind in another) or from a signal handler
 *     that interrupted a writer on that fd; the loser tries a bounded number of times and then
 *     gives up: the entry keeps its old value. Nobody ever waits for long;
 *   - readers copy the fields between two reads of the sequence and retry a few times; an entry
 *     that stays busy reads as "nothing recorded", i.e. the real address is shown (fail-open).
 * All fields are relaxed atomics, so no access is a data race in the C11 sense. No locks, no
 * allocation, no syscall: usable from signal handlers and in forked children (a child inherits
 * the table as it was: same fds, same state).
 *
 * The translation (vf_show_local / vf_show_remote) only replaces an address that IS the recorded
 * L or V, so a stale entry (an fd closed behind our back, e.g. by fclose or a raw syscall, then
 * reused) can only matter for a socket that again holds that very address; the hooks also clear
 * the entry of every new socket.
 *
 * Pure: no preload machinery; linked into the unit tests as it is.
 */
#include "shim.h"

#include <stdatomic.h>
#include <string.h>

#define WRITE_TRIES 64
#define READ_TRIES 4

enum { HAS_LOCAL = 1u, HAS_REMOTE = 2u, LOCAL_LB6 = 4u, REMOTE_LB6 = 8u };
#define LOCAL_PARTS (HAS_LOCAL | LOCAL_LB6)
#define REMOTE_PARTS (HAS_REMOTE | REMOTE_LB6)

struct entry {
  _Atomic uint32_t seq;      /* even: stable; odd: a writer is inside */
  _Atomic uint32_t flags;    /* HAS_LOCAL | HAS_REMOTE; 0: nothing recorded */
  _Atomic uint32_t local_real;  /* in_addr, network order */
  _Atomic uint32_t remote_real; /* in_addr, network order */
  _Atomic uint32_t local_shown[4]; /* in6_addr, v4-mapped for IPv4 */
};

static struct entry table[VF_FD_MAX];
/* One more than the largest fd ever recorded: close_range() walks no further. */
static _Atomic int high_water;

static struct entry *entry_of(int fd) {
  return fd >= 0 && fd < VF_FD_MAX ? &table[fd] : NULL;
}

bool vf_fd_tracked(int fd) {
  struct entry *e = entry_of(fd);
  return e != NULL && atomic_load_explicit(&e->flags, memory_order_relaxed) != 0;
}

bool vf_fd_get(int fd, struct vf_fd_state *out) {
  memset(out, 0, sizeof *out);
  struct entry *e = entry_of(fd);
  if (e == NULL || atomic_load_explicit(&e->flags, memory_order_relaxed) == 0) return false;
  for (int attempt = 0; attempt < READ_TRIES; attempt++) {
    uint32_t s1 = atomic_load_explicit(&e->seq, memory_order_acquire);
    if (s1 & 1) continue;
    uint32_t flags = atomic_load_explicit(&e->flags, memory_order_relaxed);
    uint32_t local = atomic_load_explicit(&e->local_real, memory_order_relaxed);
    uint32_t remote = atomic_load_explicit(&e->remote_real, memory_order_relaxed);
    uint32_t shown[4];
    for (int i = 0; i < 4; i++) {
      shown[i] = atomic_load_explicit(&e->local_shown[i], memory_order_relaxed);
    }
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&e->seq, memory_order_relaxed) != s1) continue;
    out->has_local = (flags & HAS_LOCAL) != 0;
    out->has_remote = (flags & HAS_REMOTE) != 0;
    out->local_lb6 = (flags & LOCAL_LB6) != 0;
    out->remote_lb6 = (flags & REMOTE_LB6) != 0;
    out->local_real.s_addr = local;
    out->remote_real.s_addr = remote;
    memcpy(&out->local_shown, shown, sizeof shown);
    return flags != 0;
  }
  memset(out, 0, sizeof *out);
  return false;
}

static bool writer_enter(struct entry *e, uint32_t *seq) {
  uint32_t s = atomic_load_explicit(&e->seq, memory_order_relaxed);
  for (int attempt = 0; attempt < WRITE_TRIES; attempt++) {
    if ((s & 1) == 0 &&
        atomic_compare_exchange_weak_explicit(&e->seq, &s, s + 1, memory_order_acquire,
                                              memory_order_relaxed)) {
      atomic_thread_fence(memory_order_release);
      *seq = s + 1;
      return true;
    }
    if (s & 1) s = atomic_load_explicit(&e->seq, memory_order_relaxed);
  }
  return false;
}

static void writer_leave(struct entry *e, uint32_t seq) {
  atomic_store_explicit(&e->seq, seq + 1, memory_order_release);
}

static void raise_high_water(int fd) {
  int h = atomic_load_explicit(&high_water, memory_order_relaxed);
  while (h <= fd &&
         !atomic_compare_exchange_weak_explicit(&high_water, &h, fd + 1, memory_order_relaxed,
                                                memory_order_relaxed)) {
  }
}

/* Writes the parts of s selected by `parts` (LOCAL_PARTS, REMOTE_PARTS) into fd's entry. */
static void write_entry(int fd, const struct vf_fd_state *s, uint32_t parts) {
  struct entry *e = entry_of(fd);
  if (e == NULL) return;
  uint32_t seq;
  if (!writer_enter(e, &seq)) return;
  uint32_t flags = atomic_load_explicit(&e->flags, memory_order_relaxed) & ~parts;
  if ((parts & LOCAL_LB6) && s->local_lb6) flags |= LOCAL_LB6;
  if ((parts & REMOTE_LB6) && s->remote_lb6) flags |= REMOTE_LB6;
  if ((parts & HAS_LOCAL) && s->has_local) {
    flags |= HAS_LOCAL;
    uint32_t shown[4];
    memcpy(shown, &s->local_shown, sizeof shown);
    atomic_store_explicit(&e->local_real, s->local_real.s_addr, memory_order_relaxed);
    for (int i = 0; i < 4; i++) {
      atomic_store_explicit(&e->local_shown[i], shown[i], memory_order_relaxed);
    }
  }
  if ((parts & HAS_REMOTE) && s->has_remote) {
    flags |= HAS_REMOTE;
    atomic_store_explicit(&e->remote_real, s->remote_real.s_addr, memory_order_relaxed);
  }
  atomic_store_explicit(&e->flags, flags, memory_order_relaxed);
  writer_leave(e, seq);
  if (flags != 0) raise_high_water(fd);
}

void vf_fd_put(int fd, const struct vf_fd_state *s) {
  if (!s->has_local && !s->has_remote && !s->local_lb6 && !s->remote_lb6 && !vf_fd_tracked(fd)) {
    return; /* nothing to write */
  }
  write_entry(fd, s, LOCAL_PARTS | REMOTE_PARTS);
}

void vf_fd_clear(int fd) {
  static const struct vf_fd_state none;
  vf_fd_put(fd, &none);
}

void vf_fd_clear_range(unsigned int first, unsigned int last) {
  unsigned int end = (unsigned int)atomic_load_explicit(&high_water, memory_order_relaxed);
  for (unsigned int fd = first; fd < end && fd <= last; fd++) vf_fd_clear((int)fd);
}

void vf_fd_copy(int from, int to) {
  struct vf_fd_state s;
  vf_fd_get(from, &s);
  vf_fd_put(to, &s);
}

void vf_fd_record_local(int fd, struct in_addr real, const struct in6_addr *shown) {
  struct vf_fd_state s = {.has_local = true, .local_real = real, .local_shown = *shown};
  write_entry(fd, &s, LOCAL_PARTS);
}

void vf_fd_record_remote(int fd, struct in_addr real) {
  struct vf_fd_state cur;
  if (vf_fd_get(fd, &cur) && cur.has_remote && cur.remote_real.s_addr == real.s_addr) {
    return; /* the usual case for a socket that keeps sending to 127.0.0.1: no write */
  }
  struct vf_fd_state s = {.has_remote = true, .remote_real = real};
  write_entry(fd, &s, REMOTE_PARTS);
}

void vf_fd_record_lb6(int fd, bool local) {
  struct vf_fd_state cur;
  if (vf_fd_get(fd, &cur) && cur.remote_lb6 && (!local || cur.local_lb6)) return; /* as it is */
  struct vf_fd_state s = {.local_lb6 = local, .remote_lb6 = true};
  write_entry(fd, &s, (local ? LOCAL_PARTS : 0u) | REMOTE_PARTS);
}

static bool shown_is_wildcard(const struct in6_addr *a) {
  static const uint8_t zero[16];
  return memcmp(a->s6_addr, zero, 16) == 0 ||
         (IN6_IS_ADDR_V4MAPPED(a) && memcmp(&a->s6_addr[12], zero, 4) == 0);
}

void vf_fd_accepted(int listener, int fd) {
  struct vf_fd_state l, s;
  memset(&s, 0, sizeof s);
  if (vf_fd_get(listener, &l)) {
    /* A connection to a wildcard listener really came to V: shown as it is. */
    if (l.has_local && !shown_is_wildcard(&l.local_shown)) {
      s.has_local = true;
      s.local_real = l.local_real;
      s.local_shown = l.local_shown;
    }
    s.has_remote = l.has_remote;
    s.remote_real = l.remote_real;
    s.local_lb6 = l.local_lb6; /* a listener on ::1 is on the loopback6: so is the connection */
    s.remote_lb6 = l.remote_lb6;
  }
  vf_fd_put(fd, &s);
}

/* ---- translation of an address the kernel wrote into the program's buffer ----------------- */

#define SIN_ADDR_END (offsetof(struct sockaddr_in, sin_addr) + sizeof(struct in_addr))
#define SIN6_ADDR_END (offsetof(struct sockaddr_in6, sin6_addr) + sizeof(struct in6_addr))

/*
 * If the `present` bytes at addr hold an inet address whose IP is `real` (or ::ffff:real),
 * replaces that IP by `shown` (an in6_addr; its last 4 bytes for AF_INET, which requires `shown`
 * to be v4-mapped). Touches nothing else and nothing beyond `present`.
 */
static bool replace_ip(void *addr, socklen_t present, struct in_addr real,
                       const struct in6_addr *shown) {
  sa_family_t family;
  if (addr == NULL || present < (socklen_t)sizeof family) return false;
  memcpy(&family, addr, sizeof family);
  char *bytes = addr;
  if (family == AF_INET && present >= (socklen_t)SIN_ADDR_END) {
    struct in_addr ip;
    memcpy(&ip, bytes + offsetof(struct sockaddr_in, sin_addr), sizeof ip);
    if (ip.s_addr != real.s_addr || !IN6_IS_ADDR_V4MAPPED(shown)) return false;
    memcpy(bytes + offsetof(struct sockaddr_in, sin_addr), &shown->s6_addr[12], 4);
    return true;
  }
  if (family == AF_INET6 && present >= (socklen_t)SIN6_ADDR_END) {
    struct in6_addr ip;
    memcpy(&ip, bytes + offsetof(struct sockaddr_in6, sin6_addr), sizeof ip);
    if (!IN6_IS_ADDR_V4MAPPED(&ip) || memcmp(&ip.s6_addr[12], &real, 4) != 0) return false;
    memcpy(bytes + offsetof(struct sockaddr_in6, sin6_addr), shown, sizeof *shown);
    return true;
  }
  return false;
}

bool vf_show_local(const struct vf_fd_state *s, void *addr, socklen_t present) {
  return s->has_local && replace_ip(addr, present, s->local_real, &s->local_shown);
}

bool vf_show_remote(const struct vf_fd_state *s, void *addr, socklen_t present) {
  static const struct in6_addr localhost = {
      .s6_addr = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1}};
  return s->has_remote && replace_ip(addr, present, s->remote_real, &localhost);
}

bool vf_show_lb6(const struct in6_addr *lb6, void *addr, socklen_t present) {
  sa_family_t family;
  if (addr == NULL || present < (socklen_t)SIN6_ADDR_END) return false;
  memcpy(&family, addr, sizeof family);
  if (family != AF_INET6) return false;
  char *ip = (char *)addr + offsetof(struct sockaddr_in6, sin6_addr);
  if (memcmp(ip, lb6, sizeof *lb6) != 0) return false;
  memcpy(ip, &in6addr_loopback, sizeof in6addr_loopback);
  return true;
}
