/*
 * set / clear / list: one session's entries in the pinned maps.
 *
 * `set` parses the rules file with the shim's own parser (src/rules.c, vf_rules_parse_file), so
 * both paths read the same rules, and compiles it into one struct vfb_session. Order of writes, so
 * that programs never see a half-written rule: the reverse (owner) entries of the session's
 * loopback addresses first, then the session entry in ONE map update (the kernel swaps the whole
 * element), then the removal of owner entries of addresses the session no longer has. After every
 * change of `sessions` (set and clear): a new epoch, which drops the sockets' cached lookups.
 */
#include "vipfarm-bpf.h"
#include "shim.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(VF_GLOBS_LOOPBACK == (int)VFB_GLOBS_LOOPBACK && VF_GLOBS_VIP == (int)VFB_GLOBS_VIP &&
                   VF_GLOBS_PREFER == (int)VFB_GLOBS_PREFER &&
                   VF_GLOBS_PROGRAM_VIP == (int)VFB_GLOBS_PROGRAM_VIP,
               "the shim's glob lists and the kernel's must agree");
_Static_assert(VF_MAX_FILE_GLOBS <= VFB_MAX_GLOBS && VF_MAX_ALLOW_UIDS <= VFB_MAX_UIDS &&
                   VF_MAX_EXCLUDED_PORTS <= VFB_MAX_PORTS && VF_MAX_HOST_ADDRESSES <= VFB_MAX_HOSTS,
               "a parsed file must fit the map value");

static int read_file(const char *path, char *buf, size_t cap, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return -1;
    }
    if (r == 0) break;
    n += (size_t)r;
    if (n == cap) {
      close(fd);
      errno = EFBIG;
      return -1;
    }
  }
  close(fd);
  *len = n;
  return 0;
}

static void mapped4(__u32 *out, struct in_addr a) {
  out[0] = 0;
  out[1] = 0;
  out[2] = htonl(0xffff);
  out[3] = a.s_addr;
}

static int compile(const struct vf_rules_file *f, struct vfb_session *s) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s->generation = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  if (f->loopback_set) {
    /* 127.0.0.1 itself is session 0's loopback (the console session keeps the host's) */
    if ((ntohl(f->loopback.s_addr) >> 24) != 127) {
      return vfb_fail("loopback4 must be in 127.0.0.0/8");
    }
    s->flags |= VFB_LOOPBACK;
    s->loopback4 = f->loopback.s_addr;
  }
  if (f->loopback6_set) {
    s->flags |= VFB_LOOPBACK6;
    memcpy(s->loopback6, &f->loopback6, 16);
  }
  if (f->vip_set) {
    s->flags |= VFB_VIP;
    s->vip4 = f->vip.s_addr;
  }
  if (f->loopback_programs_seen) s->flags |= VFB_LOOPBACK_PROGRAMS;
  if (f->vip_programs_seen) s->flags |= VFB_VIP_PROGRAMS;
  if (f->isolation) s->flags |= VFB_ISOLATION;
  s->n_ports = f->n_excluded_ports;
  memcpy(s->ports, f->excluded_ports, f->n_excluded_ports * sizeof s->ports[0]);
  s->n_hosts = f->n_host_addresses;
  memcpy(s->hosts, f->host_addresses, f->n_host_addresses * sizeof s->hosts[0]);
  snprintf(s->session, sizeof s->session, "%s", f->session);
  /* A list holding "*" is every program: no glob to match in the kernel (the common per-session
     policy then costs no command-name lookup at all). */
  int all[4] = {0};
  for (unsigned i = 0; i < f->n_globs; i++) all[f->globs[i].list] |= strcmp(f->globs[i].glob, "*") == 0;
  if (all[VF_GLOBS_LOOPBACK]) s->flags &= ~(__u32)VFB_LOOPBACK_PROGRAMS;
  if (all[VF_GLOBS_VIP]) s->flags &= ~(__u32)VFB_VIP_PROGRAMS;
  for (unsigned i = 0; i < f->n_globs; i++) {
    enum vf_glob_list list = f->globs[i].list;
    if ((list == VF_GLOBS_LOOPBACK || list == VF_GLOBS_VIP) && all[list]) continue;
    char error[160];
    struct vfb_glob *g = &s->globs[s->n_globs++];
    g->list = (__u8)list; /* enum vf_glob_list and vfb_glob_list agree */
    g->ip = f->globs[i].ip.s_addr;
    if (vfb_glob_compile(f->globs[i].glob, g, error, sizeof error) != 0) return vfb_fail("%s", error);
  }
  return 0;
}

