/*
 * vipfarm-bpf: loads, attaches, updates and removes the kernel path (CONTRACT.md beside this file).
 *
 * The programs and maps are pinned under DIR on bpffs, and so are the 14 bpf links that attach them
 * to the sessions' parent cgroup: a pinned link keeps its program attached after this process
 * exits, while the agent restarts, until `detach` unpins it. A second `attach` finds the links and
 * swaps in its own programs where they are other code (an upgrade), in one step per hook. libbpf's
 * own messages are kept back (VIPFARM_BPF_DEBUG=1 shows them): every failure is one line on stderr.
 */
#include "vipfarm-bpf.h"
#include "vipfarm.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#define BPFFS_DEFAULT "/sys/fs/bpf"
#define N_HOOKS 14

static char libbpf_last[512]; /* libbpf's last message: the detail of a failed load */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  static int debug = -1;
  if (debug < 0) debug = getenv("VIPFARM_BPF_DEBUG") != NULL;
  if (debug) return vfprintf(stderr, fmt, ap);
  if (level == LIBBPF_DEBUG) return 0;
  char line[sizeof libbpf_last];
  if (vsnprintf(line, sizeof line, fmt, ap) < 0) return 0;
  size_t len = strlen(line);
  while (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
  if (len > 0 && strncmp(line, "-- ", 3) != 0) memcpy(libbpf_last, line, sizeof line);
  return 0;
}

int vfb_fail(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p != '\0'; p++) {
    if (*p == '\n') *p = ' ';
  }
  fprintf(stderr, "vipfarm-bpf: %s\n", msg);
  return VFB_EXIT_FAIL;
}

/* ---- cgroups and bpffs ---------------------------------------------------------------------- */

uint64_t vfb_cgroup_id(const char *dir) {
  struct statfs fs;
  struct stat st;
  if (statfs(dir, &fs) != 0 || stat(dir, &st) != 0) return 0;
  if (fs.f_type != 0x63677270 /* CGROUP2_SUPER_MAGIC */ || !S_ISDIR(st.st_mode)) {
    errno = ENOTDIR;
    return 0;
  }
  return (uint64_t)st.st_ino;
}

/* The cgroup v2 mount point, from /proc/self/mounts; false when there is none. */
static int cgroup2_mount(char *out, size_t len) {
  FILE *f = fopen("/proc/self/mounts", "re");
  if (f == NULL) return 0;
  char dev[256], dir[PATH_MAX], type[64];
  int found = 0;
  while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
    if (strcmp(type, "cgroup2") == 0) {
      snprintf(out, len, "%s", dir);
      found = 1;
      break;
    }
  }
  fclose(f);
  return found;
}

/* The level (root = 0) of the cgroup directory `real` (a resolved path) under mount `mnt`. */
static int cgroup_level(const char *mnt, const char *real) {
  size_t m = strlen(mnt);
  if (strncmp(real, mnt, m) != 0 || (real[m] != '/' && real[m] != '\0')) return -1;
  int level = 0;
  for (const char *p = real + m; *p != '\0'; p++) {
    if (*p == '/' && p[1] != '\0' && p[1] != '/') level++;
  }
  return level;
}

