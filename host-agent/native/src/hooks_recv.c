/*
 * recvfrom(2), recvmsg(2), recvmmsg(2): on a socket whose 127.0.0.1 the shim turned into L or V
 * (it sent or connected to 127.0.0.1, or bound 127.0.0.1), a datagram from that L/V is reported
 * as coming from 127.0.0.1 (::ffff:127.0.0.1 on an IPv6 socket): resolvers drop replies whose
 * source differs from where they sent. Other sources, and untracked fds, are the kernel's.
 */
#include "hooks.h"

#include <stdint.h>

VF_HOOK(recvfrom) {
  if (vf_in_shim) return vf_real_recvfrom VF_recvfrom_ARGS;
  vf_init(__func__);
  if (VF_SOCKADDR_PTR(addr) == NULL || len == NULL || !vf_hook_tracked(fd)) {
    return vf_real_recvfrom VF_recvfrom_ARGS;
  }
  socklen_t given = *len;
  ssize_t r = vf_real_recvfrom VF_recvfrom_ARGS;
  if (r >= 0) vf_hook_show(fd, VF_SIDE_REMOTE, VF_SOCKADDR_PTR(addr), given, *len);
  return r;
}

VF_HOOK(recvmsg) {
  if (vf_in_shim) return vf_real_recvmsg VF_recvmsg_ARGS;
  vf_init(__func__);
  if (msg == NULL || msg->msg_name == NULL || !vf_hook_tracked(fd)) {
    return vf_real_recvmsg VF_recvmsg_ARGS;
  }
  socklen_t given = msg->msg_namelen;
  ssize_t r = vf_real_recvmsg VF_recvmsg_ARGS;
  if (r >= 0) vf_hook_show(fd, VF_SIDE_REMOTE, msg->msg_name, given, msg->msg_namelen);
  return r;
}

/* The kernel handles at most UIO_MAXIOV (1024) messages per call. */
#define MMSG_MAX 1024

VF_HOOK(recvmmsg) {
  if (vf_in_shim) return vf_real_recvmmsg VF_recvmmsg_ARGS;
  vf_init(__func__);
  if (vec == NULL || vlen == 0 || !vf_hook_tracked(fd)) return vf_real_recvmmsg VF_recvmmsg_ARGS;
  /* The buffer sizes before the call (the kernel overwrites them), capped: an address needs at
     most 28 bytes to be translated, so one byte per message is enough. */
  uint8_t given[MMSG_MAX];
  unsigned int n = vlen < MMSG_MAX ? vlen : MMSG_MAX;
  for (unsigned int i = 0; i < n; i++) {
    socklen_t g = vec[i].msg_hdr.msg_name != NULL ? vec[i].msg_hdr.msg_namelen : 0;
    given[i] = (uint8_t)(g < UINT8_MAX ? g : UINT8_MAX);
  }
  int r = vf_real_recvmmsg VF_recvmmsg_ARGS;
  for (int i = 0; i < r && (unsigned int)i < n; i++) {
    vf_hook_show(fd, VF_SIDE_REMOTE, vec[i].msg_hdr.msg_name, given[i], vec[i].msg_hdr.msg_namelen);
  }
  return r;
}