/* A new value in the epoch map (never the one before): every socket's cached session lookup is
   stale from now on. Called after `sessions` changed. */
static int new_epoch(const char *pin_dir) {
  int fd = vfb_open_map(pin_dir, "epoch");
  if (fd < 0) return -1;
  __u32 zero = 0;
  __u64 old = 0, now;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  if (bpf_map_lookup_elem(fd, &zero, &old) == 0 && now == old) now++;
  int rc = bpf_map_update_elem(fd, &zero, &now, BPF_ANY);
  if (rc != 0) vfb_fail("cannot write the epoch map: %s", strerror(errno));
  close(fd);
  return rc;
}

static void owner_keys(const struct vfb_session *s, struct vfb_owner_key keys[2], int *n) {
  *n = 0;
  /* the host's own loopback is everyone's: never owned by a session, never isolated */
  if ((s->flags & VFB_LOOPBACK) && s->loopback4 != htonl(INADDR_LOOPBACK)) {
    mapped4(keys[*n].addr, (struct in_addr){s->loopback4});
    (*n)++;
  }
  if ((s->flags & VFB_LOOPBACK6) && memcmp(s->loopback6, &in6addr_loopback, 16) != 0) {
    memcpy(keys[*n].addr, s->loopback6, 16);
    (*n)++;
  }
}

/* Deletes owner entries of `old` that are not in `now` (NULL: all) and still belong to cgid. */
static void drop_owners(int owners_fd, const struct vfb_session *old, const struct vfb_session *now,
                        uint64_t cgid) {
  struct vfb_owner_key old_keys[2], new_keys[2];
  int n_old, n_new = 0;
  owner_keys(old, old_keys, &n_old);
  if (now != NULL) owner_keys(now, new_keys, &n_new);
  for (int i = 0; i < n_old; i++) {
    int kept = 0;
    for (int j = 0; j < n_new; j++) kept |= memcmp(&old_keys[i], &new_keys[j], sizeof old_keys[i]) == 0;
    struct vfb_owner o;
    if (kept || bpf_map_lookup_elem(owners_fd, &old_keys[i], &o) != 0 || o.cgroup_id != cgid) continue;
    bpf_map_delete_elem(owners_fd, &old_keys[i]);
  }
}

int vfb_cmd_set(const char *pin_dir, const char *cgroup_dir, const char *rules_file) {
  static char text[VF_MAX_RULES_BYTES + 1];
  size_t len;
  if (read_file(rules_file, text, sizeof text, &len) != 0) {
    return vfb_fail("cannot read %s: %s", rules_file, strerror(errno));
  }
  struct vf_rules_file *f = calloc(1, sizeof *f);
  struct vfb_session *s = calloc(1, sizeof *s);
  struct vfb_session *old = calloc(1, sizeof *old);
  int rc = VFB_EXIT_FAIL;
  int sessions_fd = -1, owners_fd = -1;
  if (f == NULL || s == NULL || old == NULL) {
    rc = vfb_fail("out of memory");
    goto out;
  }
  char error[256];
  if (vf_rules_parse_file(text, len, f, error, sizeof error) != VF_PARSE_OK) {
    rc = vfb_fail("%s: %s", rules_file, error);
    goto out;
  }
  uint64_t cgid = vfb_cgroup_id(cgroup_dir);
  if (cgid == 0) {
    rc = vfb_fail("%s is not a cgroup v2 directory: %s", cgroup_dir, strerror(errno));
    goto out;
  }
  if (compile(f, s) != 0) goto out;
  if ((sessions_fd = vfb_open_map(pin_dir, "sessions")) < 0) goto out;
  if ((owners_fd = vfb_open_map(pin_dir, "owners")) < 0) goto out;
  int had_old = bpf_map_lookup_elem(sessions_fd, &cgid, old) == 0;

  struct vfb_owner_key keys[2];
  int n_keys;
  owner_keys(s, keys, &n_keys);
  struct vfb_owner owner = {.cgroup_id = cgid, .isolation = f->isolation ? 1 : 0,
                            .n_uids = f->n_allow_uids};
  memcpy(owner.uids, f->allow_uids, f->n_allow_uids * sizeof owner.uids[0]);
  for (int i = 0; i < n_keys; i++) {
    if (bpf_map_update_elem(owners_fd, &keys[i], &owner, BPF_ANY) != 0) {
      rc = vfb_fail("cannot write the isolation entry: %s", strerror(errno));
      goto out;
    }
  }
  if (bpf_map_update_elem(sessions_fd, &cgid, s, BPF_ANY) != 0) {
    rc = vfb_fail("cannot write the session entry: %s", strerror(errno));
    goto out;
  }
  if (had_old) drop_owners(owners_fd, old, s, cgid);
  if (new_epoch(pin_dir) != 0) goto out;
  rc = VFB_EXIT_OK;
out:
  if (sessions_fd >= 0) close(sessions_fd);
  if (owners_fd >= 0) close(owners_fd);
  free(f);
  free(s);
  free(old);
  return rc;
}

