/*
 * accept(2), accept4(2): the new socket inherits what its listener recorded (fdtab.c,
 * vf_fd_accepted): on a listener the program bound to 127.0.0.1 (really L or V), a peer at that
 * L/V is the program's 127.0.0.1, and the local address is 127.0.0.1; a listener bound to a host
 * address shows that address as the local one. A connection to a wildcard listener (0.0.0.0 -> V)
 * really arrived at V and is shown as it is. The new fd's stale entry, if any, is cleared.
 */
#include "hooks.h"

static void accepted(int listener, int fd, struct sockaddr *addr, socklen_t *len,
                     socklen_t given) {
  vf_fd_accepted(listener, fd);
  if (addr != NULL && len != NULL) vf_hook_show(fd, VF_SIDE_REMOTE, addr, given, *len);
}

VF_HOOK(accept) {
  if (vf_in_shim) return vf_real_accept VF_accept_ARGS;
  vf_init(__func__);
  if (!vf_session_enabled) return vf_real_accept VF_accept_ARGS;
  bool tracked = vf_fd_tracked(fd);
  socklen_t given = tracked && VF_SOCKADDR_PTR(addr) != NULL && len != NULL ? *len : 0;
  int r = vf_real_accept VF_accept_ARGS;
  if (r >= 0) accepted(fd, r, tracked ? VF_SOCKADDR_PTR(addr) : NULL, len, given);
  return r;
}

VF_HOOK(accept4) {
  if (vf_in_shim) return vf_real_accept4 VF_accept4_ARGS;
  vf_init(__func__);
  if (!vf_session_enabled) return vf_real_accept4 VF_accept4_ARGS;
  bool tracked = vf_fd_tracked(fd);
  socklen_t given = tracked && VF_SOCKADDR_PTR(addr) != NULL && len != NULL ? *len : 0;
  int r = vf_real_accept4 VF_accept4_ARGS;
  if (r >= 0) accepted(fd, r, tracked ? VF_SOCKADDR_PTR(addr) : NULL, len, given);
  return r;
}
