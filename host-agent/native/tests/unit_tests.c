/*
 * Unit tests of the pure parts of the shim, without the preload: rules parsing (rules.c), address
 * classification and the rewrite decision (addr.c), program names (program.c), the per-socket
 * table and the address translation back to what the program used (fdtab.c), the host's own
 * name (hostname.c).
 * Prints one line per failed check and "N passed, N failed" last; exits nonzero on any failure.
 */
#include "shim.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed, failed;

#define CHECK(cond) \
  do { \
    if (cond) { \
      passed++; \
    } else { \
      failed++; \
      printf("FAIL %s:%d in %s: %s\n", __FILE__, __LINE__, __func__, #cond); \
    } \
  } while (0)

#define CHECK_STR(actual, expected) \
  do { \
    const char *a_ = (actual), *e_ = (expected); \
    if (strcmp(a_, e_) == 0) { \
      passed++; \
    } else { \
      failed++; \
      printf("FAIL %s:%d in %s: %s is '%s', expected '%s'\n", __FILE__, __LINE__, __func__, \
             #actual, a_, e_); \
    } \
  } while (0)

/* ---- helpers ------------------------------------------------------------------------------- */

static const struct vf_program probe = {.exe = "vf-probe", .argv0 = "vf-probe"};
static const struct vf_program python = {.exe = "python3.11", .argv0 = "python3"};
static const struct vf_program curl = {.exe = "curl", .argv0 = "curl"};

static char last_error[256];

static bool parse_for(const char *text, const struct vf_program *prog, struct vf_rules *r) {
  return vf_rules_parse(text, strlen(text), "7", prog, r, last_error, sizeof last_error) ==
         VF_PARSE_OK;
}

static const char *ip4(struct in_addr a) {
  static char buf[4][INET_ADDRSTRLEN];
  static int next;
  char *b = buf[next++ % 4];
  inet_ntop(AF_INET, &a, b, INET_ADDRSTRLEN);
  return b;
}

/* "1.2.3.4:80" -> sockaddr_in; "[::]:80" -> sockaddr_in6 */
static socklen_t sa(const char *text, struct sockaddr_storage *ss) {
  char ip[64];
  unsigned port;
  memset(ss, 0, sizeof *ss);
  if (text[0] == '[') {
    if (sscanf(text, "[%63[^]]]:%u", ip, &port) != 2) abort();
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
    s->sin6_family = AF_INET6;
    s->sin6_port = htons((uint16_t)port);
    s->sin6_scope_id = 3; /* must survive a rewrite */
    if (inet_pton(AF_INET6, ip, &s->sin6_addr) != 1) abort();
    return sizeof *s;
  }
  if (sscanf(text, "%63[^:]:%u", ip, &port) != 2) abort();
  struct sockaddr_in *s = (struct sockaddr_in *)ss;
  s->sin_family = AF_INET;
  s->sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, ip, &s->sin_addr) != 1) abort();
  return sizeof *s;
}

/* The decision as text: "pass", "bind-source 127.100.0.7" or the rewritten address. */
static const char *decide(const struct vf_rules *r, enum vf_call call, const char *addr,
                          bool v6only) {
  static char out[128];
  struct sockaddr_storage ss;
  socklen_t len = sa(addr, &ss);
  struct vf_decision d;
  vf_decide(r, call, (struct sockaddr *)&ss, len, v6only, &d);
  if (d.action == VF_PASS) return "pass";
  if (d.action == VF_BIND_SOURCE) {
    snprintf(out, sizeof out, "bind-source %s", ip4(d.source));
    return out;
  }
  if (d.addr_len != len) return "length changed";
  if (ss.ss_family == AF_INET6 &&
      ((struct sockaddr_in6 *)&d.addr)->sin6_scope_id != ((struct sockaddr_in6 *)&ss)->sin6_scope_id) {
    return "scope id changed";
  }
  vf_sockaddr_format((struct sockaddr *)&d.addr, d.addr_len, out, sizeof out);
  return out;
}

#define EXAMPLE \
  "# written by the agent\n" \
  "vipfarm-rules 1\n" \
  "session 7\n" \
  "loopback4 127.0.0.8\n" \
  "loopback-programs *\n" \
  "excluded-ports 5432\n" \
  "vip4 127.100.0.7\n" \
  "vip-programs *\n" \
  "prefer-loopback python3* curl\n" \
  "host-addresses 10.1.2.3 fd00::3\n"

/* ---- rules parsing ------------------------------------------------------------------------- */

static void test_parse_example(void) {
  struct vf_rules r;
  CHECK(parse_for(EXAMPLE, &probe, &r));
  CHECK(r.active);
  CHECK(r.has_loopback);
  CHECK_STR(ip4(r.loopback), "127.0.0.8");
  CHECK(r.has_vip);
  CHECK_STR(ip4(r.vip), "127.100.0.7");
  CHECK(!r.prefer_loopback);
  CHECK(r.n_excluded_ports == 1 && r.excluded_ports[0] == 5432);
  CHECK(vf_rules_port_excluded(&r, 5432));
  CHECK(!vf_rules_port_excluded(&r, 5433));
  CHECK(r.n_host_addresses == 2);

  CHECK(parse_for(EXAMPLE, &python, &r)); /* python3* matches argv[0] "python3" */
  CHECK(r.prefer_loopback);
  CHECK(parse_for(EXAMPLE, &curl, &r));
  CHECK(r.prefer_loopback);
}

