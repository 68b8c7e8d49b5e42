/*
 * The program's names for the rules' globs: the base name of its executable (/proc/self/exe) and
 * of argv[0] (program_invocation_name, set by libc before any constructor runs). A glob matches
 * if it matches either name (fnmatch(3), no flags), as docs/rules-format.md says.
 */
#include "shim.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>
#include <unistd.h>

extern char *program_invocation_name;

const char *vf_basename(const char *path) {
  if (path == NULL) return "";
  const char *slash = strrchr(path, '/');
  return slash != NULL ? slash + 1 : path;
}

static void copy_name(char *dst, const char *src) {
  size_t n = strlen(src);
  if (n >= VF_MAX_NAME) n = VF_MAX_NAME - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

void vf_program_detect(struct vf_program *prog) {
  int saved_errno = errno;
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  path[n > 0 ? n : 0] = '\0';
  copy_name(prog->exe, vf_basename(path));
  copy_name(prog->argv0, vf_basename(program_invocation_name));
  errno = saved_errno;
}

bool vf_program_matches(const struct vf_program *prog, const char *glob) {
  return fnmatch(glob, prog->exe, 0) == 0 || fnmatch(glob, prog->argv0, 0) == 0;
}