int vfb_cmd_clear(const char *pin_dir, uint64_t cgid) {
  struct vfb_session *old = calloc(1, sizeof *old);
  if (old == NULL) return vfb_fail("out of memory");
  int rc = VFB_EXIT_FAIL;
  int sessions_fd = vfb_open_map(pin_dir, "sessions");
  int owners_fd = sessions_fd < 0 ? -1 : vfb_open_map(pin_dir, "owners");
  if (owners_fd >= 0) {
    if (bpf_map_lookup_elem(sessions_fd, &cgid, old) == 0) {
      /* the main entry first: the session is gone for its programs at once */
      if (bpf_map_delete_elem(sessions_fd, &cgid) != 0 && errno != ENOENT) {
        rc = vfb_fail("cannot delete the session entry: %s", strerror(errno));
      } else {
        drop_owners(owners_fd, old, NULL, cgid);
        rc = new_epoch(pin_dir) == 0 ? VFB_EXIT_OK : VFB_EXIT_FAIL;
      }
    } else {
      rc = VFB_EXIT_OK; /* nothing to clear */
    }
  }
  if (sessions_fd >= 0) close(sessions_fd);
  if (owners_fd >= 0) close(owners_fd);
  free(old);
  return rc;
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static void json_address(int family, const void *addr, int present) {
  char text[INET6_ADDRSTRLEN];
  if (!present || inet_ntop(family, addr, text, sizeof text) == NULL) {
    printf("null");
    return;
  }
  json_string(text);
}

int vfb_cmd_list(const char *pin_dir) {
  int fd = vfb_open_map(pin_dir, "sessions");
  if (fd < 0) return VFB_EXIT_FAIL;
  struct vfb_session *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return vfb_fail("out of memory");
  }
  printf("{\"sessions\":[");
  uint64_t key, next;
  int first = 1;
  void *prev = NULL;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(fd, &key, s) != 0) continue; /* removed meanwhile */
    printf("%s{\"cgroupId\":%llu,\"session\":", first ? "" : ",", (unsigned long long)key);
    first = 0;
    json_string(s->session);
    printf(",\"loopback4\":");
    json_address(AF_INET, &s->loopback4, s->flags & VFB_LOOPBACK);
    printf(",\"loopback6\":");
    json_address(AF_INET6, s->loopback6, s->flags & VFB_LOOPBACK6);
    printf(",\"vip4\":");
    json_address(AF_INET, &s->vip4, s->flags & VFB_VIP);
    printf(",\"isolation\":%s,\"generation\":%llu}", s->flags & VFB_ISOLATION ? "true" : "false",
           (unsigned long long)s->generation);
  }
  printf("]}\n");
  free(s);
  close(fd);
  return VFB_EXIT_OK;
}

int vfb_count_sessions(const char *pin_dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/sessions", pin_dir);
  int fd = bpf_obj_get(path);
  if (fd < 0) return -1;
  uint64_t key, next;
  void *prev = NULL;
  int n = 0;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    n++;
  }
  close(fd);
  return n;
}