static void test_parse_comments_blank_unknown(void) {
  struct vf_rules r;
  CHECK(parse_for("\n  # comment\n\nvipfarm-rules 1   # trailing\n\t\nloopback4\t127.0.0.8\r\n"
                  "future-directive a b c\nvip4 127.100.0.7", &probe, &r));
  CHECK(r.has_loopback && r.has_vip);
  CHECK(parse_for("vipfarm-rules 1\n", &probe, &r)); /* no rules at all: valid, rewrites nothing */
  CHECK(r.active && !r.has_loopback && !r.has_vip);
}

static void test_parse_rejects(void) {
  struct vf_rules r;
  const char *bad[] = {
      "",                                               /* empty */
      "# only a comment\n",                             /* no header */
      "vipfarm-rules 2\n",                              /* unknown version */
      "vipfarm-rules\n",                                /* no version */
      "loopback4 127.0.0.8\nvipfarm-rules 1\n",         /* header not first */
      "vipfarm-rules 1\nloopback4 127.0.0.256\n",       /* bad address */
      "vipfarm-rules 1\nloopback4 localhost\n",         /* not an address */
      "vipfarm-rules 1\nloopback4\n",                   /* missing value */
      "vipfarm-rules 1\nvip4 127.100.0.1 127.100.0.2\n",/* two values */
      "vipfarm-rules 1\nvip4 ::1\n",                    /* IPv6 where IPv4 is required */
      "vipfarm-rules 1\nvip4 1.2.3.4\nvip4 1.2.3.5\n",  /* duplicate */
      "vipfarm-rules 1\nsession 8\n",                   /* someone else's rules */
      "vipfarm-rules 1\nexcluded-ports 0\n",            /* port out of range */
      "vipfarm-rules 1\nexcluded-ports 65536\n",
      "vipfarm-rules 1\nexcluded-ports 80x\n",
      "vipfarm-rules 1\nexcluded-ports -1\n",
      "vipfarm-rules 1\nprogram-vip curl\n",            /* glob without address */
      "vipfarm-rules 1\nprogram-vip curl 1.2.3\n",
      "vipfarm-rules 1\nhost-addresses 10.0.0.1 nonsense\n",
      "vipfarm-rules 1\nvipfarm-rules 1\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    bool ok = parse_for(bad[i], &probe, &r);
    if (ok || r.active) printf("  accepted bad rules #%zu: %s\n", i, bad[i]);
    CHECK(!ok && !r.active);
    CHECK(last_error[0] != '\0');
  }
  CHECK(vf_rules_parse("vipfarm-rules 1\0x\n", 18, NULL, &probe, &r, NULL, 0) == VF_PARSE_INVALID);
}

static void test_parse_limits(void) {
  struct vf_rules r;
  char text[8192] = "vipfarm-rules 1\nexcluded-ports";
  for (int i = 1; i <= VF_MAX_EXCLUDED_PORTS; i++) {
    snprintf(text + strlen(text), sizeof text - strlen(text), " %d", i);
  }
  CHECK(parse_for(text, &probe, &r));
  CHECK(r.n_excluded_ports == VF_MAX_EXCLUDED_PORTS);
  strcat(text, " 9999");
  CHECK(!parse_for(text, &probe, &r));
  CHECK(strstr(last_error, "more than") != NULL);

  char line[5000];
  memset(line, 'a', sizeof line);
  memcpy(line, "vipfarm-rules 1\nx ", 18);
  line[sizeof line - 1] = '\0';
  CHECK(!parse_for(line, &probe, &r));
  CHECK(strstr(last_error, "line 2") != NULL);
}

static void test_parse_session_check(void) {
  struct vf_rules r;
  const char *text = "vipfarm-rules 1\nsession c1\nloopback4 127.0.0.2\n";
  CHECK(vf_rules_parse(text, strlen(text), "c1", &probe, &r, NULL, 0) == VF_PARSE_OK);
  CHECK(vf_rules_parse(text, strlen(text), NULL, &probe, &r, NULL, 0) == VF_PARSE_OK);
  CHECK(vf_rules_parse(text, strlen(text), "c2", &probe, &r, last_error, sizeof last_error) ==
        VF_PARSE_INVALID);
  CHECK(strstr(last_error, "c2") != NULL);
}

