#!/usr/bin/env bash
# A local vipfarm farm on 127.0.0.0/8: 3 control members and 2 agents, each its own process.
#   farm-local.sh up        create the CA and certificates, start everything, print each gateway URL
#   farm-local.sh down      stop what `up` started (by the PIDs in its pid files only)
#   farm-local.sh status    which members and agents run, and where
#   farm-local.sh start NAME    start one of control-1..3, agent-1..2 again (after a kill, for tests)
#
# Control member i listens on 127.77.0.i (cluster port, agent bridge, gateway: free ports picked at
# `up`); agents are clients of the bridges only and never join the cluster. State, logs and pid files live
# in $VIPFARM_FARM_DIR (default deploy/target/farm-local). Knobs: VIPFARM_ADMIN_TOKEN (default: generated
# into the farm dir), VIPFARM_FARM_AGENT_GRACE (seconds an agent may go unheard; default 10),
# VIPFARM_JAVA_OPTS (default: a small heap per process).
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
vipfarm="$here/bin/vipfarm"
farm=${VIPFARM_FARM_DIR:-$here/target/farm-local}
controls=(control-1 control-2 control-3)
agents=(agent-1 agent-2)
export VIPFARM_JAVA_OPTS=${VIPFARM_JAVA_OPTS:--Xmx384m -XX:+UseSerialGC -XX:TieredStopAtLevel=1}

die() { echo "farm-local: $*" >&2; exit 2; }

free_port() { # a free TCP port on address $1
  python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

address_of() { echo "127.77.0.${1#control-}"; }

# ports.env: one line per control member, written once at `up` and reused by `start`
port_of() { # name kind(cluster|bridge|http)
  awk -v n="$1" -v k="$2" '$1==n && $2==k {print $3}' "$farm/ports"
}

pid_alive() { [ -f "$farm/pids/$1.pid" ] && kill -0 "$(cat "$farm/pids/$1.pid")" 2>/dev/null; }

launch() { # name args...
  local name=$1; shift
  pid_alive "$name" && die "$name runs already (pid $(cat "$farm/pids/$name.pid"))"
  mkdir -p "$farm/logs" "$farm/pids"
  # setsid: the process outlives this script; its PID is what `down` stops
  setsid "$vipfarm" start "$@" >>"$farm/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$farm/pids/$name.pid"
}

start_control() {
  local name=$1 addr members="" other
  addr=$(address_of "$name")
  for other in "${controls[@]}"; do
    [ "$other" = "$name" ] || members="$members,$(address_of "$other"):$(port_of "$other" cluster)"
  done
  VIPFARM_ADMIN_TOKEN=$(cat "$farm/admin-token") launch "$name" --role control \
    --cluster-name "$(cat "$farm/cluster-name")" --bind-address "$addr" \
    --cluster-port "$(port_of "$name" cluster)" --cluster-members "${members#,}" --expected-members 3 \
    --http-host "$addr" --http-port "$(port_of "$name" http)" --data-dir "$farm/$name/data" \
    --bridge-port "$(port_of "$name" bridge)" --bridge-cert "$farm/ca/control/$name.pem" \
    --bridge-key "$farm/ca/control/$name.key" --bridge-ca "$farm/ca/ca.pem" \
    --agent-grace "${VIPFARM_FARM_AGENT_GRACE:-10}"
}

# The kernel path's host-wide state, one set per agent of this farm: the agents of a real farm each have
# a host of their own, here they share one. With the defaults (<cgroup2 mount>/vipfarm.slice, pins in
# /sys/fs/bpf/vipfarm-<host id>) an agent's start-up reconcile removed the other agent's session
# cgroups, and two farms on one machine (two test runs at once) broke each other's sessions
# ("/sys/fs/cgroup/.../vipfarm.slice/session-115 is not a cgroup v2 directory").
kernel_paths() { # agent name
  local id mount
  id="$(cat "$farm/cluster-name")-$1"
  mount=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/self/mounts 2>/dev/null || true)
  [ -z "$mount" ] || echo "--cgroup-parent $mount/vipfarm-$id.slice"
  echo "--bpf-pin-dir /sys/fs/bpf/vipfarm-$id"
}

