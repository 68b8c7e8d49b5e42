/*
 * sendto(2), sendmsg(2), sendmmsg(2) with a destination address: as connect (127.0.0.1 -> L or V,
 * other destinations leave from V). On a stream socket only sendto/sendmsg with MSG_FASTOPEN
 * carry a destination (they connect); otherwise the address is the kernel's business.
 * The caller's msghdr / mmsghdr are never modified: rewritten copies live on our stack.
 * A rewritten 127.0.0.1 is remembered before sending, so the reply's source shows 127.0.0.1.
 */
#include "hooks.h"

#include <string.h>

#define MMSG_CHUNK 16

VF_HOOK(sendto) {
  if (vf_in_shim) return vf_real_sendto VF_sendto_ARGS;
  vf_init(__func__);
  struct vf_decision d;
  if (vf_hook_prepare(__func__, VF_CALL_SEND, fd, VF_SOCKADDR_PTR(addr), len, flags, &d) ==
      VF_REPLACE) {
    vf_hook_remember(fd, VF_CALL_SEND, VF_SOCKADDR_PTR(addr), len, &d);
    return vf_real_sendto(fd, buf, n, flags, (const struct sockaddr *)&d.addr, d.addr_len);
  }
  return vf_real_sendto VF_sendto_ARGS;
}

VF_HOOK(sendmsg) {
  if (vf_in_shim || msg == NULL) return vf_real_sendmsg VF_sendmsg_ARGS;
  vf_init(__func__);
  struct vf_decision d;
  if (vf_hook_prepare(__func__, VF_CALL_SEND, fd, msg->msg_name, msg->msg_namelen, flags, &d) ==
      VF_REPLACE) {
    vf_hook_remember(fd, VF_CALL_SEND, msg->msg_name, msg->msg_namelen, &d);
    struct msghdr copy = *msg;
    copy.msg_name = &d.addr;
    copy.msg_namelen = d.addr_len;
    return vf_real_sendmsg(fd, &copy, flags);
  }
  return vf_real_sendmsg VF_sendmsg_ARGS;
}

/*
 * Messages go out in chunks of MMSG_CHUNK; a chunk that needs no rewriting is sent from the
 * caller's own array. Like the kernel, returns the number sent, or -1 if the first one failed.
 */
VF_HOOK(sendmmsg) {
  if (vf_in_shim || vec == NULL || vlen == 0) return vf_real_sendmmsg VF_sendmmsg_ARGS;
  vf_init(__func__);
  if (!vf_session_enabled) return vf_real_sendmmsg VF_sendmmsg_ARGS;
  unsigned int sent = 0;
  while (sent < vlen) {
    unsigned int n = vlen - sent < MMSG_CHUNK ? vlen - sent : MMSG_CHUNK;
    struct mmsghdr copy[MMSG_CHUNK];
    struct vf_decision d[MMSG_CHUNK];
    bool rewritten = false;
    for (unsigned int i = 0; i < n; i++) {
      const struct msghdr *m = &vec[sent + i].msg_hdr;
      copy[i] = vec[sent + i];
      if (vf_hook_prepare(__func__, VF_CALL_SEND, fd, m->msg_name, m->msg_namelen, flags, &d[i]) ==
          VF_REPLACE) {
        copy[i].msg_hdr.msg_name = &d[i].addr;
        copy[i].msg_hdr.msg_namelen = d[i].addr_len;
        vf_hook_remember(fd, VF_CALL_SEND, m->msg_name, m->msg_namelen, &d[i]);
        rewritten = true;
      }
    }
    int r = rewritten ? vf_real_sendmmsg(fd, copy, n, flags)
                      : vf_real_sendmmsg(fd, vec + sent, n, flags);
    if (r < 0) return sent > 0 ? (int)sent : -1;
    if (rewritten) {
      for (int i = 0; i < r; i++) vec[sent + (unsigned)i].msg_len = copy[i].msg_len;
    }
    sent += (unsigned)r;
    if ((unsigned)r < n) break;
  }
  return (int)sent;
}