static void test_parse_program_globs(void) {
  struct vf_rules r;
  const char *loopback_for_python =
      "vipfarm-rules 1\nloopback4 127.0.0.8\nloopback-programs python* node\n";
  CHECK(parse_for(loopback_for_python, &python, &r) && r.has_loopback);
  CHECK(parse_for(loopback_for_python, &curl, &r) && !r.has_loopback);

  const char *no_programs = "vipfarm-rules 1\nloopback4 127.0.0.8\nloopback-programs\n";
  CHECK(parse_for(no_programs, &curl, &r) && !r.has_loopback);

  /* per-program mode: vip-programs restricts vip4; vip-programs may come before vip4 */
  const char *per_program = "vipfarm-rules 1\nvip-programs curl\nvip4 127.100.0.7\n";
  CHECK(parse_for(per_program, &curl, &r) && r.has_vip);
  CHECK(parse_for(per_program, &python, &r) && !r.has_vip);

  /* program-vip is checked before vip4, first matching line wins */
  const char *dedicated = "vipfarm-rules 1\nvip4 127.100.0.7\nvip-programs *\n"
                          "program-vip py* 127.100.0.50\nprogram-vip python3 127.100.0.51\n";
  CHECK(parse_for(dedicated, &python, &r) && r.has_vip);
  CHECK_STR(ip4(r.vip), "127.100.0.50");
  CHECK(parse_for(dedicated, &curl, &r) && r.has_vip);
  CHECK_STR(ip4(r.vip), "127.100.0.7");
  /* program-vip without vip4 */
  CHECK(parse_for("vipfarm-rules 1\nprogram-vip curl 127.100.0.9\n", &curl, &r) && r.has_vip);
  CHECK(parse_for("vipfarm-rules 1\nprogram-vip curl 127.100.0.9\n", &probe, &r) && !r.has_vip);
}

/* ---- classification ------------------------------------------------------------------------ */

static enum vf_addr_class class_of(const char *text) {
  struct sockaddr_storage ss;
  socklen_t len = sa(text, &ss);
  struct vf_sockaddr a;
  vf_sockaddr_classify((struct sockaddr *)&ss, len, &a);
  return a.cls;
}

static void test_classify(void) {
  CHECK(class_of("0.0.0.0:80") == VF_ADDR_WILDCARD);
  CHECK(class_of("[::]:80") == VF_ADDR_WILDCARD);
  CHECK(class_of("[::ffff:0.0.0.0]:80") == VF_ADDR_WILDCARD);
  CHECK(class_of("127.0.0.1:80") == VF_ADDR_LOCALHOST);
  CHECK(class_of("[::ffff:127.0.0.1]:80") == VF_ADDR_LOCALHOST);
  CHECK(class_of("[::1]:80") == VF_ADDR_V6_LOOPBACK);
  CHECK(class_of("127.0.0.9:80") == VF_ADDR_V4); /* another session's loopback */
  CHECK(class_of("127.100.0.8:80") == VF_ADDR_V4);
  CHECK(class_of("[::ffff:10.1.2.3]:80") == VF_ADDR_V4);
  CHECK(class_of("[fd00::1]:80") == VF_ADDR_V6);

  struct vf_sockaddr a;
  struct sockaddr_storage ss;
  socklen_t len = sa("127.0.0.1:80", &ss);
  vf_sockaddr_classify(NULL, len, &a);
  CHECK(a.cls == VF_ADDR_OTHER_FAMILY);
  vf_sockaddr_classify((struct sockaddr *)&ss, len - 1, &a); /* short addrlen */
  CHECK(a.cls == VF_ADDR_OTHER_FAMILY);
  vf_sockaddr_classify((struct sockaddr *)&ss, 1, &a);
  CHECK(a.cls == VF_ADDR_OTHER_FAMILY);
  len = sa("[::]:80", &ss);
  vf_sockaddr_classify((struct sockaddr *)&ss, 24, &a); /* RFC 2133 length is fine */
  CHECK(a.cls == VF_ADDR_WILDCARD && a.port == 80);
  vf_sockaddr_classify((struct sockaddr *)&ss, 23, &a);
  CHECK(a.cls == VF_ADDR_OTHER_FAMILY);
  struct sockaddr un = {.sa_family = AF_UNIX};
  vf_sockaddr_classify(&un, sizeof un, &a);
  CHECK(a.cls == VF_ADDR_OTHER_FAMILY);
}

/* ---- the rewrite decision: one check per row of the table ----------------------------------- */

static void test_decide_bind(void) {
  struct vf_rules r;
  CHECK(parse_for(EXAMPLE, &probe, &r));
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:8000", false), "127.100.0.7:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:0", false), "127.100.0.7:0");
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::]:8000", false), "[::ffff:127.100.0.7]:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::ffff:0.0.0.0]:8000", false), "[::ffff:127.100.0.7]:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::]:8000", true), "pass"); /* IPV6_V6ONLY */
  CHECK_STR(decide(&r, VF_CALL_BIND, "10.1.2.3:8000", false), "127.100.0.7:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::ffff:10.1.2.3]:8000", false), "[::ffff:127.100.0.7]:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "[fd00::3]:8000", false), "[::ffff:127.100.0.7]:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "10.1.2.4:8000", false), "pass"); /* not a host address */
  CHECK_STR(decide(&r, VF_CALL_BIND, "127.0.0.1:8000", false), "127.100.0.7:8000"); /* L and V */
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::ffff:127.0.0.1]:8000", false), "[::ffff:127.100.0.7]:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::1]:8000", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:5432", false), "pass"); /* excluded port */
  CHECK_STR(decide(&r, VF_CALL_BIND, "127.0.0.1:5432", false), "pass");

  CHECK(parse_for(EXAMPLE, &python, &r)); /* prefers loopback */
  CHECK_STR(decide(&r, VF_CALL_BIND, "127.0.0.1:8000", false), "127.0.0.8:8000");
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:8000", false), "127.100.0.7:8000");
}

