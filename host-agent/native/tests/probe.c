/*
 * vf-probe: a small socket program the integration tests run under the preload. It reports each
 * address twice, one fact per line on stdout: "LABEL REAL shown SHOWN", where REAL is what the
 * kernel really did (raw syscalls, which the shim does not see) and SHOWN what the program sees
 * through libc (getsockname, getpeername, accept, recvfrom/recvmsg/recvmmsg: the shim's view).
 *
 *   vf-probe bind    tcp|udp 4|6 ADDR PORT [v6only] [times N]   -> "bound" per bind
 *   vf-probe serve   tcp|udp 4|6 ADDR PORT TAG                  -> "ready", then "peer" per client
 *                                                                   (accept / recvfrom); answers TAG
 *   vf-probe connect tcp|udp|udpmsg|udpmmsg|tfo 4|6 ADDR PORT [from IP]
 *                      -> "local", for tcp/tfo "remote" (getpeername), for udp* "from" (the reply's
 *                         source through recvfrom / recvmsg / recvmmsg), then "reply TAG".
 *                         `from IP` binds the client to IP:0 first.
 *   vf-probe fdcheck ADDR                                        -> the fd table's bookkeeping:
 *                      binds a TCP socket to ADDR:0, then "dup", "dupfd", "dupfd-cloexec", "dup2",
 *                      "dup3", "high" (a dup at fd 70000, or "skip high"); then a plain socket
 *                      bound (raw syscalls) to the real address reuses the fd number after
 *                      close ("after-close"), close_range ("after-close-range"), a raw close
 *                      ("after-raw-close"), and dup2 over a recorded fd ("dup2-over")
 *   vf-probe watch   ADDR                                        -> per stdin line "expect IP MS":
 *                      binds ADDR:0 on fresh TCP sockets until it really lands on IP or MS ms
 *                      pass; "got IP after N ms" / "timeout last A"
 *   vf-probe resolve NAME                                        -> NAME through getaddrinfo
 *                      ("gai4" AF_INET, "gai" AF_UNSPEC + AI_CANONNAME, "gai6mapped" AF_INET6 +
 *                      AI_V4MAPPED, "gaipassive"; each freed with freeaddrinfo), gethostbyname
 *                      ("ghbn"), gethostbyname2 AF_INET ("ghbn2"), gethostbyname_r ("ghbnr"; and
 *                      "ghbnr-tiny" with an 8-byte buffer: ERANGE)
 *   vf-probe rawserve ADDR PORT                                  -> a TCP listener on IPv4 ADDR:PORT made with
 *                      raw syscalls (socket, bind, listen: no libc wrapper): "ready", then sleeps
 *   vf-probe loop    ADDR PORT MS COUNT                           -> COUNT TCP connects to IPv4 ADDR:PORT,
 *                      MS ms apart: "T reply TAG" or "T error ERRNO-TEXT" (T: ms since start)
 *   vf-probe udploop ADDR PORT MS COUNT                           -> the same with ONE UDP socket:
 *                      COUNT sendto(ADDR:PORT) + recv of the reply, MS ms apart
 *   vf-probe stress SECONDS THREADS                              -> THREADS threads bind 0.0.0.0 and
 *                      connect UDP to 127.0.0.1 (+ dup/close) while a thread rewrites the session's
 *                      rules file every ~1 ms between two VIPs; "stress ops N bad B passthrough P":
 *                      B counts results that are neither VIP or not shown as used
 * Exit status 0 on success, 1 with "error WHAT: strerror" on stdout otherwise. Every blocking
 * call has a timeout (alarm, SO_RCVTIMEO): a broken shim fails a test, never hangs it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Noreturn void fail(const char *what) {
  printf("error %s: %s\n", what, strerror(errno));
  exit(1);
}

static void format(const struct sockaddr_storage *ss, char *buf, size_t len) {
  char ip[INET6_ADDRSTRLEN];
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
    inet_ntop(AF_INET, &s->sin_addr, ip, sizeof ip);
    snprintf(buf, len, "%s:%u", ip, ntohs(s->sin_port));
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
    inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof ip);
    snprintf(buf, len, "[%s]:%u", ip, ntohs(s->sin6_port));
  } else {
    snprintf(buf, len, "family-%d", ss->ss_family);
  }
}

static void print_pair(const char *label, const struct sockaddr_storage *real,
                       const struct sockaddr_storage *shown) {
  char r[80], s[80];
  format(real, r, sizeof r);
  format(shown, s, sizeof s);
  printf("%s %s shown %s\n", label, r, s);
  fflush(stdout);
}

/* getsockname (peer = 0) or getpeername (peer = 1): the kernel's answer and the program's. */
static void print_name(const char *label, int fd, int peer) {
  struct sockaddr_storage real, shown;
  socklen_t rlen = sizeof real, slen = sizeof shown;
  memset(&real, 0, sizeof real);
  memset(&shown, 0, sizeof shown);
  if (syscall(peer ? SYS_getpeername : SYS_getsockname, fd, &real, &rlen) != 0) fail("raw name");
  int r = peer ? getpeername(fd, (struct sockaddr *)&shown, &slen)
               : getsockname(fd, (struct sockaddr *)&shown, &slen);
  if (r != 0) fail(peer ? "getpeername" : "getsockname");
  if (slen != rlen) fail("address length changed");
  print_pair(label, &real, &shown);
}

