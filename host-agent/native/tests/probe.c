/*
 * vf-probe: a small socket program the integration tests run under the preload. It reports what
 * the kernel really did (getsockname / the peer's address), one line per fact, on stdout.
 *
 *   vf-probe bind    tcp|udp 4|6 ADDR PORT [v6only] [times N]   -> "bound A" per bind
 *   vf-probe serve   tcp|udp 4|6 ADDR PORT TAG                  -> "ready A", then "peer A" per client;
 *                                                                   answers each client with TAG
 *   vf-probe connect tcp|udp|udpmsg|udpmmsg|tfo 4|6 ADDR PORT  -> "local A", "reply TAG"
 *   vf-probe watch   ADDR                                        -> per stdin line "expect IP MS":
 *                      binds ADDR:0 on fresh TCP sockets until it lands on IP or MS ms pass;
 *                      "got IP after N ms" / "timeout last A"
 * Exit status 0 on success, 1 with "error WHAT: strerror" on stdout otherwise. Every blocking
 * call has a timeout (alarm, SO_RCVTIMEO): a broken shim fails a test, never hangs it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

static void print_local(const char *label, int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) fail("getsockname");
  char text[80];
  format(&ss, text, sizeof text);
  printf("%s %s\n", label, text);
  fflush(stdout);
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

static void print_peer(const struct sockaddr_storage *ss) {
  char text[80];
  format(ss, text, sizeof text);
  printf("peer %s\n", text);
  fflush(stdout);
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
      print_peer(&peer);
      ssize_t n = recv(c, buf, sizeof buf, MSG_DONTWAIT); /* tfo data, if any; not needed */
      (void)n;
      dprintf(c, "%s\n", tag);
      close(c);
    } else {
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&peer, &plen);
      if (n < 0) fail("recvfrom");
      print_peer(&peer);
      if (sendto(fd, tag, strlen(tag), 0, (struct sockaddr *)&peer, plen) < 0) fail("sendto");
    }
  }
}

static int cmd_connect(char **argv) {
  const char *method = argv[2];
  int family = atoi(argv[3]);
  int stream = strcmp(method, "tcp") == 0 || strcmp(method, "tfo") == 0;
  int fd = make_socket(family, stream);
  struct sockaddr_storage ss;
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
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  if (n < 0) fail("recv");
  buf[n] = '\0';
  buf[strcspn(buf, "\n")] = '\0';
  printf("reply %s\n", buf);
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
      getsockname(fd, (struct sockaddr *)&sin, &slen);
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

int main(int argc, char **argv) {
  if (argc >= 6 && strcmp(argv[1], "bind") == 0) return cmd_bind(argc, argv);
  if (argc >= 7 && strcmp(argv[1], "serve") == 0) return cmd_serve(argv);
  if (argc >= 6 && strcmp(argv[1], "connect") == 0) return cmd_connect(argv);
  if (argc >= 3 && strcmp(argv[1], "watch") == 0) return cmd_watch(argv);
  fprintf(stderr, "usage: see the comment at the top of tests/probe.c\n");
  return 2;
}
