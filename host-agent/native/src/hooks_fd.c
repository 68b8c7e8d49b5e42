/*
 * The fd table's bookkeeping (fdtab.c): the state recorded for an fd follows the socket, not the
 * number.
 *   socket            the new fd starts with nothing (an fd closed behind our back, by fclose or
 *                     a raw syscall, may have left an entry)
 *   close             clears the entry first, so a number reused at once by another thread
 *                     cannot lose its fresh entry to a late clear
 *   close_range       clears the range after it succeeded (not with CLOSE_RANGE_CLOEXEC: that
 *                     closes nothing); a failed one (ENOSYS) keeps the fds and their entries
 *   dup, dup2, dup3, fcntl(F_DUPFD, F_DUPFD_CLOEXEC)   copy the entry (or its absence)
 * fork copies the table with the process. exec loses it: the new program sees L and V as they are.
 * Every wrapper returns the real result with errno untouched; the table is never consulted
 * without a session.
 */
#include "hooks.h"

#include <fcntl.h>
#include <stdarg.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

VF_HOOK(socket) {
  if (vf_in_shim) return vf_real_socket VF_socket_ARGS;
  vf_init(__func__);
  int fd = vf_real_socket VF_socket_ARGS;
  if (fd >= 0 && vf_session_enabled) vf_fd_clear(fd);
  return fd;
}

VF_HOOK(close) {
  if (vf_in_shim) return vf_real_close VF_close_ARGS;
  vf_init(__func__);
  if (vf_session_enabled) vf_fd_clear(fd);
  return vf_real_close VF_close_ARGS;
}

VF_HOOK(close_range) {
  if (vf_in_shim) return vf_real_close_range VF_close_range_ARGS;
  vf_init(__func__);
  int r = vf_real_close_range VF_close_range_ARGS;
  if (r == 0 && vf_session_enabled && !(flags & (int)CLOSE_RANGE_CLOEXEC)) {
    vf_fd_clear_range(first, last);
  }
  return r;
}

VF_HOOK(dup) {
  if (vf_in_shim) return vf_real_dup VF_dup_ARGS;
  vf_init(__func__);
  int r = vf_real_dup VF_dup_ARGS;
  if (r >= 0 && vf_session_enabled) vf_fd_copy(fd, r);
  return r;
}

VF_HOOK(dup2) {
  if (vf_in_shim) return vf_real_dup2 VF_dup2_ARGS;
  vf_init(__func__);
  int r = vf_real_dup2 VF_dup2_ARGS;
  if (r >= 0 && fd != fd2 && vf_session_enabled) vf_fd_copy(fd, fd2);
  return r;
}

VF_HOOK(dup3) {
  if (vf_in_shim) return vf_real_dup3 VF_dup3_ARGS;
  vf_init(__func__);
  int r = vf_real_dup3 VF_dup3_ARGS;
  if (r >= 0 && vf_session_enabled) vf_fd_copy(fd, fd2);
  return r;
}

/* The third argument is read as one pointer-sized value whatever cmd is, as glibc's fcntl does. */
#define VF_FCNTL_BODY(name) \
  va_list ap; \
  va_start(ap, cmd); \
  void *arg = va_arg(ap, void *); \
  va_end(ap); \
  if (vf_in_shim) return vf_real_##name(fd, cmd, arg); \
  vf_init(__func__); \
  int r = vf_real_##name(fd, cmd, arg); \
  if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && vf_session_enabled) { \
    vf_fd_copy(fd, r); \
  } \
  return r;

VF_EXPORT int fcntl(int fd, int cmd, ...) { VF_FCNTL_BODY(fcntl) }
VF_EXPORT int fcntl64(int fd, int cmd, ...) { VF_FCNTL_BODY(fcntl64) }
