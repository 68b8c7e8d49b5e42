#!/usr/bin/env bash
# The kernel path's own cost per hooked call, free of scheduling noise: runs bench/bench.c in a
# session cgroup with the BPF hooks attached and reads each program's run count and run time from the
# kernel's BPF statistics (sysctl kernel.bpf_stats_enabled, switched on for the run and restored at
# exit; it adds two clock reads per program run).
#
#   host-agent/native/bench/kernel-cost.sh [ITERATIONS [LOOP_SECONDS [ROUNDS]]]     (defaults 100000 2 1)
#   ONLY=udp|loop|calls|... kernel-cost.sh ...   only those parts of vf-bench (comma-separated)
#   BASE=DIR kernel-cost.sh ...   also the programs of another build (DIR/vipfarm-bpf, e.g. the
#                                 previous commit's `make BUILD=DIR`) on a second session cgroup with
#                                 the same rules, alternating with this build round by round;
#                                 BASE="DIR1 DIR2 ..." several builds (sides base1, base2, ...)
#   TOGETHER=1 kernel-cost.sh ... every round runs its sides at the same time, all pinned to one CPU
#                                 (CPU, default the last), as run.sh does: they share the machine's
#                                 drifts, which resolves differences of a few ns between builds
#
# With several rounds (or BASE) each program's figure is the median over the rounds of its ns per
# run in that round; the machine's speed drifts by tens of percent between seconds here, so compare
# programs of the same round (e.g. vf_sendmsg4 against vf_recvmsg4, which does nothing on this
# benchmark's datagrams: the floor) rather than figures of different runs. With BASE it also prints,
# per program, the median over the rounds of this build's ns per run minus each other build's in the
# same round, with the quartiles of those differences and `+-` (1.58 IQR / sqrt(rounds), the ~95 %
# interval of the median, as in run.sh), and the same for what vf-bench printed (this build's loop,
# loop-cpu, udp, udp-cpu and ns per call over the other's in the same round). Sides run one after
# the other resolve ~+-15 ns on vf_connect4 in 30-40 rounds here; TOGETHER=1 ~+-5 ns
# (docs/benchmarks.md, 2026-12-03).
#
# Root only. Same rules and build dir as run.sh; everything it creates is removed at exit.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
N=${1:-100000}
SECONDS_LOOP=${2:-2}
ROUNDS=${3:-1}
ONLY=${ONLY:-all}
BUILD=${BUILD:-/tmp/vipfarm-bench}
[[ $(id -u) == 0 ]] || { echo "kernel-cost.sh: needs root"; exit 1; }
make -s -C "$HERE/.." BUILD="$BUILD" "$BUILD/vipfarm-bpf" > /dev/null
gcc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/vf-bench" "$HERE/bench.c" -pthread
SIDES=(this)
BPF_this=$BUILD/vipfarm-bpf
read -r -a BASES <<< "${BASE:-}"
for ((k = 1; k <= ${#BASES[@]}; k++)); do
  b=${BASES[k - 1]}
  [[ -x $b/vipfarm-bpf ]] || { echo "kernel-cost.sh: no $b/vipfarm-bpf"; exit 1; }
  side=base
  ((${#BASES[@]} > 1)) && side=base$k && echo "$side: $b"
  SIDES+=("$side")
  declare "BPF_$side=$b/vipfarm-bpf"
done
TOGETHER=${TOGETHER:-}
CPU=${CPU:-$(($(nproc) - 1))}
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
ID=vfcost-$$-$RANDOM
RUN=$(mktemp -d "${TMPDIR:-/tmp}/vipfarm-cost.XXXXXX")
stats_before=$(cat /proc/sys/kernel/bpf_stats_enabled)
cleanup() {
  echo "$stats_before" > /proc/sys/kernel/bpf_stats_enabled
  local side bpf try
  for side in "${SIDES[@]}"; do
    bpf=BPF_$side
    "${!bpf}" detach --pin "/sys/fs/bpf/$ID-$side" > /dev/null 2>&1 || true
    for ((try = 0; try < 50; try++)); do # EBUSY while the last task is still exiting
      rmdir "$CG2/$ID-$side/s77" 2> /dev/null
      rmdir "$CG2/$ID-$side" 2> /dev/null && break
      [[ -d $CG2/$ID-$side ]] || break
      sleep 0.1
    done
  done
  rm -rf "$RUN"
}
trap cleanup EXIT
printf '%s\n' "vipfarm-rules 1" "session 77" "loopback4 127.0.0.78" "loopback-programs *" \
  "vip4 127.100.77.1" "vip-programs *" > "$RUN/77.rules"
for side in "${SIDES[@]}"; do
  bpf=BPF_$side
  mkdir -p "$CG2/$ID-$side/s77"
  "${!bpf}" attach --pin "/sys/fs/bpf/$ID-$side" --cgroup "$CG2/$ID-$side"
  "${!bpf}" set --pin "/sys/fs/bpf/$ID-$side" --cgroup "$CG2/$ID-$side/s77" --rules "$RUN/77.rules"
done
# "SIDE NAME RUN_CNT RUN_TIME_NS" for every program of a side
counters() {
  local link prog
  for link in "/sys/fs/bpf/$ID-$1"/link-*; do
    prog=$(bpftool link show pinned "$link" | awk '{ for (i = 1; i < NF; i++) if ($i == "prog") print $(i + 1) }')
    bpftool prog show id "$prog" | awk -v side="$1" 'NR == 1 { c = 0; t = 0; for (i = 1; i < NF; i++) {
        if ($i == "name") name = $(i + 1); if ($i == "run_time_ns") t = $(i + 1); if ($i == "run_cnt") c = $(i + 1) }
      print side, name, c, t }'
  done
}
echo 1 > /proc/sys/kernel/bpf_stats_enabled
run_side() { # one run of vf-bench in the side's session cgroup
  local pin=()
  [[ -n $TOGETHER ]] && pin=(taskset -c "$CPU")
  sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CG2/$ID-$1/s77" \
    "${pin[@]}" "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" "$ONLY" > "$RUN/out-$1"
}
collect() { # SIDE ROUND: the side's counters since before-SIDE, appended to costs
  counters "$1" | awk -v r="$2" 'NR == FNR { c[$2] = $3; t[$2] = $4; next }
    $3 > c[$2] { printf "%s %s %s %d %.1f\n", r, $1, $2, $3 - c[$2], ($4 - t[$2]) / ($3 - c[$2]) }' \
    "$RUN/before-$1" - >> "$RUN/costs"
  # "ROUND SIDE MEASURE VALUE": the side's throughputs (loop, loop-cpu, udp, udp-cpu, per second) and
  # calls (ns per call)
  awk -v r="$2" -v side="$1" '$3 ~ /\/s$/ || $3 == "ns" { print r, side, $1, $2 }' "$RUN/out-$1" >> "$RUN/tput"
}
for ((r = 1; r <= ROUNDS; r++)); do
  if [[ -n $TOGETHER ]]; then
    for side in "${SIDES[@]}"; do counters "$side" > "$RUN/before-$side"; done
    for side in "${SIDES[@]}"; do run_side "$side" & done
    wait
    for side in "${SIDES[@]}"; do collect "$side" "$r"; done
  else
    for ((i = 0; i < ${#SIDES[@]}; i++)); do
      side=${SIDES[(i + r) % ${#SIDES[@]}]}
      counters "$side" > "$RUN/before-$side"
      run_side "$side"
      [[ $ROUNDS == 1 && ${#SIDES[@]} == 1 ]] && cat "$RUN/out-$side"
      collect "$side" "$r"
    done
  fi
done
echo "per program, ns per run (load $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS round(s)" \
  "${BASE:+of this build and of BASE=$BASE, $([[ -n $TOGETHER ]] && echo "at the same time on cpu $CPU" || echo alternating); }median of the rounds):"
# lines: ROUND SIDE PROGRAM RUNS NS_PER_RUN
awk -v sides="${SIDES[*]}" '
  function median(v, n,   i, j, t) {
    for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function q(v, n, p,   x, i) { x = 1 + (n - 1) * p; i = int(x); return i >= n ? v[n] : v[i] + (x - i) * (v[i + 1] - v[i]) }
  { if (!($3 in seen)) { seen[$3] = 1; order[++np] = $3 }
    k = $3 SUBSEP $2; n[k]++; ns[k, n[k]] = $5; runs[k] += $4; byround[k, $1] = $5; if ($1 > rounds) rounds = $1 }
  END {
    ns_sides = split(sides, side, " ")
    for (p = 1; p <= np; p++) {
      line = sprintf("  %-16s", order[p])
      for (s = 1; s <= ns_sides; s++) {
        k = order[p] SUBSEP side[s]
        if (!(k in n)) { line = line sprintf(" %26s", "-"); continue }
        for (i = 1; i <= n[k]; i++) v[i] = ns[k, i]
        line = line sprintf(" %9d runs %8.1f ns/run", runs[k] / n[k], median(v, n[k])) (ns_sides > 1 ? " (" side[s] ")" : "")
      }
      print line
    }
    # vf_recvmsg4 runs as often as vf_sendmsg4 and, on these datagrams (source 127.0.0.1), only
    # returns: per round, the difference is sendmsg4'"'"'s own work above a program that does nothing
    line = ""
    for (s = 1; s <= ns_sides; s++) {
      m = 0
      for (i = 1; i <= n["vf_sendmsg4" SUBSEP side[s]]; i++) {
        if ((("vf_recvmsg4" SUBSEP side[s]), i) in ns) v[++m] = ns["vf_sendmsg4", side[s], i] - ns["vf_recvmsg4", side[s], i]
      }
      if (m > 0) line = line sprintf(" %9s %8.1f ns/run", "", median(v, m)) (ns_sides > 1 ? " (" side[s] ")" : "")
    }
    if (line != "") print "  sendmsg4-recvmsg4" substr(line, 2) "   (the same round'"'"'s difference)"
    # this build against each other one, round by round (programs that ran >= 100 times a round)
    for (p = 1; p <= np; p++) {
      if (!((order[p] SUBSEP "this") in n) || runs[order[p], "this"] / n[order[p], "this"] < 100) continue
      for (s = 2; s <= ns_sides; s++) {
        m = 0
        for (r = 1; r <= rounds; r++) {
          if (((order[p], "this", r) in byround) && ((order[p], side[s], r) in byround)) {
            v[++m] = byround[order[p], "this", r] - byround[order[p], side[s], r]
          }
        }
        if (m == 0) continue
        median(v, m) # sorts v
        printf "  %-16s this - %s, same round: median %+.1f ns, quartiles %+.1f .. %+.1f, +- %.1f (%d rounds)\n",
          order[p], side[s], q(v, m, 0.5), q(v, m, 0.25), q(v, m, 0.75), 1.58 * (q(v, m, 0.75) - q(v, m, 0.25)) / sqrt(m), m
      }
    }
  }' "$RUN/costs"
# this build's throughputs (and ns per call: above 1 is slower) over each other build's in the same
# round (with TOGETHER=1 the sides share the CPU and its drifts, so the ratio resolves a few tenths
# of a percent)
((${#SIDES[@]} > 1)) && awk -v sides="${SIDES[*]}" '
  function q(v, n, p,   x, i) { x = 1 + (n - 1) * p; i = int(x); return i >= n ? v[n] : v[i] + (x - i) * (v[i + 1] - v[i]) }
  function sort(v, n,   i, j, t) { for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t } }
  { if (!($3 in seen)) { seen[$3] = 1; order[++nm] = $3 }; x[$1, $2, $3] = $4; if ($1 > rounds) rounds = $1 }
  END {
    ns = split(sides, side, " ")
    for (k = 1; k <= nm; k++) for (s = 2; s <= ns; s++) {
      m = 0
      for (r = 1; r <= rounds; r++) if (((r, "this", order[k]) in x) && x[r, side[s], order[k]] > 0) v[++m] = x[r, "this", order[k]] / x[r, side[s], order[k]]
      if (m == 0) continue
      sort(v, m)
      printf "  %-16s this / %s, same round: median %.4f, quartiles %.4f .. %.4f, +- %.4f (%d rounds)\n",
        order[k], side[s], q(v, m, 0.5), q(v, m, 0.25), q(v, m, 0.75), 1.58 * (q(v, m, 0.75) - q(v, m, 0.25)) / sqrt(m), m
    }
  }' "$RUN/tput"
