#!/usr/bin/env bash
# Compares two builds of vipfarm on `vipfarm bench allocate`, alternating them in one script, because on a
# shared machine only figures taken side by side compare.
#   deploy/bench/allocation-pair.sh BASE_TREE NEW_TREE [bench allocate options...]
# Each tree is a source tree built with `mvn -B package -DskipTests` (or an installed tree with bin/ and
# lib/). ROUNDS (default 3) pairs are run; each prints leases/s, p99 and CPU µs per lease of both, the
# ratio new/base of the CPU (the figure that moves least with other load), and duplicates and anomalies.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
base=$1 new=$2
shift 2
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--members 1 --sessions 100000 --pool-prefix 12)
launcher() { if [ -x "$1/deploy/bin/vipfarm" ]; then echo "$1/deploy/bin/vipfarm"; else echo "$1/bin/vipfarm"; fi; }
figures() { # the bench's last line (JSON) -> "leases/s p99 cpu duplicates anomalies"
  python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d["leasesPerSecond"], d["p99Ms"], d["cpuUsPerLease"], d["duplicates"], d["anomalies"])'
}
echo "bench allocate ${args[*]}"
for round in $(seq 1 "${ROUNDS:-3}"); do
  read -r br b99 bc bd ba < <("$(launcher "$base")" bench allocate "${args[@]}" 2>/dev/null | figures)
  read -r nr n99 nc nd na < <("$(launcher "$new")" bench allocate "${args[@]}" 2>/dev/null | figures)
  printf 'round %d: base %s/s p99 %s ms cpu %s us | new %s/s p99 %s ms cpu %s us | cpu new/base %s | duplicates %s %s anomalies %s %s\n' \
    "$round" "$br" "$b99" "$bc" "$nr" "$n99" "$nc" "$(python3 -c "print(round($nc/$bc, 3))")" "$bd" "$nd" "$ba" "$na"
done