static void test_decide_loopback_only(void) {
  struct vf_rules r;
  CHECK(parse_for("vipfarm-rules 1\nloopback4 127.0.0.9\n", &probe, &r));
  CHECK_STR(decide(&r, VF_CALL_BIND, "127.0.0.1:8000", false), "127.0.0.9:8000");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.0.0.1:8000", false), "127.0.0.9:8000");
  CHECK_STR(decide(&r, VF_CALL_SEND, "[::ffff:127.0.0.1]:53", false), "[::ffff:127.0.0.9]:53");
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:8000", false), "pass"); /* no V */
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.100.0.8:80", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "10.0.0.1:80", false), "pass");
}

static void test_decide_vip_only(void) {
  struct vf_rules r;
  CHECK(parse_for("vipfarm-rules 1\nvip4 10.9.0.7\n", &probe, &r));
  CHECK_STR(decide(&r, VF_CALL_BIND, "127.0.0.1:8000", false), "pass"); /* 127.0.0.1 needs L */
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.0.0.1:8000", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:8000", false), "10.9.0.7:8000");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "192.0.2.1:443", false), "bind-source 10.9.0.7");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.100.0.8:80", false), "bind-source 10.9.0.7");
}

static void test_decide_connect_send(void) {
  struct vf_rules r;
  CHECK(parse_for(EXAMPLE, &probe, &r));
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.0.0.1:9000", false), "127.100.0.7:9000");
  CHECK_STR(decide(&r, VF_CALL_SEND, "127.0.0.1:53", false), "127.100.0.7:53");
  /* another session's VIP or loopback is not "loopback": the traffic leaves from V */
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.100.0.8:80", false), "bind-source 127.100.0.7");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.0.0.9:80", false), "bind-source 127.100.0.7");
  CHECK_STR(decide(&r, VF_CALL_SEND, "[::ffff:127.100.0.8]:80", false), "bind-source 127.100.0.7");
  /* a 127/8 V cannot be the source towards a real network */
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "192.0.2.1:443", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "[2001:db8::1]:443", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "[::1]:443", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "0.0.0.0:443", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.100.0.8:5432", false), "pass"); /* excluded */
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.0.0.1:5432", false), "pass");

  CHECK(parse_for(EXAMPLE, &curl, &r)); /* prefers loopback */
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.0.0.1:9000", false), "127.0.0.8:9000");
}

static void test_decide_inactive(void) {
  struct vf_rules r;
  memset(&r, 0, sizeof r);
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:80", false), "pass");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "127.0.0.1:80", false), "pass");
  CHECK(!parse_for("vipfarm-rules 1\nvip4 bad\n", &probe, &r));
  CHECK_STR(decide(&r, VF_CALL_BIND, "0.0.0.0:80", false), "pass");
  struct vf_decision d;
  vf_decide(NULL, VF_CALL_BIND, NULL, 0, false, &d);
  CHECK(d.action == VF_PASS);
}

static void test_decide_target(void) {
  struct vf_rules r;
  struct sockaddr_storage ss;
  struct vf_decision d;
  CHECK(parse_for(EXAMPLE, &curl, &r)); /* L 127.0.0.8, V 127.100.0.7, prefers loopback */
  socklen_t len = sa("[::ffff:127.0.0.1]:80", &ss);
  vf_decide(&r, VF_CALL_CONNECT, (struct sockaddr *)&ss, len, false, &d);
  CHECK(d.action == VF_REPLACE && d.cls == VF_ADDR_LOCALHOST);
  CHECK_STR(ip4(d.target), "127.0.0.8");
  len = sa("[::]:80", &ss);
  vf_decide(&r, VF_CALL_BIND, (struct sockaddr *)&ss, len, false, &d);
  CHECK(d.action == VF_REPLACE && d.cls == VF_ADDR_WILDCARD);
  CHECK_STR(ip4(d.target), "127.100.0.7");
  len = sa("127.100.0.8:80", &ss);
  vf_decide(&r, VF_CALL_CONNECT, (struct sockaddr *)&ss, len, false, &d);
  CHECK(d.action == VF_BIND_SOURCE && d.cls == VF_ADDR_V4);
}

/* ---- the fd table and what the program sees ------------------------------------------------- */

static struct in_addr a4(const char *text) {
  struct in_addr a;
  if (inet_pton(AF_INET, text, &a) != 1) abort();
  return a;
}

static struct in6_addr a6(const char *text) {
  struct in6_addr a;
  if (inet_pton(AF_INET6, text, &a) != 1) abort();
  return a;
}

/* The address getsockname (local) or getpeername (remote) shows for fd when the kernel has
   `kernel`, with `present` bytes of it in the buffer (0: all of it). */
