#!/usr/bin/env bash
# The kernel path's own cost per hooked call, free of scheduling noise: runs bench/bench.c once in a
# session cgroup with the BPF hooks attached and reads each program's run count and run time from the
# kernel's BPF statistics (sysctl kernel.bpf_stats_enabled, switched on for the run and restored at
# exit; it adds two clock reads per program run).
#
#   host-agent/native/bench/kernel-cost.sh [ITERATIONS [LOOP_SECONDS]]     (defaults 100000 2)
#
# Root only. Same rules and build dir as run.sh; everything it creates is removed at exit.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
N=${1:-100000}
SECONDS_LOOP=${2:-2}
BUILD=${BUILD:-/tmp/vipfarm-bench}
[[ $(id -u) == 0 ]] || { echo "kernel-cost.sh: needs root"; exit 1; }
make -s -C "$HERE/.." BUILD="$BUILD" "$BUILD/vipfarm-bpf" > /dev/null
gcc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/vf-bench" "$HERE/bench.c" -pthread
BPF=$BUILD/vipfarm-bpf
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
ID=vfcost-$$-$RANDOM
PARENT=$CG2/$ID
PIN=/sys/fs/bpf/$ID
RUN=$(mktemp -d "${TMPDIR:-/tmp}/vipfarm-cost.XXXXXX")
stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled)
cleanup() {
  echo "$stats_before" > /proc/sys/kernel/bpf_stats_enabled
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
mkdir -p "$PARENT/s77"
printf '%s\n' "vipfarm-rules 1" "session 77" "loopback4 127.0.0.78" "loopback-programs *" \
  "vip4 127.100.77.1" "vip-programs *" > "$RUN/77.rules"
"$BPF" attach --pin "$PIN" --cgroup "$PARENT"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s77" --rules "$RUN/77.rules"
echo 1 > /proc/sys/kernel/bpf_stats_enabled
sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$PARENT/s77" "$BUILD/vf-bench" "$N" "$SECONDS_LOOP"
echo "per program (load $(cut -d' ' -f1-3 /proc/loadavg)):"
for link in "$PIN"/link-*; do
  prog=$(bpftool link show pinned "$link" | awk '{ for (i = 1; i < NF; i++) if ($i == "prog") print $(i + 1) }')
  bpftool prog show id "$prog" | awk 'NR == 1 { for (i = 1; i < NF; i++) {
      if ($i == "name") name = $(i + 1); if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) }
    if (c > 0) printf "  %-16s %9d runs %8.1f ns/run\n", name, c, t / c }'
done
