/*
 * vipfarm-bpf, the loader and updater of the kernel path (CONTRACT.md): internal declarations.
 *   main.c      the command line, probe, attach / detach / status (pins, links, cgroups)
 *   session.c   set / clear / list: a rules file compiled into the session's map entries
 *   glob.c      shell globs compiled for the kernel's matcher
 */
#ifndef VIPFARM_BPF_LOADER_H
#define VIPFARM_BPF_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "vipfarm_bpf.h"

/* Exit codes. */
#define VFB_EXIT_OK 0
#define VFB_EXIT_FAIL 1
#define VFB_EXIT_USAGE 2
#define VFB_EXIT_UNAVAILABLE 3

/* Prints "vipfarm-bpf: <message>" on stderr (one line) and returns VFB_EXIT_FAIL. */
int vfb_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int vfb_glob_compile(const char *glob, struct vfb_glob *g, char *error, size_t error_len);

/* The cgroup id of a cgroup v2 directory (its inode number), or 0 with errno set. */
uint64_t vfb_cgroup_id(const char *dir);

/* Opens the pinned map DIR/name; -1 with a message printed when it is missing. */
int vfb_open_map(const char *pin_dir, const char *name);

int vfb_cmd_set(const char *pin_dir, const char *cgroup_dir, const char *rules_file);
int vfb_cmd_clear(const char *pin_dir, uint64_t cgroup_id);
int vfb_cmd_list(const char *pin_dir);
/* The number of sessions in DIR's map, or -1. */
int vfb_count_sessions(const char *pin_dir);

#endif