static void print_local(const char *label, int fd) { print_name(label, fd, 0); }

/* The source of the next datagram as the kernel has it, without consuming it. */
static void peek_source(int fd, struct sockaddr_storage *real) {
  char byte;
  socklen_t len = sizeof *real;
  memset(real, 0, sizeof *real);
  if (syscall(SYS_recvfrom, fd, &byte, 1, MSG_PEEK, real, &len) < 0) fail("raw recvfrom");
}

static socklen_t make_addr(int family, const char *ip, const char *port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (family == 4) {
    struct sockaddr_in *s = (struct sockaddr_in *)ss;
    s->sin_family = AF_INET;
    s->sin_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET, ip, &s->sin_addr) != 1) fail("bad IPv4 address");
    return sizeof *s;
  }
  struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
  s->sin6_family = AF_INET6;
  s->sin6_port = htons((uint16_t)atoi(port));
  if (inet_pton(AF_INET6, ip, &s->sin6_addr) != 1) fail("bad IPv6 address");
  return sizeof *s;
}

static int make_socket(int family, int stream) {
  int fd = socket(family == 4 ? AF_INET : AF_INET6, stream ? SOCK_STREAM : SOCK_DGRAM, 0);
  if (fd < 0) fail("socket");
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

static int cmd_bind(int argc, char **argv) {
  int stream = strcmp(argv[2], "tcp") == 0, family = atoi(argv[3]), times = 1, v6only = 0;
  for (int i = 6; i < argc; i++) {
    if (strcmp(argv[i], "v6only") == 0) v6only = 1;
    if (strcmp(argv[i], "times") == 0 && i + 1 < argc) times = atoi(argv[++i]);
  }
  for (int t = 0; t < times; t++) {
    int fd = make_socket(family, stream);
    if (v6only) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    struct sockaddr_storage ss;
    socklen_t len = make_addr(family, argv[4], argv[5], &ss);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) fail("bind");
    print_local("bound", fd);
    close(fd);
  }
  return 0;
}

static int cmd_serve(char **argv) {
  int stream = strcmp(argv[2], "tcp") == 0, family = atoi(argv[3]);
  const char *tag = argv[6];
  alarm(60); /* never outlive a broken test run */
  int fd = make_socket(family, stream);
  struct timeval forever = {0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &forever, sizeof forever);
  int qlen = 5;
  setsockopt(fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof qlen); /* for the tfo client */
  struct sockaddr_storage ss;
  socklen_t len = make_addr(family, argv[4], argv[5], &ss);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) fail("bind");
  if (stream && listen(fd, 16) != 0) fail("listen");
  print_local("ready", fd);
  char buf[256];
  for (;;) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    memset(&peer, 0, sizeof peer);
    if (stream) {
      int c = accept(fd, (struct sockaddr *)&peer, &plen);
      if (c < 0) fail("accept");
      struct sockaddr_storage real;
      socklen_t rlen = sizeof real;
      memset(&real, 0, sizeof real);
      if (syscall(SYS_getpeername, c, &real, &rlen) != 0) fail("raw getpeername");
      print_pair("peer", &real, &peer);
      ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT); /* tfo data, if any; not needed */
      (void)n;
      dprintf(c, "%s\n", tag);
      close(c);
    } else {
      struct sockaddr_storage real;
      peek_source(fd, &real);
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
      if (n < 0) fail("recvfrom");
      print_pair("peer", &real, &peer);
      if (sendto(fd, tag, strlen(tag), 0, (struct sockaddr *)&peer, plen) < 0) fail("sendto");
    }
  }
}