static int on_bpffs(const char *path) {
  struct statfs fs;
  return statfs(path, &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

/* DIR's parent must be on bpffs; /sys/fs/bpf is mounted as bpffs when it is not one yet. */
static int ensure_bpffs(const char *pin_dir) {
  char parent[PATH_MAX];
  snprintf(parent, sizeof parent, "%s", pin_dir);
  char *slash = strrchr(parent, '/');
  if (slash == NULL || slash == parent) return vfb_fail("--pin %s: must be a directory on bpffs", pin_dir);
  *slash = '\0';
  if (on_bpffs(parent)) return 0;
  if (strcmp(parent, BPFFS_DEFAULT) == 0 && mount("bpf", BPFFS_DEFAULT, "bpf", 0, "mode=0700") == 0) {
    return 0;
  }
  return vfb_fail("%s is not on bpffs (mount -t bpf bpf %s)", parent, parent);
}

int vfb_open_map(const char *pin_dir, const char *name) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", pin_dir, name);
  int fd = bpf_obj_get(path);
  if (fd < 0) vfb_fail("%s: %s (not attached?)", path, strerror(errno));
  return fd;
}

/* ---- the programs --------------------------------------------------------------------------- */

static const char *const MAP_NAMES[] = {"sessions", "owners", "progs", "config", "socks", "epoch", "bound"};

/* The program of hook i; for sendmsg4, whichever of the two open_and_load() loaded. */
static struct bpf_program *hook_program(struct vipfarm *skel, int i) {
  struct bpf_program *sendmsg4 = bpf_program__autoload(skel->progs.vf_sendmsg4)
                                     ? skel->progs.vf_sendmsg4
                                     : skel->progs.vf_sendmsg4_compat;
  struct bpf_program *progs[N_HOOKS] = {
      skel->progs.vf_bind4,       skel->progs.vf_bind6,       skel->progs.vf_connect4,
      skel->progs.vf_connect6,    sendmsg4,                   skel->progs.vf_sendmsg6,
      skel->progs.vf_recvmsg4,    skel->progs.vf_recvmsg6,    skel->progs.vf_getpeername4,
      skel->progs.vf_getpeername6, skel->progs.vf_getsockname4, skel->progs.vf_getsockname6,
      skel->progs.vf_post_bind4,  skel->progs.vf_post_bind6};
  return progs[i];
}

static const char *const LINK_NAMES[N_HOOKS] = {
    "link-bind4",       "link-bind6",       "link-connect4",    "link-connect6",
    "link-sendmsg4",    "link-sendmsg6",    "link-recvmsg4",    "link-recvmsg6",
    "link-getpeername4", "link-getpeername6", "link-getsockname4", "link-getsockname6",
    "link-post_bind4",  "link-post_bind6"};

static void pin_path(char *out, size_t len, const char *pin_dir, const char *name) {
  snprintf(out, len, "%s/%s", pin_dir, name);
}

static int count_links(const char *pin_dir) {
  int n = 0;
  for (int i = 0; i < N_HOOKS; i++) {
    char path[PATH_MAX];
    pin_path(path, sizeof path, pin_dir, LINK_NAMES[i]);
    int fd = bpf_obj_get(path);
    if (fd >= 0) {
      n++;
      close(fd);
    }
  }
  return n;
}

static int read_config(const char *pin_dir, struct vfb_config *cfg) {
  char path[PATH_MAX];
  pin_path(path, sizeof path, pin_dir, "config");
  int fd = bpf_obj_get(path);
  if (fd < 0) return -1;
  __u32 zero = 0;
  int rc = bpf_map_lookup_elem(fd, &zero, cfg);
  close(fd);
  return rc;
}

static const char *kernel_release(void) {
  static struct utsname u;
  return uname(&u) == 0 ? u.release : "?";
}

static int load_failure(const char *what, int err) {
  return vfb_fail("kernel %s cannot load the hooks (needs >= 5.18: the 12 cgroup sock_addr hooks "
                  "and post_bind4/6, bpf_set_retval, bpf_sk_storage): %s: %s%s%s",
                  kernel_release(), what, strerror(err < 0 ? -err : err),
                  libbpf_last[0] ? ": " : "", libbpf_last);
}

/*
 * VIPFARM_BPF_TEST_REFUSE=vf_sendmsg4: the kernel is made to refuse vf_sendmsg4 (tests of the
 * fallback in open_and_load(), which kernels that refuse the in-place read take; this one does not).
 */
static int refuse_in_place(void) {
  const char *refuse = getenv("VIPFARM_BPF_TEST_REFUSE");
  return refuse != NULL && strcmp(refuse, "vf_sendmsg4") == 0;
}

/*
 * Opens and loads the object, its maps pinned under pin_dir (NULL: not pinned). vf_sendmsg4 reads
 * the socket's storage in place (kfuncs bpf_cast_to_kern_ctx and bpf_rdonly_cast, and reads of
 * untrusted kernel memory, which older kernels refuse); there vf_sendmsg4_compat, the same rules
 * through bpf_sk_storage_get, is loaded instead. A failed load unpins the maps it pinned, so the
 * second try starts from the same state. Returns NULL with *err set when neither loads, and
 * *pinning set when the maps could not even be given their pin paths (not the kernel's doing).
 */
static struct vipfarm *open_and_load(const char *pin_dir, int *err, int *pinning) {
  *err = 0;
  *pinning = 0;
  /* VIPFARM_BPF_COMPAT=1: the compat program only (tests, and a way out should a kernel misread) */
  const char *force = getenv("VIPFARM_BPF_COMPAT");
  for (int compat = force != NULL && strcmp(force, "1") == 0; compat < 2; compat++) {
    struct vipfarm *skel = vipfarm__open();
    if (skel == NULL) {
      *err = -errno;
      return NULL;
    }
    bpf_program__set_autoload(compat ? skel->progs.vf_sendmsg4 : skel->progs.vf_sendmsg4_compat, false);
    if (!compat && refuse_in_place()) { /* a real refusal: its msg_src_ip4 write is not a connect4's */
      bpf_program__set_expected_attach_type(skel->progs.vf_sendmsg4, BPF_CGROUP_INET4_CONNECT);
    }
    for (size_t i = 0; pin_dir != NULL && i < sizeof MAP_NAMES / sizeof MAP_NAMES[0]; i++) {
      char path[PATH_MAX];
      struct bpf_map *map = bpf_object__find_map_by_name(skel->obj, MAP_NAMES[i]);
      pin_path(path, sizeof path, pin_dir, MAP_NAMES[i]);
      if (map == NULL || bpf_map__set_pin_path(map, path) != 0) {
        snprintf(libbpf_last, sizeof libbpf_last, "cannot pin map %s", MAP_NAMES[i]);
        vipfarm__destroy(skel);
        *err = -EINVAL;
        *pinning = 1;
        return NULL;
      }
    }
    *err = vipfarm__load(skel); /* reuses pinned maps, pins new ones */
    if (*err == 0) return skel;
    vipfarm__destroy(skel);
  }
  return NULL;
}

static int cmd_probe(void) {
  char mnt[PATH_MAX];
  if (geteuid() != 0) {
    fprintf(stderr, "vipfarm-bpf: the kernel path needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN)\n");
    return VFB_EXIT_UNAVAILABLE;
  }
  if (!cgroup2_mount(mnt, sizeof mnt)) {
    fprintf(stderr, "vipfarm-bpf: no cgroup v2 mount (the kernel path needs cgroup2)\n");
    return VFB_EXIT_UNAVAILABLE;
  }
  int err, pinning;
  vipfarm__destroy(open_and_load(NULL, &err, &pinning));
  if (err != 0) {
    load_failure("load", err);
    return VFB_EXIT_UNAVAILABLE;
  }
  return VFB_EXIT_OK;
}

/* The tag (a hash of its instructions, map references left out) of the program `prog_fd`. */
static int prog_tag(int prog_fd, __u8 tag[BPF_TAG_SIZE]) {
  struct bpf_prog_info info;
  __u32 len = sizeof info;
  memset(&info, 0, sizeof info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return -1;
  memcpy(tag, info.tag, BPF_TAG_SIZE);
  return 0;
}

/*
 * The pinned link `link_fd` runs `prog` from now on: unchanged when its program has the same code
 * (the same build: `attach` again changes nothing), else switched in one step (BPF_F_REPLACE: only
 * if it still runs the program looked at), so that an upgraded agent's programs take over without
 * a moment in which the hook has none. The maps are the pinned ones (open_and_load reused them).
 */
static int take_over(int link_fd, struct bpf_program *prog, const char *hook) {
  struct bpf_link_info link;
  __u32 len = sizeof link;
  memset(&link, 0, sizeof link);
  if (bpf_obj_get_info_by_fd(link_fd, &link, &len) != 0) return vfb_fail("link %s: %s", hook, strerror(errno));
  int old_fd = bpf_prog_get_fd_by_id(link.prog_id);
  if (old_fd < 0) return vfb_fail("program of link %s: %s", hook, strerror(errno));
  __u8 old_tag[BPF_TAG_SIZE], new_tag[BPF_TAG_SIZE];
  int rc = VFB_EXIT_OK;
  if (prog_tag(old_fd, old_tag) != 0 || prog_tag(bpf_program__fd(prog), new_tag) != 0) {
    rc = vfb_fail("program info of %s: %s", hook, strerror(errno));
  } else if (memcmp(old_tag, new_tag, BPF_TAG_SIZE) != 0) {
    LIBBPF_OPTS(bpf_link_update_opts, opts, .flags = BPF_F_REPLACE, .old_prog_fd = old_fd);
    if (bpf_link_update(link_fd, bpf_program__fd(prog), &opts) != 0) {
      rc = vfb_fail("replace the program of %s: %s", hook, strerror(errno));
    }
  }
  close(old_fd);
  return rc;
}

static int cmd_attach(const char *pin_dir, const char *cgroup_dir) {
  char mnt[PATH_MAX], real[PATH_MAX], path[PATH_MAX];
  if (!cgroup2_mount(mnt, sizeof mnt)) return vfb_fail("no cgroup v2 mount");
  if (realpath(cgroup_dir, real) == NULL) return vfb_fail("--cgroup %s: %s", cgroup_dir, strerror(errno));
  int level = cgroup_level(mnt, real);
  if (level < 0) return vfb_fail("--cgroup %s is not under the cgroup v2 mount %s", real, mnt);
  if (level == 0) return vfb_fail("--cgroup %s is the root cgroup: attach to a cgroup of vipfarm's", real);
  uint64_t cgid = vfb_cgroup_id(real);
  if (cgid == 0) return vfb_fail("--cgroup %s: not a cgroup v2 directory", real);
  if (ensure_bpffs(pin_dir) != 0) return VFB_EXIT_FAIL;
  if (mkdir(pin_dir, 0700) != 0 && errno != EEXIST) return vfb_fail("mkdir %s: %s", pin_dir, strerror(errno));

  struct vfb_config cfg;
  if (read_config(pin_dir, &cfg) == 0 && cfg.cgroup_id != 0 && cfg.cgroup_id != cgid) {
    return vfb_fail("%s is attached to %s already, not to %s", pin_dir, cfg.cgroup_path, real);
  }

  int err, pinning;
  struct vipfarm *skel = open_and_load(pin_dir, &err, &pinning);
  if (skel == NULL) return pinning ? vfb_fail("%s", libbpf_last) : load_failure("load", err);
  struct vfb_config new_cfg = {.cgroup_id = cgid, .session_level = (__u32)level + 1};
  if (strlen(real) >= sizeof new_cfg.cgroup_path) {
    vipfarm__destroy(skel);
    return vfb_fail("--cgroup %s: path longer than %zu bytes", real, sizeof new_cfg.cgroup_path - 1);
  }
  memcpy(new_cfg.cgroup_path, real, strlen(real) + 1);
  __u32 zero = 0;
  if (bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &new_cfg, BPF_ANY) != 0) {
    vipfarm__destroy(skel);
    return vfb_fail("cannot write the config map: %s", strerror(errno));
  }

  int cg_fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg_fd < 0) {
    vipfarm__destroy(skel);
    return vfb_fail("open %s: %s", real, strerror(errno));
  }
  int rc = VFB_EXIT_OK;
  for (int i = 0; i < N_HOOKS && rc == VFB_EXIT_OK; i++) {
    pin_path(path, sizeof path, pin_dir, LINK_NAMES[i]);
    int fd = bpf_obj_get(path);
    if (fd >= 0) { /* in place: an earlier build's program is swapped for this one's */
      rc = take_over(fd, hook_program(skel, i), LINK_NAMES[i] + 5);
      close(fd);
      continue;
    }
    struct bpf_link *link = bpf_program__attach_cgroup(hook_program(skel, i), cg_fd);
    if (link == NULL) {
      rc = vfb_fail("attach %s to %s: %s", LINK_NAMES[i] + 5, real, strerror(errno));
    } else {
      if (bpf_link__pin(link, path) != 0) rc = vfb_fail("pin %s: %s", path, strerror(errno));
      bpf_link__destroy(link); /* the pin keeps it */
    }
  }
  close(cg_fd);
  vipfarm__destroy(skel);
  return rc;
}

