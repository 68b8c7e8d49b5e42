#!/usr/bin/env bash
# Compares two builds of vipfarm on `vipfarm bench gateway`, alternating them in one script, because on a
# shared machine only figures taken side by side compare.
#   deploy/bench/gateway-pair.sh BASE_TREE NEW_TREE [bench gateway options...]
# Each tree is a source tree built with `mvn -B package -DskipTests` (or an installed tree with bin/ and
# lib/). ROUNDS (default 2) pairs are run; each prints the by-host CPU per request, p50 and p99, and the
# ratio new/base of the CPU, the figure that moves least with other load.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,7p' "$0" >&2; exit 2; }
base=$1 new=$2
shift 2
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--leases 100000 --hosts 1000 --subscribers 1 --events 1 --page-requests 0 --requests 4000)
launcher() { if [ -x "$1/deploy/bin/vipfarm" ]; then echo "$1/deploy/bin/vipfarm"; else echo "$1/bin/vipfarm"; fi; }
figures() { # the bench's last line (JSON) -> "cpu p50 p99"
  python3 -c 'import json,sys; d=json.loads(sys.stdin.read().strip().splitlines()[-1]); print(d["allocationsByHostCpuMsPerRequest"], d["allocationsByHostP50Ms"], d["allocationsByHostP99Ms"])'
}
echo "bench gateway ${args[*]}"
for round in $(seq 1 "${ROUNDS:-2}"); do
  read -r bc b50 b99 < <("$(launcher "$base")" bench gateway "${args[@]}" 2>/dev/null | figures)
  read -r nc n50 n99 < <("$(launcher "$new")" bench gateway "${args[@]}" 2>/dev/null | figures)
  printf 'round %d: base cpu %s ms/req p50 %s p99 %s | new cpu %s ms/req p50 %s p99 %s | cpu new/base %s\n' \
    "$round" "$bc" "$b50" "$b99" "$nc" "$n50" "$n99" "$(python3 -c "print(round($nc/$bc, 3))")"
done
