/*
 * Name resolution of the host's own name (design.md section 3, last row): getaddrinfo,
 * gethostbyname and gethostbyname_r give a session's program its V for the host's name (L when
 * the program prefers loopback; as without vipfarm when neither applies). Every other name, and
 * every call outside a session, goes to the real function with the original arguments.
 *
 *   getaddrinfo      the real getaddrinfo is called with the address text of V/L, AI_NUMERICHOST
 *                    and the caller's other hints: glibc allocates the result, so the program
 *                    frees it with the real freeaddrinfo as always. Socket types, protocols,
 *                    service/port parsing, AI_PASSIVE and AI_V4MAPPED behave exactly as glibc's.
 *                    With AI_CANONNAME the canonical name is the host's (not the address text):
 *                    glibc frees ai_canonname on its own, so it is replaced by a strdup'd copy.
 *                    A request glibc refuses for the numeric address (AF_INET6 without
 *                    AI_V4MAPPED: there is no IPv6 VIP in rules version 1) resolves as without us.
 *   gethostbyname, gethostbyname2(AF_INET)   a thread-local hostent (glibc's own is a process-wide static, so this is no
 *                    less safe); one name, no aliases, one AF_INET address.
 *   gethostbyname_r, gethostbyname2_r(AF_INET)   the same in the caller's buffer; ERANGE when it is too small, as glibc.
 *
 * Which names are the host's own: hostname.c. The host name is read with uname(2) on each call
 * (it may change; no allocation); the canonical name (FQDN) is looked up once per process with the
 * real getaddrinfo(hostname, AI_CANONNAME), and only when the program resolves a name that starts
 * with the host name's first label and a dot. None of this is async-signal-safe, and neither are
 * the functions it replaces.
 */
#include "hooks.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

static pthread_once_t canonical_once = PTHREAD_ONCE_INIT;
static char canonical[VF_MAX_NAME];

static void find_canonical(void) {
  struct utsname u;
  if (uname(&u) != 0 || vf_libc.getaddrinfo == NULL) return;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_flags = AI_CANONNAME};
  struct addrinfo *res = NULL;
  if (vf_libc.getaddrinfo(u.nodename, NULL, &hints, &res) != 0 || res == NULL) return;
  if (res->ai_canonname != NULL && strlen(res->ai_canonname) < sizeof canonical) {
    strcpy(canonical, res->ai_canonname);
  }
  freeaddrinfo(res);
  VF_DEBUG("the host's canonical name is '%s'", canonical);
}

/*
 * true (and *target) if node is the host's own name and a rule gives it an address for this
 * program. Called with vf_in_shim raised. `canon` receives the host's canonical name (or the host
 * name) when want_canon is set.
 */
static bool own_name(const char *node, struct in_addr *target, char *canon, size_t canon_len) {
  if (!vf_session_enabled || node == NULL || node[0] == '\0') return false;
  struct vf_rules rules;
  if (!vf_rules_snapshot(&rules) || !vf_own_name_target(&rules, target)) return false;
  struct utsname u;
  if (uname(&u) != 0) return false;
  bool ours = vf_is_own_name(node, u.nodename, NULL);
  if (!ours && vf_name_might_be_fqdn(node, u.nodename)) {
    pthread_once(&canonical_once, find_canonical);
    ours = canonical[0] != '\0' && vf_is_own_name(node, u.nodename, canonical);
  }
  if (ours && canon != NULL) {
    if (canon_len > 0) canon[0] = '\0';
    pthread_once(&canonical_once, find_canonical);
    const char *name = canonical[0] != '\0' ? canonical : u.nodename;
    if (strlen(name) < canon_len) strcpy(canon, name);
  }
  if (ours && vf_log_enabled(VF_LOG_DEBUG)) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, target, text, sizeof text);
    VF_DEBUG("the host's own name '%s' resolves to %s", node, text);
  }
  return ours;
}

static int real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res) {
  if (vf_libc.getaddrinfo == NULL) return EAI_SYSTEM;
  return vf_libc.getaddrinfo(node, service, hints, res);
}

VF_HOOK(getaddrinfo) {
  if (vf_in_shim) return real_getaddrinfo VF_getaddrinfo_ARGS;
  vf_init(__func__);
  if (!vf_session_enabled || node == NULL) return real_getaddrinfo VF_getaddrinfo_ARGS;
  int saved_errno = errno;
  vf_in_shim++;
  struct in_addr target;
  char canon[VF_MAX_NAME];
  bool want_canon = hints != NULL && (hints->ai_flags & AI_CANONNAME);
  int r = -1;
  if (own_name(node, &target, want_canon ? canon : NULL, sizeof canon)) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &target, text, sizeof text);
    /* glibc's defaults for hints == NULL: AF_UNSPEC, AI_V4MAPPED | AI_ADDRCONFIG */
    struct addrinfo h = {.ai_family = AF_UNSPEC, .ai_flags = AI_V4MAPPED | AI_ADDRCONFIG};
    if (hints != NULL) {
      h.ai_flags = hints->ai_flags;
      h.ai_family = hints->ai_family;
      h.ai_socktype = hints->ai_socktype;
      h.ai_protocol = hints->ai_protocol;
    }
    h.ai_flags |= AI_NUMERICHOST;
    h.ai_flags &= ~AI_ADDRCONFIG; /* it is the session's address: configured by definition */
    struct addrinfo *out = NULL;
    r = real_getaddrinfo(text, service, &h, &out);
    if (r == 0 && want_canon && out != NULL) {
      char *copy = strdup(canon[0] != '\0' ? canon : node);
      if (copy != NULL) {
        free(out->ai_canonname); /* glibc allocates it on its own and frees it in freeaddrinfo */
        out->ai_canonname = copy;
      }
    }
    if (r == 0) *res = out;
    else VF_DEBUG("getaddrinfo(%s) refused for %s (%s): resolving as without vipfarm", text, node,
                  gai_strerror(r));
  }
  vf_in_shim--;
  errno = saved_errno;
  if (r == 0) return 0;
  return real_getaddrinfo VF_getaddrinfo_ARGS;
}