static int cmd_connect(int argc, char **argv) {
  const char *method = argv[2];
  int family = atoi(argv[3]);
  int stream = strcmp(method, "tcp") == 0 || strcmp(method, "tfo") == 0;
  int fd = make_socket(family, stream);
  struct sockaddr_storage ss;
  if (argc >= 8 && strcmp(argv[6], "from") == 0) {
    socklen_t from_len = make_addr(family, argv[7], "0", &ss);
    if (bind(fd, (struct sockaddr *)&ss, from_len) != 0) fail("bind");
  }
  socklen_t len = make_addr(family, argv[4], argv[5], &ss);
  const char hello[] = "hello";
  if (strcmp(method, "tcp") == 0) {
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) fail("connect");
  } else if (strcmp(method, "tfo") == 0) {
    if (sendto(fd, hello, sizeof hello, MSG_FASTOPEN, (struct sockaddr *)&ss, len) < 0) {
      fail("sendto(MSG_FASTOPEN)");
    }
  } else if (strcmp(method, "udp") == 0) {
    if (sendto(fd, hello, sizeof hello, 0, (struct sockaddr *)&ss, len) < 0) fail("sendto");
  } else if (strcmp(method, "udpmsg") == 0 || strcmp(method, "udpmmsg") == 0) {
    struct iovec iov = {.iov_base = (void *)hello, .iov_len = sizeof hello};
    struct msghdr msg = {.msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
    if (strcmp(method, "udpmsg") == 0) {
      if (sendmsg(fd, &msg, 0) < 0) fail("sendmsg");
    } else {
      struct mmsghdr m = {.msg_hdr = msg};
      if (sendmmsg(fd, &m, 1, 0) != 1) fail("sendmmsg");
      if (m.msg_len != sizeof hello) fail("sendmmsg msg_len");
    }
  } else {
    errno = EINVAL;
    fail("unknown method");
  }
  print_local("local", fd);
  char buf[256];
  ssize_t n;
  if (stream) {
    print_name("remote", fd, 1);
    n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0) fail("recv");
  } else {
    /* the reply's source, through the call that matches the send method */
    struct sockaddr_storage real, from;
    socklen_t from_len = sizeof from;
    memset(&from, 0, sizeof from);
    peek_source(fd, &real);
    if (strcmp(method, "udp") == 0) {
      n = recvfrom(fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &from_len);
      if (n < 0) fail("recvfrom");
    } else {
      struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf - 1};
      struct msghdr msg = {.msg_name = &from, .msg_namelen = from_len, .msg_iov = &iov,
                           .msg_iovlen = 1};
      if (strcmp(method, "udpmsg") == 0) {
        n = recvmsg(fd, &msg, 0);
        if (n < 0) fail("recvmsg");
      } else {
        struct mmsghdr m = {.msg_hdr = msg};
        if (recvmmsg(fd, &m, 1, 0, NULL) != 1) fail("recvmmsg");
        n = (ssize_t)m.msg_len;
      }
    }
    print_pair("from", &real, &from);
  }
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  printf("reply %s\n", buf);
  return 0;
}

/* A TCP socket made and bound with raw syscalls: the shim neither sees nor records it. */
static int raw_plain_socket(const struct sockaddr_storage *real) {
  int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("raw socket");
  struct sockaddr_in sin;
  memcpy(&sin, real, sizeof sin);
  sin.sin_port = 0;
  if (syscall(SYS_bind, fd, &sin, sizeof sin) != 0) fail("raw bind");
  return fd;
}

static int bound_socket(const char *addr) {
  int fd = make_socket(4, 1);
  struct sockaddr_storage ss;
  socklen_t len = make_addr(4, addr, "0", &ss);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) fail("bind");
  return fd;
}

static void expect_fd(int got, int want, const char *what) {
  if (got != want) {
    printf("error %s: got fd %d, expected %d\n", what, got, want);
    exit(1);
  }
}

