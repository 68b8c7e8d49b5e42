/*
 * The session's rules as the hooks see them, and their re-reading when the file changes.
 *
 * Publication: a double buffer with a sequence counter (a seqlock over two slots).
 *   - One writer at a time: whichever hooked call finds the check due and wins an atomic flag
 *     (try-lock: nobody ever waits; a thread that loses just uses the current table). It parses
 *     the file into a private copy first, then copies the finished table into the slot readers
 *     are NOT using and bumps the sequence: odd while it writes, even when done.
 *   - Readers take no lock: read the sequence, copy the current slot (about 700 bytes) to their
 *     stack, read the sequence again. Writing one slot cannot disturb a reader of the other, so a
 *     reader only retries if two publications happened during its copy (>= 1 s apart: in
 *     practice never); after a few tries it passes the call through rather than wait.
 *   Why not a pointer swap alone: a reader holding the old pointer could see that slot rewritten
 *   by the publication after next; the sequence check makes that detectable without locking.
 *   Why not a mutex: the read path runs in every bind/connect/send of the program, possibly in a
 *   signal handler or a child forked while another thread held the lock.
 *
 * Re-reading: at most about once per second (CLOCK_MONOTONIC_COARSE, a vDSO read), the writer
 * stat()s the file; a different (device, inode, size, mtime, ctime) means re-parse. The agent
 * replaces the file by rename(), so every change is a new inode. A file that disappears (session
 * ended) publishes "no rules": everything passes through.
 */
#include "hooks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHECK_INTERVAL_NS 1000000000L
/* VIPFARM_SHIM_RELOAD_MS (1..1000) shortens the interval: for the stress test only. */
static long long check_interval_ns = CHECK_INTERVAL_NS;
#define SNAPSHOT_TRIES 4

struct file_id {
  bool present;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
};

/*
 * The slots hold the rules as 64-bit words accessed with relaxed atomics: a reader may copy a slot
 * that a writer is (in theory) rewriting, and then the sequence tells it to retry; the words are
 * atomics so that even that copy is not a data race in the C11 sense, and no access is a data race in the C11 sense (a
 * plain memcpy would be one, and ThreadSanitizer says so). On x86-64 and arm64 a relaxed 64-bit
 * load or store is a plain mov / ldr: the copy costs what memcpy costs.
 */
#define RULES_WORDS ((sizeof(struct vf_rules) + sizeof(uint64_t) - 1) / sizeof(uint64_t))
union rules_words {
  struct vf_rules rules;
  uint64_t w[RULES_WORDS];
};

static struct {
  char path[4096];
  char session[256];
  struct vf_program prog;
  _Atomic unsigned long seq; /* even: slot (seq/2)%2 is current; odd: the other slot is written */
  _Atomic uint64_t slot[2][RULES_WORDS]; /* struct vf_rules, as relaxed atomic words */
  _Atomic long long next_check_ns;
  atomic_flag writer_busy;
  /* owned by the writer (writer_busy held) */
  bool checked_once;
  struct file_id last;
  char text[VF_MAX_RULES_BYTES + 1];
  struct vf_rules parsed;
} st = {.writer_busy = ATOMIC_FLAG_INIT};