static int cmd_detach(const char *pin_dir) {
  struct stat st;
  if (stat(pin_dir, &st) != 0) return errno == ENOENT ? VFB_EXIT_OK : vfb_fail("%s: %s", pin_dir, strerror(errno));
  if (!on_bpffs(pin_dir)) return vfb_fail("%s is not on bpffs", pin_dir);
  char path[PATH_MAX];
  for (int i = 0; i < N_HOOKS; i++) {
    pin_path(path, sizeof path, pin_dir, LINK_NAMES[i]);
    if (unlink(path) != 0 && errno != ENOENT) return vfb_fail("unpin %s: %s", path, strerror(errno));
  }
  for (size_t i = 0; i < sizeof MAP_NAMES / sizeof MAP_NAMES[0]; i++) {
    pin_path(path, sizeof path, pin_dir, MAP_NAMES[i]);
    if (unlink(path) != 0 && errno != ENOENT) return vfb_fail("unpin %s: %s", path, strerror(errno));
  }
  if (rmdir(pin_dir) != 0 && errno != ENOENT) return vfb_fail("rmdir %s: %s", pin_dir, strerror(errno));
  return VFB_EXIT_OK;
}

static int cmd_status(const char *pin_dir) {
  struct vfb_config cfg;
  memset(&cfg, 0, sizeof cfg);
  int links = count_links(pin_dir);
  int have_cfg = read_config(pin_dir, &cfg) == 0 && cfg.cgroup_id != 0;
  int sessions = vfb_count_sessions(pin_dir);
  int attached = links == N_HOOKS && have_cfg;
  printf("{\"attached\":%s,\"cgroup\":\"", attached ? "true" : "false");
  for (const char *p = have_cfg ? cfg.cgroup_path : ""; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\') putchar('\\');
    putchar(*p);
  }
  printf("\",\"cgroupId\":%llu,\"programs\":%d,\"sessions\":%d}\n",
         (unsigned long long)(have_cfg ? cfg.cgroup_id : 0), links, sessions < 0 ? 0 : sessions);
  return VFB_EXIT_OK;
}