static int cmd_fdcheck(char **argv) {
  int s = bound_socket(argv[2]);
  print_local("bound", s);
  struct sockaddr_storage real;
  socklen_t rlen = sizeof real;
  if (syscall(SYS_getsockname, s, &real, &rlen) != 0) fail("raw getsockname");

  int d1 = dup(s), d2 = fcntl(s, F_DUPFD, 50), d3 = fcntl(s, F_DUPFD_CLOEXEC, 60);
  int d4 = dup2(s, 70), d5 = dup3(s, 80, O_CLOEXEC);
  if (d1 < 0 || d2 < 0 || d3 < 0 || d4 < 0 || d5 < 0) fail("dup");
  print_local("dup", d1);
  print_local("dupfd", d2);
  print_local("dupfd-cloexec", d3);
  print_local("dup2", d4);
  print_local("dup3", d5);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max > 70001) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  int high = dup2(s, 70000);
  if (high == 70000) {
    print_local("high", high);
    close(high);
  } else {
    printf("skip high\n");
  }
  close(d1), close(d2), close(d3), close(d4), close(d5);

  /* the number of a recorded socket, reused by a socket the shim never saw */
  close(s);
  int p = raw_plain_socket(&real);
  expect_fd(p, s, "reuse after close");
  print_local("after-close", p);
  close(p);

  s = bound_socket(argv[2]);
  if (close_range((unsigned)s, (unsigned)s, 0) != 0) fail("close_range");
  p = raw_plain_socket(&real);
  expect_fd(p, s, "reuse after close_range");
  print_local("after-close-range", p);
  close(p);

  /* closed behind the shim's back: the next socket() must not inherit the entry */
  s = bound_socket(argv[2]);
  syscall(SYS_close, s);
  p = make_socket(4, 1);
  expect_fd(p, s, "reuse after raw close");
  struct sockaddr_in sin;
  memcpy(&sin, &real, sizeof sin);
  sin.sin_port = 0;
  if (syscall(SYS_bind, p, &sin, sizeof sin) != 0) fail("raw bind");
  print_local("after-raw-close", p);
  close(p);

  s = bound_socket(argv[2]);
  p = raw_plain_socket(&real);
  if (dup2(p, s) != s) fail("dup2");
  print_local("dup2-over", s);
  return 0;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_watch(char **argv) {
  char line[256];
  alarm(60);
  while (fgets(line, sizeof line, stdin) != NULL) {
    char expect[64];
    int limit_ms;
    if (sscanf(line, "expect %63s %d", expect, &limit_ms) != 2) continue;
    long long start = now_ms();
    char got[80] = "";
    for (;;) {
      int fd = make_socket(4, 1);
      struct sockaddr_storage ss;
      socklen_t len = make_addr(4, argv[2], "0", &ss);
      if (bind(fd, (struct sockaddr *)&ss, len) != 0) fail("bind");
      struct sockaddr_in sin;
      socklen_t slen = sizeof sin;
      syscall(SYS_getsockname, fd, &sin, &slen); /* where it really landed */
      close(fd);
      inet_ntop(AF_INET, &sin.sin_addr, got, sizeof got);
      long long elapsed = now_ms() - start;
      if (strcmp(got, expect) == 0) {
        printf("got %s after %lld ms\n", got, elapsed);
        break;
      }
      if (elapsed > limit_ms) {
        printf("timeout last %s\n", got);
        break;
      }
      struct timespec pause = {.tv_nsec = 20 * 1000000L}; /* bounded poll: <= limit_ms / 20 tries */
      nanosleep(&pause, NULL);
    }
    fflush(stdout);
  }
  return 0;
}

/* ---- resolve NAME: the host's own name through every resolver call ------------------------ */

static void print_ai(const char *label, const char *name, int family, int flags) {
  struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_STREAM, .ai_flags = flags};
  struct addrinfo *res = NULL;
  int r = getaddrinfo(name, "80", &hints, &res);
  if (r != 0) {
    printf("%s error %s\n", label, gai_strerror(r));
    return;
  }
  printf("%s", label);
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    char text[80];
    format(&ss, text, sizeof text);
    printf(" %s", text);
  }
  if (flags & AI_CANONNAME) printf(" canon %s", res->ai_canonname ? res->ai_canonname : "(null)");
  printf("\n");
  freeaddrinfo(res); /* glibc's: must accept what the shim returned */
}

static void print_hostent(const char *label, const struct hostent *h) {
  if (h == NULL) {
    printf("%s error h_errno %d\n", label, h_errno);
    return;
  }
  printf("%s %s", label, h->h_name);
  for (char **a = h->h_addr_list; *a != NULL; a++) {
    char ip[INET6_ADDRSTRLEN];
    inet_ntop(h->h_addrtype, *a, ip, sizeof ip);
    printf(" %s", ip);
  }
  int aliases = 0;
  for (char **a = h->h_aliases; *a != NULL; a++) aliases++;
  printf(" aliases %d\n", aliases);
}