static long long now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void publish(const struct vf_rules *rules) {
  unsigned long s = atomic_load_explicit(&st.seq, memory_order_relaxed);
  atomic_store_explicit(&st.seq, s + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  union rules_words u;
  memset(&u, 0, sizeof u);
  u.rules = *rules;
  _Atomic uint64_t *slot = st.slot[((s >> 1) + 1) & 1];
  for (size_t i = 0; i < RULES_WORDS; i++) atomic_store_explicit(&slot[i], u.w[i], memory_order_relaxed);
  atomic_store_explicit(&st.seq, s + 2, memory_order_release);
}

static void publish_inactive(void) {
  static const struct vf_rules none;
  publish(&none);
}

static struct file_id id_of(const struct stat *sb) {
  return (struct file_id){.present = true, .dev = sb->st_dev, .ino = sb->st_ino,
                          .size = sb->st_size, .mtime = sb->st_mtim, .ctime = sb->st_ctim};
}

static bool same_id(const struct file_id *a, const struct file_id *b) {
  return a->present == b->present && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
         a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static void file_missing(void) {
  if (st.checked_once && !st.last.present) return;
  if (st.checked_once) VF_INFO("rules file %s removed: passing everything through", st.path);
  vf_log_once(VF_ONCE_RULES_MISSING, __func__,
              "no rules file %s: this program runs without vipfarm rewriting", st.path);
  st.last = (struct file_id){.present = false};
  publish_inactive();
}

static void file_unreadable(int err) {
  vf_log_once(VF_ONCE_RULES_UNREADABLE, __func__,
              "cannot read rules file %s (%s): this program runs without vipfarm rewriting",
              st.path, strerror(err));
  st.last = (struct file_id){.present = false};
  publish_inactive();
}

/* Reads the whole file into st.text; returns its length or -1 (errno set; EFBIG if too large). */
static ssize_t read_file(int fd) {
  size_t total = 0;
  for (;;) {
    ssize_t n = read(fd, st.text + total, sizeof st.text - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) return (ssize_t)total;
    total += (size_t)n;
    if (total == sizeof st.text) {
      errno = EFBIG;
      return -1;
    }
  }
}

/* Called by the single writer: re-reads and publishes the rules if the file changed. */
static void check_file(void) {
  struct stat sb;
  if (stat(st.path, &sb) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) file_missing();
    else file_unreadable(errno);
    st.checked_once = true;
    return;
  }
  struct file_id id = id_of(&sb);
  if (st.checked_once && same_id(&id, &st.last)) return;
  st.checked_once = true;

  int fd = open(st.path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) file_missing();
    else file_unreadable(errno);
    return;
  }
  ssize_t len = -1;
  int err = 0;
  if (fstat(fd, &sb) == 0) { /* the identity of what we actually read */
    id = id_of(&sb);
    len = read_file(fd);
  }
  if (len < 0) err = errno;
  close(fd);
  if (len < 0) {
    file_unreadable(err);
    return;
  }
  st.last = id;
  char error[256];
  if (vf_rules_parse(st.text, (size_t)len, st.session, &st.prog, &st.parsed, error, sizeof error) !=
      VF_PARSE_OK) {
    vf_log_once(VF_ONCE_RULES_INVALID, __func__,
                "invalid rules file %s (%s): this program runs without vipfarm rewriting", st.path,
                error);
    publish_inactive();
    return;
  }
  char l[INET_ADDRSTRLEN] = "-", v[INET_ADDRSTRLEN] = "-";
  if (st.parsed.has_loopback) inet_ntop(AF_INET, &st.parsed.loopback, l, sizeof l);
  if (st.parsed.has_vip) inet_ntop(AF_INET, &st.parsed.vip, v, sizeof v);
  VF_INFO("rules of session %s loaded for %s/%s: loopback %s, vip %s%s", st.session, st.prog.exe,
          st.prog.argv0, l, v, st.parsed.prefer_loopback ? ", prefers loopback" : "");
  publish(&st.parsed);
}

static void maybe_reload(void) {
  long long now = now_ns();
  if (now < atomic_load_explicit(&st.next_check_ns, memory_order_relaxed)) return;
  if (atomic_flag_test_and_set_explicit(&st.writer_busy, memory_order_acquire)) return;
  if (now >= atomic_load_explicit(&st.next_check_ns, memory_order_relaxed)) {
    check_file();
    atomic_store_explicit(&st.next_check_ns, now + check_interval_ns, memory_order_relaxed);
  }
  atomic_flag_clear_explicit(&st.writer_busy, memory_order_release);
}

/* A child forked while another thread was the writer would otherwise never re-read again. */
static void after_fork_in_child(void) { atomic_flag_clear(&st.writer_busy); }

void vf_rules_start(const char *run_dir, const char *session, const struct vf_program *prog) {
  int n = snprintf(st.path, sizeof st.path, "%s/sessions/%s.rules", run_dir, session);
  if (n < 0 || (size_t)n >= sizeof st.path) {
    vf_log_once(VF_ONCE_NO_RUN_DIR, __func__, "VIPFARM_RUN_DIR is too long: passing through");
    st.path[0] = '\0';
    return;
  }
  snprintf(st.session, sizeof st.session, "%s", session);
  const char *ms = getenv("VIPFARM_SHIM_RELOAD_MS");
  if (ms != NULL) {
    long v = strtol(ms, NULL, 10);
    if (v >= 1 && v <= 1000) check_interval_ns = v * 1000000LL;
  }
  st.prog = *prog;
  pthread_atfork(NULL, NULL, after_fork_in_child);
  maybe_reload();
}

bool vf_rules_snapshot(struct vf_rules *out) {
  if (st.path[0] == '\0') {
    out->active = false;
    return false;
  }
  maybe_reload();
  for (int attempt = 0; attempt < SNAPSHOT_TRIES; attempt++) {
    unsigned long s1 = atomic_load_explicit(&st.seq, memory_order_acquire);
    union rules_words u;
    _Atomic uint64_t *slot = st.slot[(s1 >> 1) & 1];
    for (size_t i = 0; i < RULES_WORDS; i++) u.w[i] = atomic_load_explicit(&slot[i], memory_order_relaxed);
    *out = u.rules;
    atomic_thread_fence(memory_order_acquire);
    unsigned long s2 = atomic_load_explicit(&st.seq, memory_order_relaxed);
    /* The slot we copied is rewritten only by the publication after next, which makes the
       sequence (s1 rounded down to even) + 3 before it writes anything. */
    if (s2 - (s1 & ~1UL) < 3) return out->active;
  }
  out->active = false;
  return false;
}
