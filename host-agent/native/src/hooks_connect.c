/*
 * connect(2): 127.0.0.1 -> L or V; to any other IPv4 address from an unbound socket: leave from V.
 * A rewritten 127.0.0.1 is remembered first, so getpeername (and a reply's source) shows 127.0.0.1.
 */
#include "hooks.h"

VF_HOOK(connect) {
  if (vf_in_shim) return vf_real_connect VF_connect_ARGS;
  vf_init(__func__);
  struct vf_decision d;
  if (vf_hook_prepare(__func__, VF_CALL_CONNECT, fd, VF_SOCKADDR_PTR(addr), len, 0, &d) ==
      VF_REPLACE) {
    vf_hook_remember(fd, VF_CALL_CONNECT, VF_SOCKADDR_PTR(addr), len, &d);
    return vf_real_connect(fd, (const struct sockaddr *)&d.addr, d.addr_len);
  }
  return vf_real_connect VF_connect_ARGS;
}
