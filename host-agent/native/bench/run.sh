#!/usr/bin/env bash
# The cost of interception: runs bench/bench.c without enforcement ("plain"), under the preload shim
# ("shim", LD_PRELOAD in a session whose rules rewrite 127.0.0.1 and 0.0.0.0) and on the kernel path
# ("kernel": the same rules in the BPF maps, the program in the session's cgroup, no LD_PRELOAD)
# and in a cgroup with programs that do nothing on the same twelve hooks ("empty", bench/empty.bpf.c:
# the kernel's fixed cost of invoking a cgroup BPF program, the floor of the kernel path), in
# ROUNDS paired rounds: every round runs each side once, in an order that rotates from round to
# round. A throughput's figure is the median over the rounds of side / plain *of the same round*,
# with the quartiles of those ratios and the ~95 % interval of the median (1.58 IQR / sqrt(ROUNDS),
# a box plot's notch); per-call figures are the medians of the rounds. Many short rounds resolve
# more than a few long ones on a busy machine: drifts that last seconds hit both sides of a round.
#
#   host-agent/native/bench/run.sh [ITERATIONS [LOOP_SECONDS [ROUNDS]]]     (defaults 200000 2 3)
#   ONLY=udp|loop|calls|... run.sh ...   only those parts of vf-bench (a comma-separated list)
#   CPU=N run.sh ...                     every side pinned to CPU N (taskset), the same for all
#   TOGETHER=1 run.sh ...                every round runs its sides at the same time, all pinned to
#                                        one CPU (CPU, default the last): the scheduler interleaves
#                                        them every few ms, so they share the machine's drifts; read
#                                        the -cpu rows (per second of each process's own CPU time)
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
ONLY=${ONLY:-all}
BUILD=${BUILD:-/tmp/vipfarm-bench}
TOGETHER=${TOGETHER:-}
[[ -n $TOGETHER && -z ${CPU:-} ]] && CPU=$(($(nproc) - 1))
PIN_CPU=()
[[ -n ${CPU:-} ]] && PIN_CPU=(taskset -c "$CPU")
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