start_agent() {
  local name=$1 bridges="" c kernel
  for c in "${controls[@]}"; do bridges="$bridges,$(address_of "$c"):$(port_of "$c" bridge)"; done
  kernel=$(kernel_paths "$name")
  # shellcheck disable=SC2086 # word-split on purpose: options and paths without spaces
  launch "$name" --role agent --host-id "$name" --run-dir "$farm/$name/run" --data-dir "$farm/$name/data" \
    --control-members "${bridges#,}" --bridge-cert "$farm/ca/agents/$name.pem" \
    --bridge-key "$farm/ca/agents/$name.key" --bridge-ca "$farm/ca/ca.pem" $kernel
}

start_one() {
  case "$1" in
    control-[123]) start_control "$1" ;;
    agent-[12]) start_agent "$1" ;;
    *) die "unknown member '$1' (control-1..3, agent-1..2)" ;;
  esac
}

wait_for() { # what seconds command...
  local what=$1 seconds=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what not up after ${seconds}s (see $farm/logs)"
    sleep 1
  done
}

gateway_url() { echo "http://$(address_of "$1"):$(port_of "$1" http)"; }

agent_listed() { # agent name: listed by the first gateway
  curl -sf -H "Authorization: Bearer $(cat "$farm/admin-token")" "$(gateway_url control-1)/api/v1/hosts" | grep -q "\"$1\""
}

cmd_up() {
  [ -x "$vipfarm" ] || die "no $vipfarm"
  local name
  for name in "${controls[@]}" "${agents[@]}"; do
    pid_alive "$name" && die "a farm runs already in $farm (farm-local.sh down first)"
  done
  mkdir -p "$farm"
  if [ ! -f "$farm/ca/ca.pem" ]; then
    "$vipfarm" ca init --dir "$farm/ca" >/dev/null
    for name in "${controls[@]}"; do
      "$vipfarm" ca issue --dir "$farm/ca" --control "$name" --address "$(address_of "$name")" >/dev/null
    done
    for name in "${agents[@]}"; do "$vipfarm" ca issue --dir "$farm/ca" --host-id "$name" >/dev/null; done
  fi
  [ -f "$farm/cluster-name" ] || echo "farm-local-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')" >"$farm/cluster-name"
  if [ -n "${VIPFARM_ADMIN_TOKEN:-}" ]; then
    (umask 077; printf '%s\n' "$VIPFARM_ADMIN_TOKEN" >"$farm/admin-token")
  elif [ ! -f "$farm/admin-token" ]; then
    (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' >"$farm/admin-token")
  fi
  : >"$farm/ports"
  for name in "${controls[@]}"; do
    local addr; addr=$(address_of "$name")
    printf '%s cluster %s\n%s bridge %s\n%s http %s\n' "$name" "$(free_port "$addr")" "$name" "$(free_port "$addr")" \
      "$name" "$(free_port "$addr")" >>"$farm/ports"
  done
  for name in "${controls[@]}"; do start_control "$name"; done
  for name in "${controls[@]}"; do
    wait_for "$name" 180 curl -sf "$(gateway_url "$name")/ready"
  done
  for name in "${agents[@]}"; do start_agent "$name"; done
  for name in "${agents[@]}"; do wait_for "$name" 120 agent_listed "$name"; done
  echo "farm up in $farm (admin token in $farm/admin-token)"
  for name in "${controls[@]}"; do echo "$name gateway $(gateway_url "$name")"; done
}

cmd_down() {
  local name pid
  [ -d "$farm/pids" ] || { echo "no farm in $farm"; return 0; }
  # agents first: they end their sessions and release their leases while the control plane is up
  for name in "${agents[@]}" "${controls[@]}"; do
    pid_alive "$name" && kill -TERM "$(cat "$farm/pids/$name.pid")" 2>/dev/null || true
  done
  for name in "${agents[@]}" "${controls[@]}"; do
    [ -f "$farm/pids/$name.pid" ] || continue
    pid=$(cat "$farm/pids/$name.pid")
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    rm -f "$farm/pids/$name.pid"
  done
  echo "farm down"
}

cmd_status() {
  local name state
  for name in "${controls[@]}" "${agents[@]}"; do
    if pid_alive "$name"; then state="running (pid $(cat "$farm/pids/$name.pid"))"; else state="stopped"; fi
    case "$name" in
      control-*) [ -f "$farm/ports" ] && state="$state gateway $(gateway_url "$name") bridge $(address_of "$name"):$(port_of "$name" bridge)" ;;
    esac
    echo "$name $state"
  done
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  start) [ $# -eq 2 ] || die "usage: farm-local.sh start NAME"; [ -f "$farm/ports" ] || die "no farm in $farm (up first)"; start_one "$2" ;;
  *) die "usage: farm-local.sh up|down|status|start NAME" ;;
esac
