#!/usr/bin/env bash
# The cost of interception: runs bench/bench.c without enforcement ("plain"), under the preload shim
# ("shim", LD_PRELOAD in a session whose rules rewrite 127.0.0.1 and 0.0.0.0) and on the kernel path
# ("kernel": the same rules in the BPF maps, the program in the session's cgroup, no LD_PRELOAD)
# and in a cgroup with programs that do nothing on the same twelve hooks ("empty", bench/empty.bpf.c:
# the kernel's fixed cost of invoking a cgroup BPF program, the floor of the kernel path),
# alternating, ROUNDS times each; prints the best figure of each side and the ratios to plain.
#
#   host-agent/native/bench/run.sh [ITERATIONS [LOOP_SECONDS [ROUNDS]]]     (defaults 200000 2 3)
#
# Builds into $BUILD (default /tmp/vipfarm-bench). The kernel side needs root and a kernel where
# `vipfarm-bpf probe` succeeds; otherwise it is left out (and says why). It attaches to a cgroup it
# creates (vfbench-<pid>, and vfbench-<pid>-empty for the empty programs) and removes them and the
# pins at exit. Only 127.0.0.0/8 is used.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
N=${1:-200000}
SECONDS_LOOP=${2:-2}
ROUNDS=${3:-3}
BUILD=${BUILD:-/tmp/vipfarm-bench}
make -s -C "$HERE/.." BUILD="$BUILD" "$BUILD/libvipfarm.so" "$BUILD/vipfarm-bpf" > /dev/null
gcc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/vf-bench" "$HERE/bench.c" -pthread
RUN=$(mktemp -d "${TMPDIR:-/tmp}/vipfarm-bench.XXXXXX")
BPF=$BUILD/vipfarm-bpf
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
ID=vfbench-$$-$RANDOM
PARENT=$CG2/$ID
PIN=/sys/fs/bpf/$ID
EMPTY=$CG2/$ID-empty
EMPTY_PIN=/sys/fs/bpf/$ID-empty
HOOKS="bind4 bind6 connect4 connect6 sendmsg4 sendmsg6 recvmsg4 recvmsg6 getpeername4 getpeername6
       getsockname4 getsockname6"
cleanup() {
  "$BPF" detach --pin "$PIN" > /dev/null 2>&1 || true
  local try hook
  for hook in $HOOKS; do
    [[ -d $EMPTY ]] && bpftool cgroup detach "$EMPTY" "$hook" pinned "$EMPTY_PIN/empty_$hook" 2> /dev/null
  done
  rm -rf "$EMPTY_PIN"
  for ((try = 0; try < 50; try++)); do # EBUSY while the last task is still exiting
    rmdir "$PARENT/s77" "$EMPTY" 2> /dev/null
    rmdir "$PARENT" 2> /dev/null && break
    [[ -d $PARENT ]] || break
    sleep 0.1
  done
  rm -rf "$RUN"
}
trap cleanup EXIT
mkdir -p "$RUN/sessions"
printf '%s\n' "vipfarm-rules 1" "session 77" "loopback4 127.0.0.78" "loopback-programs *" \
  "vip4 127.100.77.1" "vip-programs *" > "$RUN/sessions/77.rules"

kernel=no
if [[ $(id -u) != 0 ]]; then
  echo "kernel path left out: not root"
elif ! why=$("$BPF" probe 2>&1); then
  echo "kernel path left out: ${why#vipfarm-bpf: }"
elif [[ -z $CG2 ]]; then
  echo "kernel path left out: no cgroup2 mount"
else
  mkdir -p "$PARENT/s77"
  "$BPF" attach --pin "$PIN" --cgroup "$PARENT"
  "$BPF" set --pin "$PIN" --cgroup "$PARENT/s77" --rules "$RUN/sessions/77.rules"
  kernel=yes
  # the empty programs, in a cgroup outside PARENT (PARENT's programs would run there too)
  clang -O2 -target bpf -I"/usr/include/$(gcc -dumpmachine)" -c -o "$BUILD/empty.bpf.o" "$HERE/empty.bpf.c"
  mkdir -p "$EMPTY"
  bpftool prog loadall "$BUILD/empty.bpf.o" "$EMPTY_PIN"
  for hook in $HOOKS; do bpftool cgroup attach "$EMPTY" "$hook" pinned "$EMPTY_PIN/empty_$hook"; done
fi

for ((r = 1; r <= ROUNDS; r++)); do
  "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" | sed 's/^/plain /'
  LD_PRELOAD=$BUILD/libvipfarm.so VIPFARM_SESSION=77 VIPFARM_RUN_DIR=$RUN \
    "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" | sed 's/^/shim /'
  if [[ $kernel == yes ]]; then
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$EMPTY" "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" |
      sed 's/^/empty /'
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$PARENT/s77" "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" |
      sed 's/^/kernel /'
  fi
done > "$RUN/results"

echo "vipfarm interception cost: $N iterations, ${SECONDS_LOOP}s loops, best of $ROUNDS rounds each" \
  "($(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg))"
awk -v kernel="$kernel" '
  $4 == "ns" { k = $2; v = $3; side = $1
               if (!((k, "plain") in best)) order[++n] = k
               if (!((k, side) in best) || v < best[k, side]) best[k, side] = v }
  $4 == "conn/s" || $4 == "dgram/s" {
               k = $2; side = $1
               if (!((k, "plain") in best)) rate[++m] = k
               if ($3 > best[k, side]) best[k, side] = $3 }
  function ratio(a, b) { return b > 0 ? sprintf("%.3f", a / b) : "-" }
  function cell(k, side, f) { return kernel == "yes" || side == "shim" ? sprintf(f, best[k, side]) : "-" }
  function plus(k, side) { return kernel == "yes" || side == "shim" ? sprintf("%.1f", best[k, side] - best[k, "plain"]) : "-" }
  END {
    printf "%-20s %9s %9s %9s %9s %9s %9s %9s\n", "call", "plain ns", "shim ns", "empty ns", "kernel ns",
           "shim +", "empty +", "kernel +"
    for (i = 1; i <= n; i++) { k = order[i]
      printf "%-20s %9.1f %9s %9s %9s %9s %9s %9s\n", k, best[k, "plain"], cell(k, "shim", "%.1f"),
             cell(k, "empty", "%.1f"), cell(k, "kernel", "%.1f"), plus(k, "shim"), plus(k, "empty"), plus(k, "kernel") }
    printf "%-20s %9s %9s %9s %9s %9s %9s %9s\n", "throughput", "plain /s", "shim /s", "empty /s", "kernel /s",
           "shim", "empty", "kernel"
    for (i = 1; i <= m; i++) { k = rate[i]
      printf "%-20s %9.0f %9s %9s %9s %9s %9s %9s\n", k, best[k, "plain"], cell(k, "shim", "%.0f"),
             cell(k, "empty", "%.0f"), cell(k, "kernel", "%.0f"), ratio(best[k, "shim"], best[k, "plain"]),
             kernel == "yes" ? ratio(best[k, "empty"], best[k, "plain"]) : "-",
             kernel == "yes" ? ratio(best[k, "kernel"], best[k, "plain"]) : "-" }
    print "(ratios: of plain; targets: loop and udp, shim and kernel >= 0.98 of plain; empty = the floor)"
  }' "$RUN/results"