SIDES=(plain shim)
[[ $kernel == yes ]] && SIDES+=(empty kernel)
side() { # one run of vf-bench on one side, its lines prefixed with the side and the round
  local bench=("${PIN_CPU[@]}" "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" "$ONLY")
  case $1 in
    plain) "${bench[@]}" ;;
    shim) LD_PRELOAD=$BUILD/libvipfarm.so VIPFARM_SESSION=77 VIPFARM_RUN_DIR=$RUN "${bench[@]}" ;;
    empty) sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$EMPTY" "${bench[@]}" ;;
    kernel) sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$PARENT/s77" "${bench[@]}" ;;
  esac | sed "s/^/$1 $2 /"
}
for ((r = 1; r <= ROUNDS; r++)); do
  if [[ -n $TOGETHER ]]; then
    for s in "${SIDES[@]}"; do side "$s" "$r" > "$RUN/round-$s" & done
    wait
    for s in "${SIDES[@]}"; do cat "$RUN/round-$s"; done
  else
    for ((i = 0; i < ${#SIDES[@]}; i++)); do side "${SIDES[(i + r) % ${#SIDES[@]}]}" "$r"; done
  fi
done > "$RUN/results"

echo "vipfarm interception cost: $N iterations, ${SECONDS_LOOP}s loops, $ROUNDS paired rounds" \
  "($([[ -n $TOGETHER ]] && echo "sides at the same time" || echo "sides in rotating order"); medians of the rounds)," \
  "$(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)," \
  "$([[ -n ${CPU:-} ]] && echo "every side pinned to cpu $CPU" || echo "not pinned")"
# lines: SIDE ROUND NAME VALUE UNIT
awk -v kernel="$kernel" -v rounds="$ROUNDS" '
  function sorted(v, n,   i, j, t) { for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t } }
  function q(v, n, p,   x, i) { x = 1 + (n - 1) * p; i = int(x); return i >= n ? v[n] : v[i] + (x - i) * (v[i + 1] - v[i]) }
  # the median (p = 0.5) or a quartile of the per-round values of (k, side), or of side - plain
  # (how = "diff") or side / plain (how = "ratio") in the same round; "" when there are none
  function stat(k, side, how, p,   r, n, v) {
    n = 0
    for (r = 1; r <= rounds; r++) {
      if (!((k, side, r) in val) || !((k, "plain", r) in val)) continue
      if (how == "ratio") { if (val[k, "plain", r] <= 0) continue; v[++n] = val[k, side, r] / val[k, "plain", r] }
      else if (how == "diff") v[++n] = val[k, side, r] - val[k, "plain", r]
      else v[++n] = val[k, side, r]
    }
    if (n == 0) return ""
    sorted(v, n)
    cnt[k, side] = n
    return q(v, n, p)
  }
  function has(side) { return side == "shim" || kernel == "yes" }
  function fmt(x, f) { return x == "" ? "-" : sprintf(f, x) }
  $5 == "ns" || $5 == "conn/s" || $5 == "dgram/s" {
    k = $3; val[k, $1, $2] = $4
    if (!(k in seen)) { seen[k] = 1; if ($5 == "ns") order[++n] = k; else rate[++m] = k }
  }
  END {
    split("shim empty kernel", others, " ")
    if (n > 0) {
      printf "%-20s %9s %9s %9s %9s %9s %9s %9s\n", "call", "plain ns", "shim ns", "empty ns", "kernel ns",
             "shim +", "empty +", "kernel +"
      for (i = 1; i <= n; i++) { k = order[i]
        line = sprintf("%-20s %9s", k, fmt(stat(k, "plain", "", 0.5), "%.1f"))
        for (j = 1; j <= 3; j++) line = line sprintf(" %9s", has(others[j]) ? fmt(stat(k, others[j], "", 0.5), "%.1f") : "-")
        for (j = 1; j <= 3; j++) line = line sprintf(" %9s", has(others[j]) ? fmt(stat(k, others[j], "diff", 0.5), "%.1f") : "-")
        print line }
    }
    if (m > 0) {
      printf "%-20s %9s %9s %9s %9s %11s %11s %11s\n", "throughput", "plain /s", "shim /s", "empty /s", "kernel /s",
             "shim", "empty", "kernel"
      for (i = 1; i <= m; i++) { k = rate[i]
        line = sprintf("%-20s %9s", k, fmt(stat(k, "plain", "", 0.5), "%.0f"))
        for (j = 1; j <= 3; j++) line = line sprintf(" %9s", has(others[j]) ? fmt(stat(k, others[j], "", 0.5), "%.0f") : "-")
        quart = sprintf("%-20s %39s", "  quartiles", ""); notch = sprintf("%-20s %39s", "  median +-", "")
        for (j = 1; j <= 3; j++) {
          s = others[j]; med = has(s) ? stat(k, s, "ratio", 0.5) : ""
          line = line sprintf(" %11s", fmt(med, "%.3f"))
          if (med == "") { quart = quart sprintf(" %11s", "-"); notch = notch sprintf(" %11s", "-"); continue }
          q1 = stat(k, s, "ratio", 0.25); q3 = stat(k, s, "ratio", 0.75)
          quart = quart sprintf(" %11s", sprintf("%.3f-%.3f", q1, q3))
          notch = notch sprintf(" %11s", sprintf("%.3f", 1.58 * (q3 - q1) / sqrt(cnt[k, s])))
        }
        print line; print quart; print notch }
      print "(ratios: median over the rounds of side / plain in the same round; quartiles of those ratios;"
      print " median +-: 1.58 IQR / sqrt(rounds), ~95 % interval of the median. Targets: loop and udp, shim"
      print " and kernel >= 0.98 of plain; empty = the floor: the kernel cost of any program on these hooks)"
    }
  }' "$RUN/results"