static int cmd_resolve(char **argv) {
  const char *name = argv[2];
  print_ai("gai4", name, AF_INET, 0);
  print_ai("gai", name, AF_UNSPEC, AI_CANONNAME);
  print_ai("gai6mapped", name, AF_INET6, AI_V4MAPPED);
  print_ai("gaipassive", name, AF_INET, AI_PASSIVE);
  print_hostent("ghbn", gethostbyname(name));
  print_hostent("ghbn2", gethostbyname2(name, AF_INET));
  struct hostent h, *result = NULL;
  char buf[1024];
  int herr = 0;
  int r = gethostbyname_r(name, &h, buf, sizeof buf, &result, &herr);
  if (r != 0) printf("ghbnr error %d\n", r);
  else print_hostent("ghbnr", result);
  char tiny[8];
  r = gethostbyname_r(name, &h, tiny, sizeof tiny, &result, &herr);
  printf("ghbnr-tiny %s\n", r == ERANGE && result == NULL ? "ERANGE" : r == 0 ? "ok" : "other");
  fflush(stdout);
  return 0;
}

/* ---- stress SECONDS THREADS: the rule table under concurrent rewrites ------------------------ */

#define STRESS_MAX_THREADS 64
static atomic_int stress_stop;
static atomic_long stress_ops, stress_bad, stress_passthrough;
static const char *stress_path;

static void write_rules_file(const char *text) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", stress_path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL) fail("fopen rules");
  fputs(text, f);
  fclose(f);
  if (rename(tmp, stress_path) != 0) fail("rename rules");
}

static void *stress_writer(void *arg) {
  (void)arg;
  for (int i = 0; !atomic_load(&stress_stop); i++) {
    write_rules_file(i % 2 ? "vipfarm-rules 1\nloopback4 127.0.1.22\nvip4 127.100.1.22\n"
                           : "vipfarm-rules 1\nloopback4 127.0.1.21\nvip4 127.100.1.21\n");
    struct timespec pause = {.tv_nsec = 1000000L};
    nanosleep(&pause, NULL);
  }
  return NULL;
}

static int is_vip(struct in_addr a) {
  return a.s_addr == inet_addr("127.100.1.21") || a.s_addr == inet_addr("127.100.1.22");
}

static void *stress_worker(void *arg) {
  (void)arg;
  while (!atomic_load(&stress_stop)) {
    /* bind 0.0.0.0 -> one of the two VIPs, shown as 0.0.0.0 */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET};
    struct sockaddr_in real, shown;
    socklen_t len = sizeof real;
    if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof any) != 0) fail("stress bind");
    syscall(SYS_getsockname, fd, &real, &len);
    len = sizeof shown;
    getsockname(fd, (struct sockaddr *)&shown, &len);
    int dupped = dup(fd);
    close(fd);
    if (real.sin_addr.s_addr == htonl(INADDR_ANY)) atomic_fetch_add(&stress_passthrough, 1);
    else if (!is_vip(real.sin_addr) || shown.sin_addr.s_addr != htonl(INADDR_ANY)) {
      atomic_fetch_add(&stress_bad, 1);
    }
    /* UDP connect 127.0.0.1 -> V, getpeername shows 127.0.0.1 */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_port = htons(9),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (u < 0 || connect(u, (struct sockaddr *)&lo, sizeof lo) != 0) fail("stress connect");
    len = sizeof real;
    syscall(SYS_getpeername, u, &real, &len);
    len = sizeof shown;
    getpeername(u, (struct sockaddr *)&shown, &len);
    if (real.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) atomic_fetch_add(&stress_passthrough, 1);
    else if (!is_vip(real.sin_addr) || shown.sin_addr.s_addr != htonl(INADDR_LOOPBACK)) {
      atomic_fetch_add(&stress_bad, 1);
    }
    close(u);
    close(dupped);
    atomic_fetch_add(&stress_ops, 2);
  }
  return NULL;
}

