/*
 * vf-bench: the cost of interception, measured by running this same program without enforcement,
 * with LD_PRELOAD (the shim) and inside a session cgroup with the BPF hooks attached (the kernel
 * path); bench/run.sh does all three in one run and prints the ratios.
 *
 *   vf-bench ITERATIONS LOOP_SECONDS [WHICH]
 *
 * WHICH: "all" (default), or a comma-separated list of "calls" (the per-call figures), "loop",
 * "udp": bench/run.sh runs many short rounds of one part when asked to.
 *
 * Prints one line per measurement, "NAME VALUE UNIT":
 *   bind-rewritten      ns per socket + bind(127.0.0.1:0) + close (rewritten to L/V in a session)
 *   connect-rewritten   ns per socket + UDP connect(127.0.0.1:9) + close (rewritten; no packet)
 *   getsockname-pass    ns per getsockname on an fd the shim has nothing recorded for
 *   connect-pass        ns per connect(AF_UNSPEC) on a UDP socket (not inet: passed through)
 *   sendto-pass         ns per sendto(-1, NULL address): the hook's pass-through cost, kernel answers EBADF
 *   sendto-unix-pass    ns per sendto + recv on an AF_UNIX datagram socketpair (passed through)
 *   bind-pass           ns per socket + bind(127.0.0.2:0) + close (an address no rule rewrites)
 *   loop                connections per second of connect(127.0.0.1) / 64-byte echo / close
 *                       against an echo server thread bound to 127.0.0.1 in the same process
 *   udp                 datagrams per second of sendto(127.0.0.1) of 64 bytes + recvfrom on a UDP
 *                       socket bound to 127.0.0.1 in the same thread
 *   loop-cpu, udp-cpu   the same per second of the process's CPU time (all threads): the work
 *                       itself, without the time spent waiting for a CPU on a busy machine
 * Only 127.0.0.0/8.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU time of the whole process (all threads): what the work costs, whatever else runs. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in addr4(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

static void die(const char *what) {
  fprintf(stderr, "vf-bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void report(const char *name, double seconds, long n) {
  printf("%s %.1f ns\n", name, seconds * 1e9 / (double)n);
}

static void bench_bind(const char *name, const char *ip, long n) {
  struct sockaddr_in a = addr4(ip, 0);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
    close(fd);
  }
  report(name, now() - t0, n);
}

static void bench_connect_rewritten(long n) {
  struct sockaddr_in a = addr4("127.0.0.1", 9);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
    close(fd);
  }
  report("connect-rewritten", now() - t0, n);
}

static void bench_pass(long n) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_storage ss;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) die("getsockname");
  }
  report("getsockname-pass", now() - t0, n);

  struct sockaddr unspec = {.sa_family = AF_UNSPEC};
  t0 = now();
  for (long i = 0; i < n; i++) connect(fd, &unspec, sizeof unspec);
  report("connect-pass", now() - t0, n);
  close(fd);

  /* the hook's own pass-through cost, with the cheapest kernel answer (EBADF) so noise stays small */
  t0 = now();
  for (long i = 0; i < n; i++) sendto(-1, &unspec, 1, 0, NULL, 0);
  report("sendto-pass", now() - t0, n);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0) die("socketpair");
  char byte = 'x';
  t0 = now();
  for (long i = 0; i < n; i++) {
    if (sendto(sv[0], &byte, 1, 0, NULL, 0) != 1 || recv(sv[1], &byte, 1, 0) != 1) die("sendto");
  }
  report("sendto-unix-pass", now() - t0, n);
  close(sv[0]);
  close(sv[1]);
}

static int listener;

static void *echo_server(void *arg) {
  (void)arg;
  char buf[64];
  for (;;) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) return NULL;
    ssize_t got = 0;
    while (got < (ssize_t)sizeof buf) {
      ssize_t r = read(c, buf + got, sizeof buf - (size_t)got);
      if (r <= 0) break;
      got += r;
    }
    if (got > 0 && write(c, buf, (size_t)got) < 0) {
      /* the client went away: next */
    }
    close(c);
  }
}

static void bench_loop(double seconds) {
  listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = addr4("127.0.0.1", 0);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (bind(listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(listener, 512) != 0) die("listen");
  socklen_t len = sizeof a;
  getsockname(listener, (struct sockaddr *)&a, &len); /* 127.0.0.1:PORT as the program sees it */
  pthread_t t;
  pthread_create(&t, NULL, echo_server, NULL);
  char buf[64];
  memset(buf, 'v', sizeof buf);
  long n = 0;
  double t0 = now(), end = t0 + seconds, c0 = cpu_now();
  while (now() < end) {
    for (int k = 0; k < 64; k++, n++) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("loop connect");
      if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) die("loop write");
      ssize_t got = 0;
      while (got < (ssize_t)sizeof buf) {
        ssize_t r = read(fd, buf + got, sizeof buf - (size_t)got);
        if (r <= 0) die("loop read");
        got += r;
      }
      close(fd);
    }
  }
  double c1 = cpu_now();
  printf("loop %.0f conn/s\n", (double)n / (now() - t0));
  printf("loop-cpu %.0f conn/s\n", (double)n / (c1 - c0));
}

static void bench_udp(double seconds) {
  int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = addr4("127.0.0.1", 0);
  if (rx < 0 || tx < 0 || bind(rx, (struct sockaddr *)&a, sizeof a) != 0) die("udp bind");
  socklen_t len = sizeof a;
  getsockname(rx, (struct sockaddr *)&a, &len); /* 127.0.0.1:PORT as the program sees it */
  char buf[64];
  memset(buf, 'u', sizeof buf);
  long n = 0;
  double t0 = now(), end = t0 + seconds, c0 = cpu_now();
  while (now() < end) {
    for (int k = 0; k < 256; k++, n++) {
      struct sockaddr_in from;
      socklen_t from_len = sizeof from;
      if (sendto(tx, buf, sizeof buf, 0, (struct sockaddr *)&a, sizeof a) != (ssize_t)sizeof buf ||
          recvfrom(rx, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len) != (ssize_t)sizeof buf) {
        die("udp loop");
      }
    }
  }
  double c1 = cpu_now();
  printf("udp %.0f dgram/s\n", (double)n / (now() - t0));
  printf("udp-cpu %.0f dgram/s\n", (double)n / (c1 - c0));
  close(rx);
  close(tx);
}

static int wanted(const char *which, const char *part) {
  if (strcmp(which, "all") == 0) return 1;
  size_t len = strlen(part);
  for (const char *p = which; (p = strstr(p, part)) != NULL; p += len) {
    if ((p == which || p[-1] == ',') && (p[len] == '\0' || p[len] == ',')) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  double loop_seconds = argc > 2 ? atof(argv[2]) : 2.0;
  const char *which = argc > 3 ? argv[3] : "all";
  if (!wanted(which, "calls") && !wanted(which, "loop") && !wanted(which, "udp")) {
    fprintf(stderr, "vf-bench: WHICH is all or a list of calls,loop,udp: %s\n", which);
    return 2;
  }
  if (wanted(which, "calls")) {
    bench_pass(n * 5);
    bench_bind("bind-rewritten", "127.0.0.1", n);
    bench_bind("bind-pass", "127.0.0.2", n);
    bench_connect_rewritten(n);
  }
  if (wanted(which, "loop")) bench_loop(loop_seconds);
  if (wanted(which, "udp")) bench_udp(loop_seconds);
  fflush(stdout);
  return 0;
}
