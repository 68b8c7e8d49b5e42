/* connect(2): 127.0.0.1 -> L or V; to any other IPv4 address from an unbound socket: leave from V. */
#include "hooks.h"

VF_HOOK(connect) {
  if (vf_in_shim) return vf_real_connect VF_connect_ARGS;
  vf_init(__func__);
  struct vf_decision d;
  if (vf_hook_prepare(__func__, VF_CALL_CONNECT, fd, VF_SOCKADDR_PTR(addr), len, 0, &d) ==
      VF_REPLACE) {
    return vf_real_connect(fd, (const struct sockaddr *)&d.addr, d.addr_len);
  }
  return vf_real_connect VF_connect_ARGS;
}
