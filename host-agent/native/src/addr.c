/*
 * Address classification and the rewrite decision: design.md section 3, as tabled in
 * docs/rules-format.md. Pure functions of (rules, call, address): no syscalls, unit-tested without
 * the preload.
 *
 * Classes (after normalising v4-mapped IPv6 to IPv4):
 *   wildcard   0.0.0.0, ::, ::ffff:0.0.0.0
 *   localhost  127.0.0.1, ::ffff:127.0.0.1 only. The rest of 127/8 is NOT "loopback" here: on a
 *              vipfarm host those addresses are other sessions' virtual loopbacks (127.0.0.9) or
 *              VIPs from a 127/8 test pool (127.100.0.8), i.e. somebody else's address. So a
 *              connect to 127.100.0.8 is a connect to a non-loopback address: with V it leaves
 *              from V, which is what the other side must see (its peer is our VIP, not the shared
 *              127.0.0.1).
 *   ::1        IPv6 loopback: becomes the session's loopback6 (rules `loopback6`) where L applies;
 *              passes through otherwise.
 *   other      any other IPv4 / IPv6 address.
 *
 * The source bind of the last table row is skipped when V is in 127/8 and the destination is not:
 * Linux refuses a 127/8 source on a non-loopback route (EINVAL), so binding would only break a
 * connection that works without us. Native IPv6 destinations get no source bind either (there is
 * no IPv6 VIP in rules version 1, and ::ffff:V cannot reach a native IPv6 address).
 */
#include "shim.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define SIN6_MIN_LEN 24 /* RFC 2133 sockaddr_in6 without sin6_scope_id: the kernel accepts it */

static bool is_127(struct in_addr a) { return (ntohl(a.s_addr) >> 24) == 127; }

static void mapped_v6(struct in_addr v4, struct in6_addr *out) {
  memset(out, 0, sizeof *out);
  out->s6_addr[10] = 0xff;
  out->s6_addr[11] = 0xff;
  memcpy(&out->s6_addr[12], &v4, 4);
}

static enum vf_addr_class v4_class(struct in_addr a) {
  if (a.s_addr == htonl(INADDR_ANY)) return VF_ADDR_WILDCARD;
  if (a.s_addr == htonl(INADDR_LOOPBACK)) return VF_ADDR_LOCALHOST;
  return VF_ADDR_V4;
}

void vf_sockaddr_classify(const struct sockaddr *addr, socklen_t len, struct vf_sockaddr *out) {
  memset(out, 0, sizeof *out);
  out->cls = VF_ADDR_OTHER_FAMILY;
  if (addr == NULL || len < (socklen_t)sizeof(sa_family_t)) return;
  sa_family_t family;
  memcpy(&family, addr, sizeof family); /* the caller's buffer may be unaligned */
  if (family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
    struct sockaddr_in sin;
    memcpy(&sin, addr, sizeof sin);
    out->family = AF_INET;
    out->port = ntohs(sin.sin_port);
    out->v4 = sin.sin_addr;
    mapped_v6(sin.sin_addr, &out->v6);
    out->cls = v4_class(sin.sin_addr);
  } else if (family == AF_INET6 && len >= SIN6_MIN_LEN) {
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    memcpy(&sin6, addr, SIN6_MIN_LEN);
    out->family = AF_INET6;
    out->port = ntohs(sin6.sin6_port);
    out->v6 = sin6.sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
      memcpy(&out->v4, &sin6.sin6_addr.s6_addr[12], 4);
      out->cls = v4_class(out->v4);
    } else if (IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr)) {
      out->cls = VF_ADDR_WILDCARD;
    } else if (IN6_IS_ADDR_LOOPBACK(&sin6.sin6_addr)) {
      out->cls = VF_ADDR_V6_LOOPBACK;
    } else {
      out->cls = VF_ADDR_V6;
    }
  }
}

static bool is_host_address(const struct vf_rules *r, const struct vf_sockaddr *a) {
  if (a->cls != VF_ADDR_V4 && a->cls != VF_ADDR_V6) return false;
  for (unsigned i = 0; i < r->n_host_addresses; i++) {
    if (memcmp(&r->host_addresses[i], &a->v6, sizeof a->v6) == 0) return true;
  }
  return false;
}

