#!/usr/bin/env bash
# The cost of interception: runs bench/bench.c without enforcement ("plain"), under the preload shim
# ("shim", LD_PRELOAD in a session whose rules rewrite 127.0.0.1 and 0.0.0.0) and on the kernel path
# ("kernel": the same rules in the BPF maps, the program in the session's cgroup, no LD_PRELOAD),
# alternating, ROUNDS times each; prints the best figure of each side and the ratios to plain.
#
#   host-agent/native/bench/run.sh [ITERATIONS [LOOP_SECONDS [ROUNDS]]]     (defaults 200000 2 3)
#
# Builds into $BUILD (default /tmp/vipfarm-bench). The kernel side needs root and a kernel where
# `vipfarm-bpf probe` succeeds; otherwise it is left out (and says why). It attaches to a cgroup it
# creates (vfbench-<pid>) and removes it, the pins and the cgroups at exit. Only 127.0.0.0/8 is used.
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
cleanup() {
  "$BPF" detach --pin "$PIN" > /dev/null 2>&1 || true
  local try
  for ((try = 0; try < 50; try++)); do # EBUSY while the last task is still exiting
    rmdir "$PARENT/s77" 2> /dev/null
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
fi

for ((r = 1; r <= ROUNDS; r++)); do
  "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" | sed 's/^/plain /'
  LD_PRELOAD=$BUILD/libvipfarm.so VIPFARM_SESSION=77 VIPFARM_RUN_DIR=$RUN \
    "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" | sed 's/^/shim /'
  if [[ $kernel == yes ]]; then
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
  END {
    printf "%-20s %10s %10s %10s %12s %12s\n", "call", "plain ns", "shim ns", "kernel ns", "shim +ns", "kernel +ns"
    for (i = 1; i <= n; i++) { k = order[i]
      printf "%-20s %10.1f %10.1f %10s %12.1f %12s\n", k, best[k, "plain"], best[k, "shim"],
             kernel == "yes" ? sprintf("%.1f", best[k, "kernel"]) : "-", best[k, "shim"] - best[k, "plain"],
             kernel == "yes" ? sprintf("%.1f", best[k, "kernel"] - best[k, "plain"]) : "-" }
    printf "%-20s %10s %10s %10s %12s %12s\n", "throughput", "plain /s", "shim /s", "kernel /s", "shim ratio", "kernel ratio"
    for (i = 1; i <= m; i++) { k = rate[i]
      printf "%-20s %10.0f %10.0f %10s %12s %12s\n", k, best[k, "plain"], best[k, "shim"],
             kernel == "yes" ? sprintf("%.0f", best[k, "kernel"]) : "-", ratio(best[k, "shim"], best[k, "plain"]),
             kernel == "yes" ? ratio(best[k, "kernel"], best[k, "plain"]) : "-" }
    print "(targets: loop shim and kernel >= 0.98 of plain)"
  }' "$RUN/results"