static const char *shown(int fd, bool local, const char *kernel, socklen_t present) {
  static char out[128];
  struct sockaddr_storage ss;
  socklen_t len = sa(kernel, &ss);
  struct vf_fd_state st;
  vf_fd_get(fd, &st);
  if (local) vf_show_local(&st, &ss, present ? present : len);
  else vf_show_remote(&st, &ss, present ? present : len);
  if (ss.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&ss)->sin6_scope_id != 3) {
    return "scope id changed";
  }
  vf_sockaddr_format((struct sockaddr *)&ss, len, out, sizeof out);
  return out;
}

static void test_fd_local(void) {
  CHECK(!vf_fd_tracked(10));
  struct in6_addr any4 = a6("::ffff:0.0.0.0");
  vf_fd_record_local(10, a4("127.100.0.7"), &any4);
  CHECK(vf_fd_tracked(10));
  CHECK_STR(shown(10, true, "127.100.0.7:8000", 0), "0.0.0.0:8000");
  CHECK_STR(shown(10, true, "127.100.0.8:8000", 0), "127.100.0.8:8000"); /* not ours: as is */
  CHECK_STR(shown(10, true, "127.100.0.7:8000", 7), "127.100.0.7:8000"); /* IP cut off */
  CHECK_STR(shown(10, false, "127.100.0.7:8000", 0), "127.100.0.7:8000"); /* no remote part */

  struct in6_addr any6 = a6("::");
  vf_fd_record_local(11, a4("127.100.0.7"), &any6);
  CHECK_STR(shown(11, true, "[::ffff:127.100.0.7]:8000", 0), "[::]:8000");
  CHECK_STR(shown(11, true, "[::ffff:127.100.0.7]:8000", 23), "[::ffff:127.100.0.7]:8000");
  CHECK_STR(shown(11, true, "[fd00::1]:8000", 0), "[fd00::1]:8000");
  struct in6_addr host = a6("fd00::3");
  vf_fd_record_local(12, a4("127.100.0.7"), &host);
  CHECK_STR(shown(12, true, "[::ffff:127.100.0.7]:8000", 0), "[fd00::3]:8000");
  CHECK_STR(shown(12, true, "127.100.0.7:8000", 0), "127.100.0.7:8000"); /* not v4-mapped */
  vf_fd_clear(10);
  vf_fd_clear(11);
  vf_fd_clear(12);
  CHECK(!vf_fd_tracked(10) && !vf_fd_tracked(11) && !vf_fd_tracked(12));
  CHECK_STR(shown(10, true, "127.100.0.7:8000", 0), "127.100.0.7:8000");
}

static void test_fd_remote(void) {
  vf_fd_record_remote(20, a4("127.0.0.8"));
  CHECK_STR(shown(20, false, "127.0.0.8:53", 0), "127.0.0.1:53");
  CHECK_STR(shown(20, false, "[::ffff:127.0.0.8]:53", 0), "[::ffff:127.0.0.1]:53");
  CHECK_STR(shown(20, false, "127.0.0.9:53", 0), "127.0.0.9:53");
  CHECK_STR(shown(20, true, "127.0.0.8:53", 0), "127.0.0.8:53"); /* no local part */
  /* a bind of 127.0.0.1 records both parts; recording one keeps the other */
  struct in6_addr lo = a6("::ffff:127.0.0.1");
  vf_fd_record_local(20, a4("127.0.0.8"), &lo);
  CHECK_STR(shown(20, true, "127.0.0.8:80", 0), "127.0.0.1:80");
  CHECK_STR(shown(20, false, "127.0.0.8:53", 0), "127.0.0.1:53");
  vf_fd_record_remote(20, a4("127.100.0.7"));
  CHECK_STR(shown(20, true, "127.0.0.8:80", 0), "127.0.0.1:80");
  CHECK_STR(shown(20, false, "127.100.0.7:53", 0), "127.0.0.1:53");
  vf_fd_clear(20);
}

static void test_fd_dup_close(void) {
  struct in6_addr lo = a6("::ffff:127.0.0.1");
  vf_fd_record_local(30, a4("127.0.0.8"), &lo);
  vf_fd_record_remote(30, a4("127.0.0.8"));
  vf_fd_copy(30, 31); /* dup */
  CHECK_STR(shown(31, true, "127.0.0.8:80", 0), "127.0.0.1:80");
  CHECK_STR(shown(31, false, "127.0.0.8:80", 0), "127.0.0.1:80");
  vf_fd_copy(39, 31); /* dup2 of an untracked fd over a tracked one */
  CHECK(!vf_fd_tracked(31));
  vf_fd_copy(30, 32);
  vf_fd_copy(30, 35);
  vf_fd_copy(30, 40);
  vf_fd_clear_range(31, 35); /* close_range */
  CHECK(vf_fd_tracked(30) && !vf_fd_tracked(32) && !vf_fd_tracked(35) && vf_fd_tracked(40));
  vf_fd_clear_range(0, ~0U);
  CHECK(!vf_fd_tracked(30) && !vf_fd_tracked(40));
}