/*
 * Where 127.0.0.1 goes for this program: L, or V when V applies and it does not prefer loopback.
 * Returns the rule's name, or NULL when 127.0.0.1 stays (no L for this program).
 */
static const char *localhost_target(const struct vf_rules *r, struct in_addr *out) {
  if (!r->has_loopback) return NULL;
  if (r->has_vip && !r->prefer_loopback) {
    *out = r->vip;
    return "127.0.0.1 -> V";
  }
  *out = r->loopback;
  return "127.0.0.1 -> L";
}

/* The original address with its IP replaced by target (::ffff:target for AF_INET6). */
static void replace(const struct sockaddr *addr, socklen_t len, const struct vf_sockaddr *a,
                    struct in_addr target, const char *why, struct vf_decision *out) {
  memcpy(&out->addr, addr, len);
  out->addr_len = len;
  if (a->family == AF_INET) {
    memcpy((char *)&out->addr + offsetof(struct sockaddr_in, sin_addr), &target, sizeof target);
  } else {
    struct in6_addr v6;
    mapped_v6(target, &v6);
    memcpy((char *)&out->addr + offsetof(struct sockaddr_in6, sin6_addr), &v6, sizeof v6);
  }
  out->action = VF_REPLACE;
  out->target = target;
  out->why = why;
}

void vf_decide(const struct vf_rules *r, enum vf_call call, const struct sockaddr *addr,
               socklen_t len, bool v6only, struct vf_decision *out) {
  out->action = VF_PASS;
  out->addr_len = 0;
  out->cls = VF_ADDR_OTHER_FAMILY;
  out->why = "not ours";
  if (r == NULL || !r->active) return;
  struct vf_sockaddr a;
  vf_sockaddr_classify(addr, len, &a);
  out->cls = a.cls;
  if (a.cls == VF_ADDR_OTHER_FAMILY || len > (socklen_t)sizeof out->addr) return;
  if (vf_rules_port_excluded(r, a.port)) {
    out->why = "excluded port";
    return;
  }
  struct in_addr target;
  if (a.cls == VF_ADDR_V6_LOOPBACK) {
    if (!r->has_loopback6) return;
    memcpy(&out->addr, addr, len);
    out->addr_len = len;
    memcpy((char *)&out->addr + offsetof(struct sockaddr_in6, sin6_addr), &r->loopback6,
           sizeof r->loopback6);
    out->action = VF_REPLACE;
    out->target.s_addr = 0;
    out->why = "::1 -> loopback6";
    return;
  }
  if (a.cls == VF_ADDR_LOCALHOST) {
    const char *why = localhost_target(r, &target);
    if (why != NULL) replace(addr, len, &a, target, why, out);
    return;
  }
  if (!r->has_vip) return;

  if (call == VF_CALL_BIND) {
    if (a.cls == VF_ADDR_WILDCARD || is_host_address(r, &a)) {
      if (a.family == AF_INET6 && v6only) {
        out->why = "IPV6_V6ONLY socket: ::ffff:V impossible";
        return;
      }
      replace(addr, len, &a, r->vip, a.cls == VF_ADDR_WILDCARD ? "wildcard -> V" : "host -> V", out);
    }
    return;
  }
  /* connect / send to a non-loopback address: the traffic leaves from V. */
  if (a.cls != VF_ADDR_V4) return;
  if (is_127(r->vip) && !is_127(a.v4)) {
    out->why = "V in 127/8 cannot reach a non-127 destination";
    return;
  }
  out->action = VF_BIND_SOURCE;
  out->source = r->vip;
  out->why = "source V";
}

void vf_sockaddr_format(const struct sockaddr *addr, socklen_t len, char *buf, size_t buf_len) {
  struct vf_sockaddr a;
  vf_sockaddr_classify(addr, len, &a);
  char ip[INET6_ADDRSTRLEN];
  if (a.cls == VF_ADDR_OTHER_FAMILY) {
    snprintf(buf, buf_len, "(not inet)");
  } else if (a.family == AF_INET) {
    inet_ntop(AF_INET, &a.v4, ip, sizeof ip);
    snprintf(buf, buf_len, "%s:%u", ip, a.port);
  } else {
    inet_ntop(AF_INET6, &a.v6, ip, sizeof ip);
    snprintf(buf, buf_len, "[%s]:%u", ip, a.port);
  }
}
