/*
 * Parsing of the interception rules file, version 1 (docs/rules-format.md).
 *
 * Pure: takes the file's bytes and the program's names, fills a fixed-size struct vf_rules with the
 * rules already resolved for this program (globs matched here, once, not on every call). Nothing
 * is allocated. Anything malformed in a directive we know (bad header, bad address, bad port,
 * wrong number of values, duplicate single-valued directive, too many entries, a session id that
 * is not ours) makes the whole file invalid: the shim then passes everything through. Unknown
 * keywords are ignored, as the format asks (a newer agent may write more).
 */
#include "shim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 4096
#define MAX_TOKENS 512

struct parse_state {
  const char *session;
  const struct vf_program *prog;
  struct vf_rules *out;
  char *error;
  size_t error_len;
  unsigned line_no;
  bool header_seen;
  bool session_seen;
  bool loopback_set, loopback_programs_seen, loopback_programs_match;
  bool vip_set, vip_programs_seen, vip_programs_match;
  bool program_vip_found;
  struct in_addr program_vip;
  bool prefer_loopback_match;
  bool loopback6_set, isolation_seen;
  struct vf_rules_file *file; /* vf_rules_parse_file: the file as written, NULL otherwise */
};

static enum vf_parse_status fail(struct parse_state *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum vf_parse_status fail(struct parse_state *st, const char *fmt, ...) {
  memset(st->out, 0, sizeof *st->out);
  if (st->file != NULL) memset(st->file, 0, sizeof *st->file);
  if (st->error != NULL && st->error_len > 0) {
    int n = snprintf(st->error, st->error_len, "line %u: ", st->line_no);
    if (n >= 0 && (size_t)n < st->error_len) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(st->error + n, st->error_len - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return VF_PARSE_INVALID;
}

static bool parse_ipv4(const char *text, struct in_addr *out) {
  return inet_pton(AF_INET, text, out) == 1;
}

/* An IPv4 or IPv6 address, IPv4 stored v4-mapped. */
static bool parse_any_ip(const char *text, struct in6_addr *out) {
  struct in_addr v4;
  if (inet_pton(AF_INET, text, &v4) == 1) {
    memset(out, 0, sizeof *out);
    out->s6_addr[10] = 0xff;
    out->s6_addr[11] = 0xff;
    memcpy(&out->s6_addr[12], &v4, 4);
    return true;
  }
  return inet_pton(AF_INET6, text, out) == 1;
}

static bool parse_port(const char *text, uint16_t *out) {
  if (*text < '0' || *text > '9') return false;
  char *end;
  errno = 0;
  unsigned long v = strtoul(text, &end, 10);
  if (errno != 0 || *end != '\0' || v < 1 || v > 65535) return false;
  *out = (uint16_t)v;
  return true;
}

static bool parse_uint32(const char *text, uint32_t *out) {
  if (*text < '0' || *text > '9') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0' || v > UINT32_MAX) return false;
  *out = (uint32_t)v;
  return true;
}

/* Kernel path: keeps the globs as written (the kernel matches them against the command name). */
static enum vf_parse_status keep_globs(struct parse_state *st, enum vf_glob_list list,
                                       char **globs, int n, struct in_addr ip) {
  if (st->file == NULL) return VF_PARSE_OK;
  for (int i = 0; i < n; i++) {
    struct vf_rules_file *f = st->file;
    if (f->n_globs == VF_MAX_FILE_GLOBS) {
      return fail(st, "more than %d program globs (kernel path limit)", VF_MAX_FILE_GLOBS);
    }
    size_t len = strlen(globs[i]);
    if (len >= sizeof f->globs[0].glob) return fail(st, "glob longer than %d bytes", VF_MAX_NAME - 1);
    f->globs[f->n_globs].list = list;
    memcpy(f->globs[f->n_globs].glob, globs[i], len + 1);
    f->globs[f->n_globs].ip = ip;
    f->n_globs++;
  }
  return VF_PARSE_OK;
}

static bool any_glob_matches(const struct parse_state *st, char **globs, int n) {
  if (st->prog == NULL) return false;
  for (int i = 0; i < n; i++) {
    if (vf_program_matches(st->prog, globs[i])) return true;
  }
  return false;
}

/* A single-valued directive: exactly one value, at most once per file. */
static enum vf_parse_status one_address(struct parse_state *st, const char *keyword, char **values,
                                        int n, bool *seen, struct in_addr *out) {
  if (n != 1) return fail(st, "%s takes one IPv4 address, got %d values", keyword, n);
  if (*seen) return fail(st, "%s given twice", keyword);
  if (!parse_ipv4(values[0], out)) return fail(st, "%s: not an IPv4 address: '%s'", keyword, values[0]);
  *seen = true;
  return VF_PARSE_OK;
}

static enum vf_parse_status directive(struct parse_state *st, char **tok, int ntok) {
  const char *kw = tok[0];
  char **values = tok + 1;
  int n = ntok - 1;
  struct vf_rules *r = st->out;

  if (!st->header_seen) {
    if (strcmp(kw, "vipfarm-rules") != 0 || n != 1 || strcmp(values[0], "1") != 0) {
      return fail(st, "the first line must be 'vipfarm-rules 1'");
    }
    st->header_seen = true;
    return VF_PARSE_OK;
  }
  if (strcmp(kw, "vipfarm-rules") == 0) return fail(st, "vipfarm-rules given twice");
  if (strcmp(kw, "session") == 0) {
    if (n != 1 || st->session_seen) return fail(st, "session takes one id, once");
    if (st->session != NULL && strcmp(values[0], st->session) != 0) {
      return fail(st, "rules of session '%s', but VIPFARM_SESSION is '%s'", values[0], st->session);
    }
    st->session_seen = true;
    if (st->file != NULL) snprintf(st->file->session, sizeof st->file->session, "%s", values[0]);
    return VF_PARSE_OK;
  }
  if (strcmp(kw, "loopback6") == 0) {
    struct in_addr v4;
    if (n != 1) return fail(st, "loopback6 takes one IPv6 address, got %d values", n);
    if (st->loopback6_set) return fail(st, "loopback6 given twice");
    if (inet_pton(AF_INET, values[0], &v4) == 1 || inet_pton(AF_INET6, values[0], &r->loopback6) != 1 ||
        IN6_IS_ADDR_V4MAPPED(&r->loopback6) || IN6_IS_ADDR_UNSPECIFIED(&r->loopback6)) {
      return fail(st, "loopback6: not an IPv6 address: '%s'", values[0]);
    }
    st->loopback6_set = true;
    return VF_PARSE_OK;
  }
  if (strcmp(kw, "isolation") == 0) {
    if (n != 1 || st->isolation_seen) return fail(st, "isolation takes on or off, once");
    bool on = strcmp(values[0], "on") == 0;
    if (!on && strcmp(values[0], "off") != 0) return fail(st, "isolation: not on/off: '%s'", values[0]);
    st->isolation_seen = true;
    if (st->file != NULL) st->file->isolation = on;
    return VF_PARSE_OK;
  }
  if (strcmp(kw, "isolation-allow-uids") == 0) {
    for (int i = 0; i < n; i++) {
      uint32_t uid;
      if (!parse_uint32(values[i], &uid)) return fail(st, "isolation-allow-uids: not a uid: '%s'", values[i]);
      if (st->file == NULL) continue;
      if (st->file->n_allow_uids == VF_MAX_ALLOW_UIDS) {
        return fail(st, "more than %d isolation-allow-uids", VF_MAX_ALLOW_UIDS);
      }
      st->file->allow_uids[st->file->n_allow_uids++] = uid;
    }
    return VF_PARSE_OK;
  }
  if (strcmp(kw, "loopback4") == 0) {
    return one_address(st, kw, values, n, &st->loopback_set, &r->loopback);
  }
  if (strcmp(kw, "vip4") == 0) return one_address(st, kw, values, n, &st->vip_set, &r->vip);
  if (strcmp(kw, "loopback-programs") == 0) {
    st->loopback_programs_seen = true;
    st->loopback_programs_match |= any_glob_matches(st, values, n);
    return keep_globs(st, VF_GLOBS_LOOPBACK, values, n, (struct in_addr){0});
  }
  if (strcmp(kw, "vip-programs") == 0) {
    st->vip_programs_seen = true;
    st->vip_programs_match |= any_glob_matches(st, values, n);
    return keep_globs(st, VF_GLOBS_VIP, values, n, (struct in_addr){0});
  }
  if (strcmp(kw, "prefer-loopback") == 0) {
    st->prefer_loopback_match |= any_glob_matches(st, values, n);
    return keep_globs(st, VF_GLOBS_PREFER, values, n, (struct in_addr){0});
  }
  if (strcmp(kw, "program-vip") == 0) {
    struct in_addr a;
    if (n != 2) return fail(st, "program-vip takes a glob and an IPv4 address, got %d values", n);
    if (!parse_ipv4(values[1], &a)) return fail(st, "program-vip: not an IPv4 address: '%s'", values[1]);
    if (!st->program_vip_found && st->prog != NULL && vf_program_matches(st->prog, values[0])) {
      st->program_vip_found = true; /* the first matching line wins */
      st->program_vip = a;
    }
    return keep_globs(st, VF_GLOBS_PROGRAM_VIP, values, 1, a);
  }
  if (strcmp(kw, "excluded-ports") == 0) {
    for (int i = 0; i < n; i++) {
      if (r->n_excluded_ports == VF_MAX_EXCLUDED_PORTS) {
        return fail(st, "more than %d excluded ports", VF_MAX_EXCLUDED_PORTS);
      }
      if (!parse_port(values[i], &r->excluded_ports[r->n_excluded_ports])) {
        return fail(st, "excluded-ports: not a port (1-65535): '%s'", values[i]);
      }
      r->n_excluded_ports++;
    }
    return VF_PARSE_OK;
  }
  if (strcmp(kw, "host-addresses") == 0) {
    for (int i = 0; i < n; i++) {
      if (r->n_host_addresses == VF_MAX_HOST_ADDRESSES) {
        return fail(st, "more than %d host addresses", VF_MAX_HOST_ADDRESSES);
      }
      if (!parse_any_ip(values[i], &r->host_addresses[r->n_host_addresses])) {
        return fail(st, "host-addresses: not an IP address: '%s'", values[i]);
      }
      r->n_host_addresses++;
    }
    return VF_PARSE_OK;
  }
  return VF_PARSE_OK; /* unknown keyword: written by a newer agent, ignored */
}

/* Splits line (modified in place) into tokens; the comment is cut first. Returns the count or -1. */
static int tokenize(char *line, char **tok) {
  char *hash = strchr(line, '#');
  if (hash != NULL) *hash = '\0';
  int n = 0;
  char *save = NULL;
  for (char *t = strtok_r(line, " \t\r", &save); t != NULL; t = strtok_r(NULL, " \t\r", &save)) {
    if (n == MAX_TOKENS) return -1;
    tok[n++] = t;
  }
  return n;
}

static enum vf_parse_status parse(const char *text, size_t len, const char *session,
                                  const struct vf_program *prog, struct vf_rules *out,
                                  struct vf_rules_file *file, char *error, size_t error_len) {
  struct parse_state st = {.session = session, .prog = prog, .out = out, .error = error,
                           .error_len = error_len, .file = file};
  if (file != NULL) memset(file, 0, sizeof *file);
  memset(out, 0, sizeof *out);
  if (error != NULL && error_len > 0) error[0] = '\0';

  char line[MAX_LINE];
  char *tok[MAX_TOKENS];
  size_t pos = 0;
  while (pos < len) {
    st.line_no++;
    const char *start = text + pos;
    const char *nl = memchr(start, '\n', len - pos);
    size_t line_len = nl != NULL ? (size_t)(nl - start) : len - pos;
    pos += line_len + (nl != NULL ? 1 : 0);
    if (line_len >= sizeof line) return fail(&st, "line longer than %d bytes", MAX_LINE - 1);
    if (memchr(start, '\0', line_len) != NULL) return fail(&st, "NUL byte in the file");
    memcpy(line, start, line_len);
    line[line_len] = '\0';

    int ntok = tokenize(line, tok);
    if (ntok < 0) return fail(&st, "more than %d values", MAX_TOKENS - 1);
    if (ntok == 0) continue;
    if (directive(&st, tok, ntok) != VF_PARSE_OK) return VF_PARSE_INVALID;
  }
  if (!st.header_seen) {
    st.line_no = 0;
    return fail(&st, "empty file: no 'vipfarm-rules 1' line");
  }

  out->has_loopback = st.loopback_set && (!st.loopback_programs_seen || st.loopback_programs_match);
  if (st.program_vip_found) {
    out->has_vip = true;
    out->vip = st.program_vip;
  } else {
    out->has_vip = st.vip_set && (!st.vip_programs_seen || st.vip_programs_match);
  }
  out->has_loopback6 = out->has_loopback && st.loopback6_set;
  if (file != NULL) {
    file->loopback_set = st.loopback_set;
    file->loopback = out->loopback;
    file->loopback6_set = st.loopback6_set;
    file->loopback6 = out->loopback6;
    file->vip_set = st.vip_set;
    file->vip = out->vip;
    file->loopback_programs_seen = st.loopback_programs_seen;
    file->vip_programs_seen = st.vip_programs_seen;
    memcpy(file->excluded_ports, out->excluded_ports, sizeof file->excluded_ports);
    file->n_excluded_ports = out->n_excluded_ports;
    memcpy(file->host_addresses, out->host_addresses, sizeof file->host_addresses);
    file->n_host_addresses = out->n_host_addresses;
  }
  if (!out->has_loopback) out->loopback.s_addr = 0;
  if (!out->has_loopback6) memset(&out->loopback6, 0, sizeof out->loopback6);
  if (!out->has_vip) out->vip.s_addr = 0;
  out->prefer_loopback = st.prefer_loopback_match;
  out->active = true;
  return VF_PARSE_OK;
}

enum vf_parse_status vf_rules_parse(const char *text, size_t len, const char *session,
                                    const struct vf_program *prog, struct vf_rules *out,
                                    char *error, size_t error_len) {
  return parse(text, len, session, prog, out, NULL, error, error_len);
}

enum vf_parse_status vf_rules_parse_file(const char *text, size_t len, struct vf_rules_file *out,
                                         char *error, size_t error_len) {
  struct vf_rules resolved; /* for no program: only the checks matter */
  return parse(text, len, NULL, NULL, &resolved, out, error, error_len);
}

bool vf_rules_port_excluded(const struct vf_rules *r, uint16_t port) {
  for (unsigned i = 0; i < r->n_excluded_ports; i++) {
    if (r->excluded_ports[i] == port) return true;
  }
  return false;
}
