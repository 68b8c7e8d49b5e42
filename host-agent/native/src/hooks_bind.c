/* bind(2): 0.0.0.0 / :: / a host address -> V; 127.0.0.1 -> L or V (design.md section 3). */
#include "hooks.h"

VF_HOOK(bind) {
  if (vf_in_shim) return vf_real_bind VF_bind_ARGS;
  vf_init(__func__);
  struct vf_decision d;
  if (vf_hook_prepare(__func__, VF_CALL_BIND, fd, VF_SOCKADDR_PTR(addr), len, 0, &d) == VF_REPLACE) {
    return vf_real_bind(fd, (const struct sockaddr *)&d.addr, d.addr_len);
  }
  return vf_real_bind VF_bind_ARGS;
}