static void test_fd_accept(void) {
  struct in6_addr lo = a6("::ffff:127.0.0.1"), any = a6("::");
  vf_fd_record_local(50, a4("127.0.0.8"), &lo); /* listener bound to 127.0.0.1 -> L */
  vf_fd_record_remote(50, a4("127.0.0.8"));
  vf_fd_record_local(51, a4("127.100.0.7"), &any); /* listener bound to :: -> V */
  vf_fd_record_remote(52, a4("127.0.0.8"));        /* stale entry of the accepted fd number */
  vf_fd_accepted(50, 52);
  CHECK_STR(shown(52, true, "127.0.0.8:80", 0), "127.0.0.1:80");
  CHECK_STR(shown(52, false, "127.0.0.8:4242", 0), "127.0.0.1:4242");
  CHECK_STR(shown(52, false, "127.0.0.1:4242", 0), "127.0.0.1:4242");
  CHECK_STR(shown(52, false, "127.100.0.8:4242", 0), "127.100.0.8:4242");
  vf_fd_accepted(51, 53); /* a connection to a wildcard listener really arrived at V */
  CHECK(!vf_fd_tracked(53));
  CHECK_STR(shown(53, true, "[::ffff:127.100.0.7]:80", 0), "[::ffff:127.100.0.7]:80");
  vf_fd_accepted(59, 52); /* untracked listener: the stale entry goes */
  CHECK(!vf_fd_tracked(52));
  vf_fd_clear_range(0, ~0U);
}

static void test_fd_bounds(void) {
  struct in6_addr lo = a6("::ffff:127.0.0.1");
  vf_fd_record_local(VF_FD_MAX, a4("127.0.0.8"), &lo);
  vf_fd_record_remote(VF_FD_MAX + 5, a4("127.0.0.8"));
  vf_fd_record_local(-1, a4("127.0.0.8"), &lo);
  CHECK(!vf_fd_tracked(VF_FD_MAX) && !vf_fd_tracked(VF_FD_MAX + 5) && !vf_fd_tracked(-1));
  CHECK_STR(shown(VF_FD_MAX, true, "127.0.0.8:80", 0), "127.0.0.8:80");
  vf_fd_record_local(VF_FD_MAX - 1, a4("127.0.0.8"), &lo);
  CHECK_STR(shown(VF_FD_MAX - 1, true, "127.0.0.8:80", 0), "127.0.0.1:80");
  vf_fd_copy(VF_FD_MAX - 1, VF_FD_MAX); /* dup to a number beyond the table: nothing recorded */
  CHECK(!vf_fd_tracked(VF_FD_MAX));
  vf_fd_clear_range(0, ~0U);
  CHECK(!vf_fd_tracked(VF_FD_MAX - 1));
  struct vf_fd_state st = {.has_remote = true, .remote_real = a4("127.0.0.8")};
  struct sockaddr un = {.sa_family = AF_UNIX};
  CHECK(!vf_show_remote(&st, &un, sizeof un));
  CHECK(!vf_show_remote(&st, NULL, 16));
  CHECK(!vf_show_remote(&st, &un, 1));
}

/* One writer flips fd 60 between two consistent states; readers must never see a mix. */
static atomic_bool stress_stop;
static atomic_int torn_reads;

static void *stress_reader(void *arg) {
  (void)arg;
  while (!atomic_load(&stress_stop)) {
    struct vf_fd_state st;
    if (!vf_fd_get(60, &st)) continue;
    if (!st.has_local || memcmp(&st.local_shown.s6_addr[12], &st.local_real, 4) != 0 ||
        (st.has_remote && st.remote_real.s_addr != st.local_real.s_addr)) {
      atomic_fetch_add(&torn_reads, 1);
    }
  }
  return NULL;
}

