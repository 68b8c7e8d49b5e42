#!/usr/bin/env bash
# The cost of the preload shim: runs bench/bench.c without and with libvipfarm.so (in a session whose
# rules rewrite 127.0.0.1 and 0.0.0.0), alternating, ROUNDS times each, and prints the best figure of
# each side, the difference per call and the ratios.
#
#   host-agent/native/bench/run.sh [ITERATIONS [LOOP_SECONDS [ROUNDS]]]     (defaults 200000 2 3)
#
# Builds the shim into $BUILD (default /tmp/vipfarm-bench). Only 127.0.0.0/8 is used.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
N=${1:-200000}
SECONDS_LOOP=${2:-2}
ROUNDS=${3:-3}
BUILD=${BUILD:-/tmp/vipfarm-bench}
make -s -C "$HERE/.." BUILD="$BUILD" "$BUILD/libvipfarm.so" > /dev/null
gcc -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -o "$BUILD/vf-bench" "$HERE/bench.c" -pthread
RUN=$(mktemp -d "${TMPDIR:-/tmp}/vipfarm-bench.XXXXXX")
trap 'rm -rf "$RUN"' EXIT
mkdir -p "$RUN/sessions"
printf '%s\n' "vipfarm-rules 1" "session 77" "loopback4 127.0.0.78" "loopback-programs *" \
  "vip4 127.100.77.1" "vip-programs *" > "$RUN/sessions/77.rules"

for ((r = 1; r <= ROUNDS; r++)); do
  "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" | sed 's/^/plain /'
  LD_PRELOAD=$BUILD/libvipfarm.so VIPFARM_SESSION=77 VIPFARM_RUN_DIR=$RUN \
    "$BUILD/vf-bench" "$N" "$SECONDS_LOOP" | sed 's/^/shim /'
done > "$RUN/results"

echo "vipfarm shim cost: $N iterations, ${SECONDS_LOOP}s loop, best of $ROUNDS rounds each ($(nproc) cpus)"
awk '
  $4 == "ns" { k = $2; v = $3; side = $1
               if (!(k in best_ns_plain)) order[++n] = k
               if (side == "plain" && (!(k in best_ns_plain) || v < best_ns_plain[k])) best_ns_plain[k] = v
               if (side == "shim" && (!(k in best_ns_shim) || v < best_ns_shim[k])) best_ns_shim[k] = v }
  $4 == "conn/s" { if ($1 == "plain" && $3 > loop_plain) loop_plain = $3
                   if ($1 == "shim" && $3 > loop_shim) loop_shim = $3 }
  END {
    printf "%-20s %12s %12s %12s %8s\n", "call", "plain ns", "shim ns", "overhead ns", "ratio"
    for (i = 1; i <= n; i++) { k = order[i]
      printf "%-20s %12.1f %12.1f %12.1f %8.3f\n", k, best_ns_plain[k], best_ns_shim[k],
             best_ns_shim[k] - best_ns_plain[k], best_ns_shim[k] / best_ns_plain[k] }
    printf "%-20s %12.0f %12.0f %12s %8.3f   (connections/s; target >= 0.98)\n", "loop", loop_plain,
           loop_shim, "", loop_shim / loop_plain
  }' "$RUN/results"
