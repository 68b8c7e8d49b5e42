/*
 * The floor of the kernel path's cost: one program per cgroup socket-address hook that does nothing
 * (returns 1, "go on"). bench/run.sh attaches them to a cgroup of its own and runs vf-bench there
 * ("empty"): what the kernel charges for invoking a cgroup BPF program at all, which no work in
 * vipfarm.bpf.c can save.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define EMPTY(hook) \
  SEC("cgroup/" #hook) int empty_##hook(struct bpf_sock_addr *ctx) { return 1; }

EMPTY(bind4)
EMPTY(bind6)
EMPTY(connect4)
EMPTY(connect6)
EMPTY(sendmsg4)
EMPTY(sendmsg6)
EMPTY(recvmsg4)
EMPTY(recvmsg6)
EMPTY(getpeername4)
EMPTY(getpeername6)
EMPTY(getsockname4)
EMPTY(getsockname6)
