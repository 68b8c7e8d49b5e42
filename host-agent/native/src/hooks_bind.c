/*
 * bind(2): 0.0.0.0 / :: / a host address -> V; 127.0.0.1 -> L or V (design.md section 3). A
 * rewritten bind that succeeded is remembered, so getsockname shows the address the program bound.
 */
#include "hooks.h"

VF_HOOK(bind) {
  if (vf_in_shim) return vf_real_bind VF_bind_ARGS;
  vf_init(__func__);
  struct vf_decision d;
  if (vf_hook_prepare(__func__, VF_CALL_BIND, fd, VF_SOCKADDR_PTR(addr), len, 0, &d) == VF_REPLACE) {
    int r = vf_real_bind(fd, (const struct sockaddr *)&d.addr, d.addr_len);
    if (r == 0) vf_hook_remember(fd, VF_CALL_BIND, VF_SOCKADDR_PTR(addr), len, &d);
    return r;
  }
  return vf_real_bind VF_bind_ARGS;
}