/*
 * Lays out a hostent for (name, addr) in buf: the address, the two NULL-terminated lists, the
 * name. false when buf is too small.
 */
static bool fill_hostent(struct hostent *h, char *buf, size_t buflen, const char *name,
                         struct in_addr addr) {
  size_t pad = (uintptr_t)buf % sizeof(char *);
  if (pad != 0) pad = sizeof(char *) - pad;
  size_t name_len = strlen(name) + 1;
  size_t need = pad + 3 * sizeof(char *) + sizeof addr + name_len;
  if (buf == NULL || buflen < need) return false;
  char **lists = (char **)(void *)(buf + pad); /* aliases: lists[0]; addresses: lists[1], lists[2] */
  char *addr_bytes = (char *)(lists + 3);
  char *name_copy = addr_bytes + sizeof addr;
  memcpy(addr_bytes, &addr, sizeof addr);
  memcpy(name_copy, name, name_len);
  lists[0] = NULL;
  lists[1] = addr_bytes;
  lists[2] = NULL;
  h->h_name = name_copy;
  h->h_aliases = &lists[0];
  h->h_addrtype = AF_INET;
  h->h_length = sizeof addr;
  h->h_addr_list = &lists[1];
  return true;
}

/* gethostbyname / gethostbyname2(AF_INET): the host's own name in a thread-local hostent. */
static struct hostent *own_hostent(const char *name) {
  static __thread struct hostent host;
  static __thread char buf[4 * sizeof(char *) + sizeof(struct in_addr) + VF_MAX_NAME];
  if (!vf_session_enabled || name == NULL) return NULL;
  int saved_errno = errno;
  vf_in_shim++;
  struct in_addr target;
  char canon[VF_MAX_NAME];
  bool ours = own_name(name, &target, canon, sizeof canon) &&
              fill_hostent(&host, buf, sizeof buf, canon[0] != '\0' ? canon : name, target);
  vf_in_shim--;
  errno = saved_errno;
  return ours ? &host : NULL;
}

/* gethostbyname_r / gethostbyname2_r(AF_INET): 1 = answered (*rc set), 0 = not ours. */
static int own_hostent_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                         struct hostent **result, int *h_errnop, int *rc) {
  if (!vf_session_enabled || name == NULL) return 0;
  int saved_errno = errno;
  vf_in_shim++;
  struct in_addr target;
  char canon[VF_MAX_NAME];
  bool ours = own_name(name, &target, canon, sizeof canon);
  vf_in_shim--;
  errno = saved_errno;
  if (!ours) return 0;
  if (!fill_hostent(ret, buf, buflen, canon[0] != '\0' ? canon : name, target)) {
    *result = NULL;
    if (h_errnop != NULL) *h_errnop = NETDB_INTERNAL;
    *rc = ERANGE;
    return 1;
  }
  *result = ret;
  if (h_errnop != NULL) *h_errnop = 0;
  *rc = 0;
  return 1;
}

#define VF_REAL_OR_FAIL(name, fail) \
  if (vf_libc.name == NULL) return (fail); \
  return vf_libc.name VF_##name##_ARGS

VF_HOOK(gethostbyname) {
  if (!vf_in_shim) {
    vf_init(__func__);
    struct hostent *h = own_hostent(name);
    if (h != NULL) return h;
  }
  VF_REAL_OR_FAIL(gethostbyname, NULL);
}

VF_HOOK(gethostbyname2) {
  if (!vf_in_shim) {
    vf_init(__func__);
    struct hostent *h = af == AF_INET ? own_hostent(name) : NULL;
    if (h != NULL) return h;
  }
  VF_REAL_OR_FAIL(gethostbyname2, NULL);
}

VF_HOOK(gethostbyname_r) {
  if (!vf_in_shim) {
    vf_init(__func__);
    int rc;
    if (own_hostent_r(name, ret, buf, buflen, result, h_errnop, &rc)) return rc;
  }
  VF_REAL_OR_FAIL(gethostbyname_r, ENOSYS);
}

VF_HOOK(gethostbyname2_r) {
  if (!vf_in_shim) {
    vf_init(__func__);
    int rc;
    if (af == AF_INET && own_hostent_r(name, ret, buf, buflen, result, h_errnop, &rc)) return rc;
  }
  VF_REAL_OR_FAIL(gethostbyname2_r, ENOSYS);
}
