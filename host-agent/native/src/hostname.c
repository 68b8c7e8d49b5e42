/*
 * The host's own name (design.md section 3, last row): which names count as it, and which address
 * a session's program gets for it. Pure: no preload machinery, unit-tested without the preload.
 *
 * A name is the host's own when it equals, ignoring case and one trailing dot:
 *   - the host name (gethostname / uname nodename), e.g. "vm" or "vm.example.com";
 *   - its first label ("vm" when the host name is "vm.example.com");
 *   - its canonical name (the FQDN the real resolver gives for the host name), when known.
 * "localhost" and its subdomains are never the host's own name, even on a host named so: they are
 * 127.0.0.1, which the socket calls already rewrite.
 */
#include "shim.h"

#include <string.h>
#include <strings.h>

/* a equals b (b's length n), ignoring case, allowing one trailing dot on a. */
static bool name_equals(const char *a, const char *b, size_t n) {
  if (n == 0 || strncasecmp(a, b, n) != 0) return false;
  return a[n] == '\0' || (a[n] == '.' && a[n + 1] == '\0');
}

static bool is_localhost(const char *name) {
  return strncasecmp(name, "localhost", 9) == 0 && (name[9] == '\0' || name[9] == '.');
}

bool vf_is_own_name(const char *node, const char *hostname, const char *canonical) {
  if (node == NULL || hostname == NULL || node[0] == '\0' || hostname[0] == '\0') return false;
  if (is_localhost(node) || is_localhost(hostname)) return false;
  if (name_equals(node, hostname, strlen(hostname))) return true;
  const char *dot = strchr(hostname, '.');
  if (dot != NULL && name_equals(node, hostname, (size_t)(dot - hostname))) return true;
  return canonical != NULL && name_equals(node, canonical, strlen(canonical));
}

bool vf_name_might_be_fqdn(const char *node, const char *hostname) {
  if (node == NULL || hostname == NULL) return false;
  const char *dot = strchr(hostname, '.');
  size_t label = dot != NULL ? (size_t)(dot - hostname) : strlen(hostname);
  return label > 0 && strncasecmp(node, hostname, label) == 0 && node[label] == '.' &&
         node[label + 1] != '\0';
}

bool vf_own_name_target(const struct vf_rules *r, struct in_addr *out) {
  if (r == NULL || !r->active) return false;
  if (r->prefer_loopback && r->has_loopback) {
    *out = r->loopback;
    return true;
  }
  if (r->has_vip) {
    *out = r->vip;
    return true;
  }
  return false;
}