static int cmd_stress(char **argv) {
  double seconds = atof(argv[2]);
  int threads = atoi(argv[3]);
  if (threads < 1 || threads > STRESS_MAX_THREADS) threads = 8;
  const char *run = getenv("VIPFARM_RUN_DIR"), *session = getenv("VIPFARM_SESSION");
  if (run == NULL || session == NULL) fail("stress needs VIPFARM_RUN_DIR and VIPFARM_SESSION");
  static char path[4096];
  snprintf(path, sizeof path, "%s/sessions/%s.rules", run, session);
  stress_path = path;
  alarm((unsigned)seconds + 30);
  pthread_t writer, workers[STRESS_MAX_THREADS];
  pthread_create(&writer, NULL, stress_writer, NULL);
  for (int i = 0; i < threads; i++) pthread_create(&workers[i], NULL, stress_worker, NULL);
  struct timespec run_for = {.tv_sec = (time_t)seconds,
                             .tv_nsec = (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&run_for, NULL);
  atomic_store(&stress_stop, 1);
  for (int i = 0; i < threads; i++) pthread_join(workers[i], NULL);
  pthread_join(writer, NULL);
  printf("stress ops %ld bad %ld passthrough %ld\n", atomic_load(&stress_ops),
         atomic_load(&stress_bad), atomic_load(&stress_passthrough));
  return 0;
}

static int cmd_rawserve(char **argv) {
  alarm(60); /* never outlive a broken test run */
  struct sockaddr_storage ss;
  socklen_t len = make_addr(4, argv[2], argv[3], &ss);
  int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("raw socket");
  if (syscall(SYS_bind, fd, &ss, len) != 0) fail("raw bind");
  if (syscall(SYS_listen, fd, 16) != 0) fail("raw listen");
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}

static double ms_since(const struct timespec *t0) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static int cmd_loop(char **argv) {
  int pause_ms = atoi(argv[4]), count = atoi(argv[5]);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < count; i++) {
    struct sockaddr_storage ss;
    socklen_t len = make_addr(4, argv[2], argv[3], &ss);
    int fd = make_socket(4, 1);
    char buf[256];
    ssize_t n = -1;
    if (connect(fd, (struct sockaddr *)&ss, len) == 0) n = recv(fd, buf, sizeof buf - 1, 0);
    if (n >= 0) {
      buf[n] = '\0';
      buf[strcspn(buf, "\n")] = '\0';
      printf("%.0f reply %s\n", ms_since(&t0), buf);
    } else {
      printf("%.0f error %s\n", ms_since(&t0), strerror(errno));
    }
    fflush(stdout);
    close(fd);
    struct timespec d = {.tv_sec = pause_ms / 1000, .tv_nsec = (long)(pause_ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
  }
  return 0;
}

/* One socket for the whole run: what the kernel path keeps per socket must follow rules changes. */
static int cmd_udploop(char **argv) {
  int pause_ms = atoi(argv[4]), count = atoi(argv[5]);
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  struct sockaddr_storage ss;
  socklen_t len = make_addr(4, argv[2], argv[3], &ss);
  int fd = make_socket(4, 0);
  struct timeval tv = {.tv_usec = 500000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (int i = 0; i < count; i++) {
    char buf[256];
    ssize_t n = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) == 1 ? recv(fd, buf, sizeof buf - 1, 0) : -1;
    if (n >= 0) {
      buf[n] = '\0';
      printf("%.0f reply %s\n", ms_since(&t0), buf);
    } else {
      printf("%.0f error %s\n", ms_since(&t0), strerror(errno));
    }
    fflush(stdout);
    struct timespec d = {.tv_sec = pause_ms / 1000, .tv_nsec = (long)(pause_ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && strcmp(argv[1], "rawserve") == 0) return cmd_rawserve(argv);
  if (argc >= 6 && strcmp(argv[1], "loop") == 0) return cmd_loop(argv);
  if (argc >= 6 && strcmp(argv[1], "udploop") == 0) return cmd_udploop(argv);
  if (argc >= 6 && strcmp(argv[1], "bind") == 0) return cmd_bind(argc, argv);
  if (argc >= 7 && strcmp(argv[1], "serve") == 0) return cmd_serve(argv);
  if (argc >= 6 && strcmp(argv[1], "connect") == 0) return cmd_connect(argc, argv);
  if (argc >= 3 && strcmp(argv[1], "fdcheck") == 0) return cmd_fdcheck(argv);
  if (argc >= 3 && strcmp(argv[1], "watch") == 0) return cmd_watch(argv);
  if (argc >= 3 && strcmp(argv[1], "resolve") == 0) return cmd_resolve(argv);
  if (argc >= 4 && strcmp(argv[1], "stress") == 0) return cmd_stress(argv);
  fprintf(stderr, "usage: see the comment at the top of tests/probe.c\n");
  return 2;
}
