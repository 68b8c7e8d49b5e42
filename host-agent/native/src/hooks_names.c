/*
 * getsockname(2), getpeername(2): the addresses the program used, not L or V (design.md section 3,
 * "What the program sees"). Only fds with a recorded rewrite are touched, and only after the real
 * call succeeded; the port and every other field are the kernel's.
 */
#include "hooks.h"

VF_HOOK(getsockname) {
  if (vf_in_shim) return vf_real_getsockname VF_getsockname_ARGS;
  vf_init(__func__);
  if (len == NULL || !vf_hook_tracked(fd)) return vf_real_getsockname VF_getsockname_ARGS;
  socklen_t given = *len;
  int r = vf_real_getsockname VF_getsockname_ARGS;
  if (r == 0) vf_hook_show(fd, VF_SIDE_LOCAL, VF_SOCKADDR_PTR(addr), given, *len);
  return r;
}

VF_HOOK(getpeername) {
  if (vf_in_shim) return vf_real_getpeername VF_getpeername_ARGS;
  vf_init(__func__);
  if (len == NULL || !vf_hook_tracked(fd)) return vf_real_getpeername VF_getpeername_ARGS;
  socklen_t given = *len;
  int r = vf_real_getpeername VF_getpeername_ARGS;
  if (r == 0) vf_hook_show(fd, VF_SIDE_REMOTE, VF_SOCKADDR_PTR(addr), given, *len);
  return r;
}