static void test_fd_concurrent(void) {
  pthread_t readers[3];
  for (int i = 0; i < 3; i++) pthread_create(&readers[i], NULL, stress_reader, NULL);
  for (int i = 0; i < 200000; i++) {
    char ip[32];
    snprintf(ip, sizeof ip, "127.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, (i & 255) | 1);
    struct vf_fd_state st = {.has_local = true, .local_real = a4(ip), .has_remote = (i & 1) != 0,
                             .remote_real = a4(ip)};
    char mapped[48];
    snprintf(mapped, sizeof mapped, "::ffff:%s", ip);
    st.local_shown = a6(mapped);
    vf_fd_put(60, &st);
  }
  atomic_store(&stress_stop, true);
  for (int i = 0; i < 3; i++) pthread_join(readers[i], NULL);
  CHECK(atomic_load(&torn_reads) == 0);
  vf_fd_clear(60);
}

/* ---- program names ------------------------------------------------------------------------- */

static void test_program(void) {
  CHECK_STR(vf_basename("/usr/bin/python3.11"), "python3.11");
  CHECK_STR(vf_basename("python3"), "python3");
  CHECK_STR(vf_basename("/usr/bin/"), "");
  CHECK_STR(vf_basename(NULL), "");
  CHECK(vf_program_matches(&python, "python3"));
  CHECK(vf_program_matches(&python, "python3.1?"));
  CHECK(vf_program_matches(&python, "*"));
  CHECK(!vf_program_matches(&python, "python2*"));
  struct vf_program self;
  vf_program_detect(&self);
  CHECK_STR(self.exe, "unit-tests");
  CHECK_STR(self.argv0, "unit-tests");
}

static void test_own_name(void) {
  CHECK(vf_is_own_name("vm", "vm", NULL));
  CHECK(vf_is_own_name("VM", "vm", NULL));
  CHECK(vf_is_own_name("vm.", "vm", NULL));
  CHECK(!vf_is_own_name("vm..", "vm", NULL));
  CHECK(!vf_is_own_name("vm2", "vm", NULL));
  CHECK(!vf_is_own_name("v", "vm", NULL));
  CHECK(!vf_is_own_name("vm.example.com", "vm", NULL));
  CHECK(vf_is_own_name("vm.example.com", "vm", "vm.example.com"));
  CHECK(vf_is_own_name("VM.Example.COM.", "vm", "vm.example.com"));
  CHECK(!vf_is_own_name("vm.example.org", "vm", "vm.example.com"));
  /* a host name that is an FQDN: its first label counts too */
  CHECK(vf_is_own_name("h1.farm.example", "h1.farm.example", NULL));
  CHECK(vf_is_own_name("h1", "h1.farm.example", NULL));
  CHECK(!vf_is_own_name("h1.farm", "h1.farm.example", NULL));
  CHECK(!vf_is_own_name("farm.example", "h1.farm.example", NULL));
  /* never localhost, never empty */
  CHECK(!vf_is_own_name("localhost", "localhost", NULL));
  CHECK(!vf_is_own_name("localhost.localdomain", "localhost.localdomain", NULL));
  CHECK(!vf_is_own_name("localhost", "vm", "localhost"));
  CHECK(!vf_is_own_name("", "vm", NULL));
  CHECK(!vf_is_own_name("vm", "", NULL));
  CHECK(!vf_is_own_name(NULL, "vm", NULL));
  /* the FQDN is only looked up for names that could be it */
  CHECK(vf_name_might_be_fqdn("vm.example.com", "vm"));
  CHECK(vf_name_might_be_fqdn("VM.x", "vm.example.com"));
  CHECK(!vf_name_might_be_fqdn("vm", "vm"));
  CHECK(!vf_name_might_be_fqdn("vm.", "vm"));
  CHECK(!vf_name_might_be_fqdn("example.com", "vm"));
  CHECK(!vf_name_might_be_fqdn("vmx.example.com", "vm"));
}

static void test_own_name_target(void) {
  struct vf_rules r;
  struct in_addr a;
  CHECK(parse_for("vipfarm-rules 1\nloopback4 127.0.0.8\nvip4 127.100.0.7\n", &probe, &r));
  CHECK(vf_own_name_target(&r, &a));
  CHECK_STR(ip4(a), "127.100.0.7");
  CHECK(parse_for("vipfarm-rules 1\nloopback4 127.0.0.8\nvip4 127.100.0.7\n"
                  "prefer-loopback vf-*\n", &probe, &r));
  CHECK(vf_own_name_target(&r, &a));
  CHECK_STR(ip4(a), "127.0.0.8");
  CHECK(parse_for("vipfarm-rules 1\nloopback4 127.0.0.8\nprefer-loopback vf-*\n", &probe, &r));
  CHECK(vf_own_name_target(&r, &a));
  CHECK_STR(ip4(a), "127.0.0.8");
  /* neither: L without prefer-loopback, or nothing at all */
  CHECK(parse_for("vipfarm-rules 1\nloopback4 127.0.0.8\n", &probe, &r));
  CHECK(!vf_own_name_target(&r, &a));
  CHECK(parse_for("vipfarm-rules 1\nvip4 127.100.0.7\nvip-programs curl\n", &probe, &r));
  CHECK(!vf_own_name_target(&r, &a));
  /* prefer-loopback without L applying: V */
  CHECK(parse_for("vipfarm-rules 1\nloopback4 127.0.0.8\nloopback-programs curl\n"
                  "vip4 127.100.0.7\nprefer-loopback vf-*\n", &probe, &r));
  CHECK(vf_own_name_target(&r, &a));
  CHECK_STR(ip4(a), "127.100.0.7");
  struct vf_rules none;
  memset(&none, 0, sizeof none);
  CHECK(!vf_own_name_target(&none, &a));
}

/* ---- loopback6, isolation, and the file as written (kernel path) ------------------------------ */

static void test_loopback6(void) {
  struct vf_rules r;
  CHECK(parse_for(EXAMPLE "loopback6 fd00:5f::8\n", &probe, &r));
  CHECK(r.has_loopback6);
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::1]:8000", false), "[fd00:5f::8]:8000");
  CHECK_STR(decide(&r, VF_CALL_CONNECT, "[::1]:8000", false), "[fd00:5f::8]:8000");
  CHECK_STR(decide(&r, VF_CALL_SEND, "[::1]:53", false), "[fd00:5f::8]:53");
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::1]:5432", false), "pass"); /* excluded port */
  /* loopback-programs decide for loopback6 too */
  CHECK(parse_for("vipfarm-rules 1\nloopback4 127.0.0.8\nloopback6 fd00::8\nloopback-programs curl\n",
                  &probe, &r));
  CHECK(!r.has_loopback6);
  CHECK_STR(decide(&r, VF_CALL_BIND, "[::1]:8000", false), "pass");
  /* without loopback4 there is no virtual loopback at all */
  CHECK(parse_for("vipfarm-rules 1\nloopback6 fd00::8\n", &probe, &r));
  CHECK(!r.has_loopback6);
  CHECK(!parse_for("vipfarm-rules 1\nloopback6 127.0.0.8\n", &probe, &r));
  CHECK(!parse_for("vipfarm-rules 1\nloopback6 ::ffff:127.0.0.8\n", &probe, &r));
  CHECK(!parse_for("vipfarm-rules 1\nloopback6 fd00::8 fd00::9\n", &probe, &r));
  CHECK(!parse_for("vipfarm-rules 1\nloopback6 fd00::8\nloopback6 fd00::9\n", &probe, &r));
  CHECK(parse_for("vipfarm-rules 1\nisolation on\nisolation-allow-uids 0 65534\n", &probe, &r));
  CHECK(!parse_for("vipfarm-rules 1\nisolation maybe\n", &probe, &r));
  CHECK(!parse_for("vipfarm-rules 1\nisolation-allow-uids root\n", &probe, &r));

  /* the way back: an address equal to the loopback6 is shown as ::1, nothing else */
  struct in6_addr lb6;
  inet_pton(AF_INET6, "fd00:5f::8", &lb6);
  struct sockaddr_storage ss;
  char text[64];
  socklen_t len = sa("[fd00:5f::8]:8000", &ss);
  CHECK(vf_show_lb6(&lb6, &ss, len));
  vf_sockaddr_format((struct sockaddr *)&ss, len, text, sizeof text);
  CHECK_STR(text, "[::1]:8000");
  len = sa("[fd00:5f::9]:8000", &ss);
  CHECK(!vf_show_lb6(&lb6, &ss, len));
  CHECK(!vf_show_lb6(&lb6, &ss, 20)); /* too short to hold the address */

  /* the fd table keeps the ::1 marks, apart from the IPv4 ones, and hands them to accept */
  vf_fd_clear(40);
  vf_fd_record_lb6(40, true);
  struct vf_fd_state st;
  CHECK(vf_fd_get(40, &st) && st.local_lb6 && st.remote_lb6 && !st.has_local);
  vf_fd_accepted(40, 41);
  CHECK(vf_fd_get(41, &st) && st.local_lb6 && st.remote_lb6);
  vf_fd_clear(40);
  vf_fd_clear(41);
  CHECK(!vf_fd_tracked(40) && !vf_fd_tracked(41));
}