/* ---- command line ---------------------------------------------------------------------------- */

static int usage(const char *why) {
  fprintf(stderr, "vipfarm-bpf: %s (usage: vipfarm-bpf probe | attach --pin DIR --cgroup CGDIR | "
                  "set --pin DIR --cgroup SESSION_CGDIR --rules FILE | clear --pin DIR "
                  "(--cgroup-id N | --cgroup SESSION_CGDIR) | list --pin DIR | detach --pin DIR | "
                  "status --pin DIR)\n", why);
  return VFB_EXIT_USAGE;
}

int main(int argc, char **argv) {
  libbpf_set_print(libbpf_print);
  if (argc < 2) return usage("no command");
  const char *cmd = argv[1];
  const char *pin = NULL, *cgroup = NULL, *rules = NULL, *cgroup_id = NULL;
  for (int i = 2; i < argc; i++) {
    const char **slot = strcmp(argv[i], "--pin") == 0         ? &pin
                        : strcmp(argv[i], "--cgroup") == 0    ? &cgroup
                        : strcmp(argv[i], "--rules") == 0     ? &rules
                        : strcmp(argv[i], "--cgroup-id") == 0 ? &cgroup_id
                                                              : NULL;
    if (slot == NULL) return usage("unknown option");
    if (i + 1 == argc) return usage("option without a value");
    *slot = argv[++i];
  }
  if (strcmp(cmd, "probe") == 0) return cmd_probe();
  if (pin == NULL) return usage("--pin DIR is required");
  size_t pin_len = strlen(pin);
  if (pin_len < 2 || pin[0] != '/' || pin[pin_len - 1] == '/') return usage("--pin needs an absolute path");
  if (strcmp(cmd, "attach") == 0) return cgroup ? cmd_attach(pin, cgroup) : usage("--cgroup is required");
  if (strcmp(cmd, "set") == 0) {
    return cgroup && rules ? vfb_cmd_set(pin, cgroup, rules) : usage("--cgroup and --rules are required");
  }
  if (strcmp(cmd, "clear") == 0) {
    uint64_t id = 0;
    if (cgroup_id != NULL) {
      char *end;
      errno = 0;
      unsigned long long v = strtoull(cgroup_id, &end, 10);
      if (errno != 0 || *end != '\0' || v == 0) return usage("--cgroup-id needs a number");
      id = v;
    } else if (cgroup != NULL) {
      id = vfb_cgroup_id(cgroup);
      if (id == 0) return vfb_fail("%s is not a cgroup v2 directory: %s", cgroup, strerror(errno));
    } else {
      return usage("--cgroup-id or --cgroup is required");
    }
    return vfb_cmd_clear(pin, id);
  }
  if (strcmp(cmd, "list") == 0) return vfb_cmd_list(pin);
  if (strcmp(cmd, "detach") == 0) return cmd_detach(pin);
  if (strcmp(cmd, "status") == 0) return cmd_status(pin);
  return usage("unknown command");
}