static void test_parse_file(void) {
  struct vf_rules_file f;
  char error[256];
  const char *text = EXAMPLE "loopback6 fd00:5f::8\nprogram-vip java* 127.100.0.9\nisolation on\n"
                             "isolation-allow-uids 0 998\n";
  CHECK(vf_rules_parse_file(text, strlen(text), &f, error, sizeof error) == VF_PARSE_OK);
  CHECK_STR(f.session, "7");
  CHECK(f.loopback_set && f.loopback6_set && f.vip_set && f.isolation);
  CHECK(f.loopback_programs_seen && f.vip_programs_seen);
  CHECK_STR(ip4(f.loopback), "127.0.0.8");
  CHECK_STR(ip4(f.vip), "127.100.0.7");
  CHECK(f.n_excluded_ports == 1 && f.excluded_ports[0] == 5432);
  CHECK(f.n_host_addresses == 2);
  CHECK(f.n_allow_uids == 2 && f.allow_uids[1] == 998);
  CHECK(f.n_globs == 5); /* loopback *, vip *, python3*, curl, java* */
  CHECK(f.globs[2].list == VF_GLOBS_PREFER);
  CHECK_STR(f.globs[2].glob, "python3*");
  CHECK(f.globs[4].list == VF_GLOBS_PROGRAM_VIP);
  CHECK_STR(ip4(f.globs[4].ip), "127.100.0.9");
  /* the same checks as for the shim, and the kernel path's glob limit */
  CHECK(vf_rules_parse_file("x", 1, &f, error, sizeof error) == VF_PARSE_INVALID);
  char many[2048] = "vipfarm-rules 1\nprefer-loopback";
  for (int i = 0; i < VF_MAX_FILE_GLOBS + 1; i++) strcat(many, " p*");
  CHECK(vf_rules_parse_file(many, strlen(many), &f, error, sizeof error) == VF_PARSE_INVALID);
  struct vf_rules r;
  CHECK(parse_for(many, &probe, &r)); /* the shim has no such limit */
}

int main(void) {
  test_loopback6();
  test_parse_file();
  test_parse_example();
  test_parse_comments_blank_unknown();
  test_parse_rejects();
  test_parse_limits();
  test_parse_session_check();
  test_parse_program_globs();
  test_classify();
  test_decide_bind();
  test_decide_loopback_only();
  test_decide_vip_only();
  test_decide_connect_send();
  test_decide_inactive();
  test_decide_target();
  test_fd_local();
  test_fd_remote();
  test_fd_dup_close();
  test_fd_accept();
  test_fd_bounds();
  test_fd_concurrent();
  test_program();
  test_own_name();
  test_own_name_target();
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
