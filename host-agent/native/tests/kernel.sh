#!/usr/bin/env bash
# Kernel path tests: vipfarm-bpf and the cgroup socket hooks, with real processes in real cgroups.
#
#   tests/kernel.sh BUILD_DIR
#
# Root only, and only where `vipfarm-bpf probe` says the kernel path works: otherwise it says why
# and exits 0 (skipped). Everything it makes has a unique name and is removed at exit, also on
# failure: a cgroup parent vfk-<pid>-<rand> under the cgroup2 mount with session cgroups s31, s32
# and a non-session cgroup `other`, a sibling cgroup for the preload-only runs, a bpffs pin dir
# /sys/fs/bpf/vfk-..., and a network namespace (the programs run in it, so ports cannot collide
# with anything else on the host and the IPv6 session loopbacks exist only there).
#
# What the program really bound is read from outside with `ss` (no hook rewrites that); what it
# sees comes from its own output. Prints "N passed, N failed" last; exit 1 on failure.
set -u

BUILD=$(cd "${1:?usage: kernel.sh BUILD_DIR}" && pwd)
BPF=$BUILD/vipfarm-bpf
STATIC=$BUILD/vf-kprobe-static
DYN=$BUILD/vf-kprobe-dyn
GOPROG=$BUILD/vf-kgo
LIB=$BUILD/libvipfarm.so

skip() {
  echo "kernel path tests skipped: $*"
  exit 0
}
[[ $(id -u) == 0 ]] || skip "not root"
why=$("$BPF" probe 2>&1) || skip "${why#vipfarm-bpf: }"
CG2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
[[ -n $CG2 ]] || skip "no cgroup2 mount"
command -v ss > /dev/null && command -v nsenter > /dev/null && command -v setpriv > /dev/null ||
  skip "needs ss (iproute2), nsenter and setpriv (util-linux)"

ID=vfk-$$-$RANDOM
PARENT=$CG2/$ID
PLAIN=$CG2/$ID-plain
PIN=/sys/fs/bpf/$ID
NS=$ID
TMP=$(mktemp -d "/tmp/$ID.XXXXXX")
chmod 755 "$TMP"
mkdir -p "$TMP/run/sessions"
PIDS=$TMP/pids # one PID a line: `start` often runs in a $(...) subshell, so not a shell array
passed=0
failed=0

cleanup() {
  local pid cg try
  while read -r pid; do kill "$pid" 2> /dev/null; done < "$PIDS" 2> /dev/null
  for ((try = 0; try < 50; try++)); do # until every started process is gone
    pid=""
    while read -r pid; do kill -0 "$pid" 2> /dev/null && break; pid=""; done < "$PIDS" 2> /dev/null
    [[ -z $pid ]] && break
    sleep 0.1
  done
  "$BPF" detach --pin "$PIN" > /dev/null 2>&1
  for cg in $(find "$PARENT" "$PLAIN" -depth -type d 2> /dev/null); do
    # anything still in the test's own cgroups was started by this test: stop it by PID
    while read -r pid; do kill -9 "$pid"; done < "$cg/cgroup.procs" 2> /dev/null
    # a cgroup whose last task is still exiting refuses rmdir (EBUSY) for a moment
    for ((try = 0; try < 50; try++)); do rmdir "$cg" 2> /dev/null && break; sleep 0.1; done
  done
  [[ -d $PARENT || -d $PLAIN ]] && echo "kernel.sh: could not remove $PARENT or $PLAIN" >&2
  ip netns del "$NS" 2> /dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok   $1"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $1"; shift; printf '     %s\n' "$@"; }
# expect NAME ACTUAL PATTERN (a shell pattern)
expect() {
  # shellcheck disable=SC2053
  if [[ $2 == $3 ]]; then ok "$1"; else not_ok "$1" "got:      '$2'" "expected: '$3'"; fi
}

mkdir "$PARENT" "$PARENT/s31" "$PARENT/s32" "$PARENT/other" "$PLAIN" || skip "cannot create cgroups under $CG2"
ip netns add "$NS" || skip "cannot create a network namespace"
ip -n "$NS" link set lo up
ip -n "$NS" addr add fd00:5f::20/128 dev lo nodad
ip -n "$NS" addr add fd00:5f::21/128 dev lo nodad

# run_in CGROUP CMD...: runs CMD in CGROUP (a directory) and in the test's network namespace
# (sh and nsenter exec into CMD: one process, one PID).
ENTER='echo $$ > "$1/cgroup.procs" && shift && exec nsenter --net="/run/netns/$0" "$@"'
run_in() {
  local cg=$1
  shift
  sh -c "$ENTER" "$NS" "$cg" "$@"
}
# start NAME CGROUP CMD...: in the background, output in $TMP/NAME.out; waits for its first line.
start() {
  local name=$1 cg=$2
  shift 2
  sh -c "$ENTER" "$NS" "$cg" "$@" > "$TMP/$name.out" 2>&1 &
  echo $! >> "$PIDS"
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $TMP/$name.out ]] && break
    sleep 0.05
  done
  head -1 "$TMP/$name.out"
}
# preload SESSION CMD...: the preload path alone: no BPF (a cgroup outside the attached parent).
preload() {
  local session=$1
  shift
  run_in "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION="$session" VIPFARM_RUN_DIR="$TMP/run" "$@"
}
listeners() { nsenter --net="/run/netns/$NS" ss -Htln | awk '{ print $4 }' | tr '\n' ' '; }
port() { echo $((20000 + RANDOM % 20000)); }

rules31=(
  "vipfarm-rules 1" "session 31" "loopback4 127.0.0.32" "loopback6 fd00:5f::20"
  "vip4 127.100.31.1" "prefer-loopback *" "isolation on")
rules32=(
  "vipfarm-rules 1" "session 32" "loopback4 127.0.0.33" "loopback6 fd00:5f::21"
  "vip4 127.100.32.1" "prefer-loopback *" "isolation on")
write_rules() { # FILE LINES...
  local f=$1
  shift
  printf '%s\n' "$@" > "$f"
}
write_rules "$TMP/run/sessions/31.rules" "${rules31[@]}"
write_rules "$TMP/run/sessions/32.rules" "${rules32[@]}"

# ---- the command line ----------------------------------------------------------------------
# sendmsg4 has two programs (bpf/README.md, "The in-place datagram path"): which one is attached
sendmsg4_prog() { bpftool cgroup show "$PARENT" 2> /dev/null | awk '$2 ~ /udp4_sendmsg$/ || $2 == "sendmsg4" { print $NF }'; }
# A kernel that refuses vf_sendmsg4 (older than 6.17): attach and probe load the compat program
# instead. This kernel takes both; VIPFARM_BPF_TEST_REFUSE makes it refuse vf_sendmsg4 for real.
VIPFARM_BPF_TEST_REFUSE=vf_sendmsg4 "$BPF" probe
expect "probe on a kernel that refuses vf_sendmsg4: the compat program loads (exit 0)" "$?" 0
VIPFARM_BPF_TEST_REFUSE=vf_sendmsg4 "$BPF" attach --pin "$PIN" --cgroup "$PARENT"
expect "attach on a kernel that refuses vf_sendmsg4 (exit 0)" "$?" 0
expect "... attaches the compat sendmsg4 program" "$(sendmsg4_prog)" "vf_sendmsg4_com*"
"$BPF" detach --pin "$PIN"
expect "... and detaches" "$?:$(bpftool cgroup show "$PARENT" 2> /dev/null | wc -l)" "0:0"
"$BPF" attach --pin "$PIN" --cgroup "$PARENT"
expect "attach" "$?" 0
first=$(bpftool cgroup show "$PARENT" | sort)
"$BPF" attach --pin "$PIN" --cgroup "$PARENT"
expect "attach again: nothing changes, exit 0" "$?:$(bpftool cgroup show "$PARENT" | sort)" "0:$first"
err=$("$BPF" attach --pin "$PIN" --cgroup "$PLAIN" 2>&1)
expect "attach to another cgroup with the same pin dir is refused" "$?:$err" "1:vipfarm-bpf: *attached to*"
expect "status after attach" "$("$BPF" status --pin "$PIN")" \
  "{\"attached\":true,\"cgroup\":\"$PARENT\",\"cgroupId\":*,\"programs\":14,\"sessions\":0}"
sendmsg4=$(sendmsg4_prog)
if [[ ${VIPFARM_BPF_COMPAT:-} == 1 ]]; then
  expect "VIPFARM_BPF_COMPAT=1 attaches the compat sendmsg4 program" "$sendmsg4" "vf_sendmsg4_com*"
else
  echo "note sendmsg4 program on this kernel: ${sendmsg4:-unknown}"
fi
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s31" --rules "$TMP/run/sessions/31.rules" &&
  "$BPF" set --pin "$PIN" --cgroup "$PARENT/s32" --rules "$TMP/run/sessions/32.rules"
expect "set two sessions" "$?" 0
id31=$(stat -c %i "$PARENT/s31")
expect "list" "$("$BPF" list --pin "$PIN")" \
  "{\"sessions\":[[]*{\"cgroupId\":$id31,\"session\":\"31\",\"loopback4\":\"127.0.0.32\",\"loopback6\":\"fd00:5f::20\",\"vip4\":\"127.100.31.1\",\"isolation\":true,\"generation\":*}*]}"
write_rules "$TMP/bad.rules" "vipfarm-rules 1" "loopback4 not-an-address"
err=$("$BPF" set --pin "$PIN" --cgroup "$PARENT/s31" --rules "$TMP/bad.rules" 2>&1)
expect "a bad rules file is refused in one line, the session keeps its rules" \
  "$?:$(echo "$err" | wc -l):$("$BPF" list --pin "$PIN")" "1:1:*\"loopback4\":\"127.0.0.32\"*"

# ---- two sessions at once on the same ports -------------------------------------------------
P=$(port)
expect "static C in 31: 127.0.0.1:P" "$(start c31 "$PARENT/s31" "$STATIC" serve tcp 4 127.0.0.1 "$P" c31)" \
  "ready 127.0.0.1:$P shown 127.0.0.1:$P"
expect "static C in 32: 127.0.0.1:P" "$(start c32 "$PARENT/s32" "$STATIC" serve tcp 4 127.0.0.1 "$P" c32)" \
  "ready 127.0.0.1:$P shown 127.0.0.1:$P"
expect "static C in 31: [::]:P" "$(start c31any "$PARENT/s31" "$STATIC" serve tcp 6 :: "$P" c31any)" \
  "ready [[]::]:$P shown [[]::]:$P"
expect "static C in 32: [::]:P" "$(start c32any "$PARENT/s32" "$STATIC" serve tcp 6 :: "$P" c32any)" \
  "ready [[]::]:$P shown [[]::]:$P"
l=$(listeners)
expect "static C: 31's 127.0.0.1 is really L31" "$l" "*127.0.0.32:$P *"
expect "static C: 32's 127.0.0.1 is really L32" "$l" "*127.0.0.33:$P *"
expect "static C: 31's [::] is really ::ffff:V31" "$l" "*ffff:127.100.31.1]:$P *"
expect "static C: 32's [::] is really ::ffff:V32" "$l" "*ffff:127.100.32.1]:$P *"
expect "static C in 31 reaches 31's 127.0.0.1 server" \
  "$(run_in "$PARENT/s31" "$STATIC" connect tcp 4 127.0.0.1 "$P" | tr '\n' ' ')" \
  "local 127.0.0.1:* shown 127.0.0.1:* remote 127.0.0.1:$P shown 127.0.0.1:$P reply c31 "
expect "static C in 32 reaches 32's 127.0.0.1 server" \
  "$(run_in "$PARENT/s32" "$STATIC" connect tcp 4 127.0.0.1 "$P" | tail -1)" "reply c32"
expect "static C in 32 reaches 32's dual-stack server on its VIP" \
  "$(run_in "$PARENT/s32" "$STATIC" connect tcp 4 127.100.32.1 "$P" | tail -1)" "reply c32any"

# An upgraded agent's `attach` swaps its programs into the pinned links in place: no moment without
# them, the maps and the sessions' entries kept, running servers untouched. The other sendmsg4
# program of this build stands in for a new build's (different code); the other 13 are the same
# code and must stay as they are.
links() { # "LINK_ID PROG_ID" per pinned link, in link name order
  local l
  for l in "$PIN"/link-*; do bpftool link show pinned "$l" | awk 'NR == 1 { sub(":", "", $1); print $1, $4 }'; done
}
other=1
[[ ${VIPFARM_BPF_COMPAT:-} == 1 ]] && other=0
before=$(links)
VIPFARM_BPF_COMPAT=$other "$BPF" attach --pin "$PIN" --cgroup "$PARENT"
expect "an attach with other programs takes over the pinned links (exit 0)" "$?" 0
after=$(links)
expect "... the sendmsg4 link runs the other program now" "$(sendmsg4_prog)" \
  "$([[ $other == 1 ]] && echo "vf_sendmsg4_com*" || echo vf_sendmsg4)"
expect "... the same 14 links, 13 of them with the same program" \
  "$(join <(echo "$before") <(echo "$after") | awk '{ n++; same += $2 == $3 } END { print n, same }')" "14 13"
expect "... the sessions' entries kept" "$("$BPF" list --pin "$PIN")" "*\"cgroupId\":$id31,*"
expect "... and 31's client still reaches 31's 127.0.0.1 server" \
  "$(run_in "$PARENT/s31" "$STATIC" connect tcp 4 127.0.0.1 "$P" | tail -1)" "reply c31"
VIPFARM_BPF_COMPAT=${VIPFARM_BPF_COMPAT:-0} "$BPF" attach --pin "$PIN" --cgroup "$PARENT"
expect "attach of the first programs takes the links back" "$?:$(sendmsg4_prog):$(links | wc -l)" "0:$sendmsg4:14"

if [[ -x $GOPROG ]]; then
  G=$(port)
  expect "Go (CGO_ENABLED=0) in 31: 127.0.0.1:G and :G" "$(start g31 "$PARENT/s31" "$GOPROG" serve "$G" g31)" \
    "ready 127.0.0.1:$G [[]::]:$G"
  expect "Go in 32: 127.0.0.1:G and :G" "$(start g32 "$PARENT/s32" "$GOPROG" serve "$G" g32)" \
    "ready 127.0.0.1:$G [[]::]:$G"
  l=$(listeners)
  expect "Go: 31's 127.0.0.1 is really L31" "$l" "*127.0.0.32:$G *"
  expect "Go: 32's 127.0.0.1 is really L32" "$l" "*127.0.0.33:$G *"
  expect "Go: 31's :G is really ::ffff:V31" "$l" "*ffff:127.100.31.1]:$G *"
  expect "Go in 31 reaches 31's server" "$(run_in "$PARENT/s31" "$GOPROG" connect "127.0.0.1:$G")" \
    "reply g31-lo local 127.0.0.1:* remote 127.0.0.1:$G"
  expect "Go in 32 reaches 32's server" "$(run_in "$PARENT/s32" "$GOPROG" connect "127.0.0.1:$G")" \
    "reply g32-lo local 127.0.0.1:* remote 127.0.0.1:$G"
  expect "Go in 31 reaches its dual-stack server on its VIP" \
    "$(run_in "$PARENT/s31" "$GOPROG" connect "127.100.31.1:$G")" "reply g31-any *"
else
  echo "skip Go checks: no go compiler (golang-go), vf-kgo was not built"
fi

R=$(port)
start raw31 "$PARENT/s31" "$STATIC" rawserve 127.0.0.1 "$R" > /dev/null
expect "raw syscall(SYS_bind) 127.0.0.1 in 31 lands on L31" "$(listeners)" "*127.0.0.32:$R*"
E=$(port)
start env31 "$PARENT/s31" env -i "$DYN" serve tcp 4 127.0.0.1 "$E" e31 > /dev/null
expect "a child started with env -i in 31 lands on L31" "$(listeners)" "*127.0.0.32:$E*"
cp "$DYN" "$TMP/vf-suid" && chown root:root "$TMP/vf-suid" && chmod 4755 "$TMP/vf-suid"
expect "a setuid-root client run by nobody in 31 reaches 31's server" \
  "$(run_in "$PARENT/s31" setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/vf-suid" connect tcp 4 127.0.0.1 "$E" | tail -1)" \
  "reply e31"

# ---- the same programs with the preload path alone: not isolated ------------------------------
Q=$(port)
start pc31 "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION=31 VIPFARM_RUN_DIR="$TMP/run" \
  "$STATIC" serve tcp 4 127.0.0.1 "$Q" pc31 > /dev/null
expect "preload only: static C binds the real 127.0.0.1" "$(listeners)" "*127.0.0.1:$Q*"
expect "preload only: static C of session 32 cannot bind the same port" \
  "$(preload 32 "$STATIC" bind tcp 4 127.0.0.1 "$Q")" "error bind: Address already in use"
if [[ -x $GOPROG ]]; then
  QG=$(port)
  # Unrewritten, 127.0.0.1:QG and [::]:QG collide in one process: Go cannot even start.
  expect "preload only: Go binds the real 127.0.0.1, so its :G listener collides with it" \
    "$(start pg31 "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION=31 VIPFARM_RUN_DIR="$TMP/run" \
      "$GOPROG" serve "$QG" pg31)" "error listen tcp :$QG: bind: address already in use"
fi
QR=$(port)
start praw "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION=31 VIPFARM_RUN_DIR="$TMP/run" \
  "$DYN" rawserve 127.0.0.1 "$QR" > /dev/null
expect "preload only: raw syscall(SYS_bind) binds the real 127.0.0.1" "$(listeners)" "*127.0.0.1:$QR*"
QE=$(port)
start penv "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION=31 VIPFARM_RUN_DIR="$TMP/run" \
  env -i "$DYN" serve tcp 4 127.0.0.1 "$QE" penv > /dev/null
expect "preload only: a child started with env -i binds the real 127.0.0.1" "$(listeners)" "*127.0.0.1:$QE*"
QS=$(port)
start pdyn "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION=31 VIPFARM_RUN_DIR="$TMP/run" \
  "$DYN" serve tcp 4 127.0.0.1 "$QS" pdyn > /dev/null
expect "preload only: a plain dynamic program IS rewritten (control)" "$(listeners)" "*127.0.0.32:$QS*"
Q6=$(port)
expect "preload: the shim honours loopback6 too: ::1 shown as ::1" \
  "$(start p6 "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION=31 VIPFARM_RUN_DIR="$TMP/run" \
    "$DYN" serve tcp 6 ::1 "$Q6" p6)" "ready [[]fd00:5f::20]:$Q6 shown [[]::1]:$Q6"
expect "preload: a session client reaches it through ::1, peer shown as ::1" \
  "$(preload 31 "$DYN" connect tcp 6 ::1 "$Q6" | tr '\n' ' ')" \
  "local * remote [[]fd00:5f::20]:$Q6 shown [[]::1]:$Q6 reply p6 "
expect "preload only: the setuid client misses its session's server" \
  "$(preload 31 setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/vf-suid" connect tcp 4 127.0.0.1 "$QS")" \
  "error connect: Connection refused"

# ---- what the program sees (the checks of integration.sh that a socket hook can see) -----------
U=$(port)
start u31 "$PARENT/s31" "$STATIC" serve udp 4 127.0.0.1 "$U" u31 > /dev/null
for method in udp udpmsg udpmmsg; do
  expect "UDP $method: reply source shown as 127.0.0.1" \
    "$(run_in "$PARENT/s31" "$STATIC" connect "$method" 4 127.0.0.1 "$U" | tr '\n' ' ')" \
    "local *from * shown 127.0.0.1:$U reply u31 "
done
expect "UDP server sees the client as 127.0.0.1" "$(tail -1 "$TMP/u31.out")" "peer * shown 127.0.0.1:*"
expect "v4-mapped ::ffff:127.0.0.1 on an IPv6 socket goes to L" \
  "$(run_in "$PARENT/s31" "$STATIC" connect tcp 6 ::ffff:127.0.0.1 "$P" | tr '\n' ' ')" \
  "*remote [[]::ffff:127.0.0.1]:$P shown [[]::ffff:127.0.0.1]:$P reply c31 "
S6=$(port)
expect "::1 in 31 binds the session's IPv6 loopback, shown as ::1" \
  "$(start v631 "$PARENT/s31" "$STATIC" serve tcp 6 ::1 "$S6" v631)" "ready [[]::1]:$S6 shown [[]::1]:$S6"
expect "::1 really on fd00:5f::20" "$(listeners)" "*[[]fd00:5f::20]:$S6*"
expect "::1 in 31 reaches it, peer shown as ::1" \
  "$(run_in "$PARENT/s31" "$STATIC" connect tcp 6 ::1 "$S6" | tr '\n' ' ')" "*remote [[]::1]:$S6 shown [[]::1]:$S6 reply v631 "
expect "getsockname after bind 0.0.0.0 with V shows 0.0.0.0" \
  "$(run_in "$PARENT/s31" "$STATIC" bind tcp 4 0.0.0.0 0)" "bound 0.0.0.0:* shown 0.0.0.0:*"
expect "a v6only :: bind is left alone (::ffff:V impossible)" \
  "$(run_in "$PARENT/s31" "$STATIC" bind tcp 6 :: 0 v6only)" "bound [[]::]:* shown [[]::]:*"
# Accepted connections: the listener's storage is not copied to them (that cost an allocation per
# connection); what they show comes from their listener, found when the program asks. Nor does a
# client get storage when its peer's listener was bound as 127.0.0.1 (getpeername asks it). 31 with V for
# 127.0.0.1 (no prefer-loopback): listeners on 127.0.0.1 and ::ffff:127.0.0.1 really on V31.
write_rules "$TMP/31-vip.rules" "${rules31[@]:0:5}" "isolation on"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s31" --rules "$TMP/31-vip.rules"
ACCEPTED='
import socket, struct
def real(port):  # the listening address in the kernel (/proc/net/tcp*)
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(name).read().splitlines()[1:]:
            addr, p = line.split()[1].split(":")
            if int(p, 16) == port and line.split()[3] == "0A":
                return socket.inet_ntoa(struct.pack("<I", int(addr[-8:], 16)))
for fam, lo in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::ffff:127.0.0.1")):
    l = socket.socket(fam); l.bind((lo, 0)); l.listen(4); port = l.getsockname()[1]
    c = socket.socket(fam); c.connect((lo, port)); a, peer = l.accept()
    d = socket.socket(fam); d.bind((lo, 0)); d.connect((lo, port)); b, peer2 = l.accept()
    print(fam.name, "listener", real(port), l.getsockname()[0],
          "client", c.getpeername()[0], "accepted", a.getsockname()[0], peer[0], a.getpeername()[0],
          "from-bound", d.getsockname()[0], d.getpeername()[0], b.getsockname()[0], peer2[0], b.getpeername()[0])
w = socket.socket(); w.bind(("0.0.0.0", 0)); w.listen(4); wp = w.getsockname()[1]
e = socket.socket(); e.connect(("127.0.0.1", wp)); f, _ = w.accept()
print("wildcard", real(wp), w.getsockname()[0], "client", e.getpeername()[0], "accepted", f.getsockname()[0])
'
acc=$(run_in "$PARENT/s31" python3 -c "$ACCEPTED")
expect "accepted on a 127.0.0.1 listener held as V: local and peers shown as 127.0.0.1" "$(sed -n 1p <<< "$acc")" \
  "AF_INET listener 127.100.31.1 127.0.0.1 client 127.0.0.1 accepted 127.0.0.1 127.0.0.1 127.0.0.1 from-bound 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1 127.0.0.1"
m=::ffff:127.0.0.1
expect "the same on an IPv6 socket: ::ffff:127.0.0.1 listener held as ::ffff:V" "$(sed -n 2p <<< "$acc")" \
  "AF_INET6 listener 127.100.31.1 $m client $m accepted $m $m $m from-bound $m $m $m $m $m"
expect "a client of a wildcard listener held as V still sees 127.0.0.1; the accepted side V" \
  "$(sed -n 3p <<< "$acc")" "wildcard 127.100.31.1 0.0.0.0 client 127.0.0.1 accepted 127.100.31.1"
# What tells a client it needs no storage is `bound`, written after each TCP bind (post_bind4/6): a
# listener bound as 127.0.0.1 is noted there, and a later bind of the same V and port as a wildcard
# removes the note, so that a client of the new listener still gets storage and sees 127.0.0.1.
REBOUND='
import json, os, socket, subprocess
def noted(port):  # entries of `bound` for this port
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", os.environ["PIN"] + "/bound"],
                         capture_output=True, text=True, check=True).stdout
    return sum(1 for e in json.loads(out) if int.from_bytes(bytes(int(b, 16) for b in e["key"][24:28]), "little") == port)
def listener(addr, port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(4)
    return s
l = listener("127.0.0.1", 0); port = l.getsockname()[1]
first = noted(port)
c = socket.socket(); c.connect(("127.0.0.1", port)); a, _ = l.accept()
print("loopback", first, c.getpeername()[0]); a.close(); c.close(); l.close()
w = listener("0.0.0.0", port)
e = socket.socket(); e.connect(("127.0.0.1", port)); f, _ = w.accept()
print("wildcard", noted(port), e.getpeername()[0], f.getsockname()[0])
'
reb=$(run_in "$PARENT/s31" env PIN="$PIN" python3 -c "$REBOUND")
expect "a listener bound as 127.0.0.1 held as V is noted in bound; its client sees 127.0.0.1" \
  "$(sed -n 1p <<< "$reb")" "loopback 1 127.0.0.1"
expect "a wildcard listener bound at the same V and port after it removes the note; its client sees 127.0.0.1" \
  "$(sed -n 2p <<< "$reb")" "wildcard 0 127.0.0.1 127.100.31.1"
# A client that binds the wildcard first (0.0.0.0 -> V: its bind gives it storage) and then connects
# to 127.0.0.1 held as V, where the listener was bound as 127.0.0.1 (issue 8): its peer shows as
# 127.0.0.1 (not V), its local address as the 0.0.0.0 / :: it bound (as on the preload path; so does
# a UDP socket bound to the wildcard and connected to 127.0.0.1), and the server sees it as
# 127.0.0.1. Port 0 and a given port Q; AF_INET and dual-stack AF_INET6. The preload path alone,
# with the same rules, must print the same lines.
WILDBOUND='
import socket, struct
def real(port):  # the established connection at local port `port` in the kernel (/proc/net/tcp*)
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(name).read().splitlines()[1:]:
            addr, p = line.split()[1].split(":")
            if int(p, 16) == port and line.split()[3] == "01":
                return socket.inet_ntoa(struct.pack("<I", int(addr[-8:], 16)))
def real_udp(port):  # the UDP socket at local port `port` in the kernel
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        for line in open(name).read().splitlines()[1:]:
            addr, p = line.split()[1].split(":")
            if int(p, 16) == port:
                return socket.inet_ntoa(struct.pack("<I", int(addr[-8:], 16)))
for fam, lo, wild in ((socket.AF_INET, "127.0.0.1", "0.0.0.0"), (socket.AF_INET6, "::ffff:127.0.0.1", "::")):
    l = socket.socket(fam); l.bind((lo, 0)); l.listen(4); port = l.getsockname()[1]
    f = socket.socket(fam); f.bind((wild, 0)); q = f.getsockname()[1]; f.close()
    for want in (0, q):
        c = socket.socket(fam); c.bind((wild, want)); c.connect((lo, port)); a, peer = l.accept()
        me, him = c.getsockname(), c.getpeername()
        print(fam.name, "Q" if want else "0", "real", real(me[1]), "client", me[0], want in (0, me[1]),
              him[0], him[1] == port, "accepted", a.getsockname()[0], peer[0], a.getpeername()[0],
              peer[1] == me[1])
        a.close(); c.close()
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((wild, 0)); u.connect((lo, port))
    print(fam.name, "udp real", real_udp(u.getsockname()[1]), "local", u.getsockname()[0], "peer", u.getpeername()[0])
'
want_wb=""
for q in 0 Q; do
  want_wb+="AF_INET $q real 127.100.31.1 client 0.0.0.0 True 127.0.0.1 True accepted 127.0.0.1 127.0.0.1 127.0.0.1 True"$'\n'
done
want_wb+="AF_INET udp real 127.100.31.1 local 0.0.0.0 peer 127.0.0.1"$'\n'
for q in 0 Q; do
  want_wb+="AF_INET6 $q real 127.100.31.1 client :: True $m True accepted $m $m $m True"$'\n'
done
want_wb+="AF_INET6 udp real 127.100.31.1 local :: peer $m"$'\n'
wb=$(run_in "$PARENT/s31" python3 -c "$WILDBOUND")
for q in 0 Q; do
  expect "a client bound to 0.0.0.0:$q connects to a 127.0.0.1 listener held as V: peer 127.0.0.1, local 0.0.0.0" \
    "$(grep "^AF_INET $q " <<< "$wb")" "$(grep "^AF_INET $q " <<< "$want_wb")"
  expect "the same bound to [::]:$q on a dual-stack socket: peer ::ffff:127.0.0.1, local ::" \
    "$(grep "^AF_INET6 $q " <<< "$wb")" "$(grep "^AF_INET6 $q " <<< "$want_wb")"
done
for fam in AF_INET AF_INET6; do
  expect "a UDP socket ($fam) bound to the wildcard, connected to 127.0.0.1: local the wildcard, peer 127.0.0.1" \
    "$(grep "^$fam udp " <<< "$wb")" "$(grep "^$fam udp " <<< "$want_wb")"
done
mkdir -p "$TMP/run-vip/sessions" && cp "$TMP/31-vip.rules" "$TMP/run-vip/sessions/31.rules"
expect "... and the preload path alone (same rules) shows the same" \
  "$(run_in "$PLAIN" env LD_PRELOAD="$LIB" VIPFARM_SESSION=31 VIPFARM_RUN_DIR="$TMP/run-vip" \
    python3 -c "$WILDBOUND")" "${want_wb%$'\n'}"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s31" --rules "$TMP/run/sessions/31.rules"

# Per-program VIPs by command name. The static binary's name vf-kprobe-static is cut by the kernel
# to 15 bytes (vf-kprobe-stati); *-helper comes first and must not capture it.
write_rules "$TMP/s32b.rules" "${rules32[@]:0:5}" "excluded-ports $Q" "program-vip *-helper 127.100.32.7" \
  "program-vip vf-kprobe-dy? 127.100.32.9" "program-vip vf-kprobe-stat[a-z]c 127.100.32.6" "isolation on"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s32" --rules "$TMP/s32b.rules"
cp "$DYN" "$TMP/vf-other"
X=$(port)
start x32 "$PARENT/s32" "$STATIC" serve tcp 4 0.0.0.0 "$X" x32 > /dev/null
start y32 "$PARENT/s32" "$DYN" serve tcp 6 :: "$X" y32 > /dev/null
start z32 "$PARENT/s32" "$TMP/vf-other" serve tcp 4 0.0.0.0 "$X" z32 > /dev/null
l=$(listeners)
expect "per-program VIP: vf-kprobe-dy? matches the command name vf-kprobe-dyn" "$l" "*ffff:127.100.32.9]:$X *"
expect "per-program VIP: a cut 15-byte name matches a glob running on past the cut ([a-z] set)" \
  "$l" "*127.100.32.6:$X *"
expect "per-program VIP: other programs keep the session's VIP" "$l" "*127.100.32.1:$X *"
expect "an excluded port is never rewritten (the preload's 127.0.0.1:P is in the way)" \
  "$(run_in "$PARENT/s32" "$STATIC" connect tcp 4 127.0.0.1 "$Q" | tail -1)" "reply pc31"
# The datagram short path (sendmsg to 127.0.0.1 from a socket whose cached lookup is valid) must
# still leave an excluded port alone: the first datagram (to another port) gives the socket its
# storage, the next fills its cache, the ones after find it valid. python3 is no program-vip match.
start uq "$PARENT/other" "$STATIC" serve udp 4 127.0.0.1 "$Q" uq > /dev/null
UDPX='import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"x", ("127.0.0.1", int(sys.argv[2])))
out = []
for i in range(3):
    s.sendto(b"x", ("127.0.0.1", int(sys.argv[1])))
    try:
        out.append(s.recv(100).decode())
    except OSError as e:
        out.append(type(e).__name__)
print(" ".join(out))'
expect "UDP to an excluded port stays untouched on a socket with a valid cache (short path)" \
  "$(run_in "$PARENT/s32" python3 -c "$UDPX" "$Q" "$(port)")" "uq uq uq"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s32" --rules "$TMP/run/sessions/32.rules"

# ---- loopback isolation -----------------------------------------------------------------------
expect "isolation: session 32 connecting to 31's loopback is refused" \
  "$(run_in "$PARENT/s32" "$STATIC" connect tcp 4 127.0.0.32 "$P")" "error connect: Connection refused"
expect "isolation: a non-session process under the parent is refused" \
  "$(run_in "$PARENT/other" "$STATIC" connect tcp 4 127.0.0.32 "$P")" "error connect: Connection refused"
expect "isolation: UDP from session 32 to 31's loopback is refused" \
  "$(run_in "$PARENT/s32" "$STATIC" connect udp 4 127.0.0.32 "$U")" "error sendto: Connection refused"
expect "isolation: session 32 to 31's IPv6 loopback is refused" \
  "$(run_in "$PARENT/s32" "$STATIC" connect tcp 6 fd00:5f::20 "$S6")" "error connect: Connection refused"
expect "isolation: binding another session's loopback is refused" \
  "$(run_in "$PARENT/other" "$STATIC" bind tcp 4 127.0.0.32 0)" "error bind: Permission denied"
expect "isolation: session 31's own process reaches 127.0.0.32 explicitly" \
  "$(run_in "$PARENT/s31" "$STATIC" connect tcp 4 127.0.0.32 "$P" | tail -1)" "reply c31"
write_rules "$TMP/31-allow.rules" "${rules31[@]}" "isolation-allow-uids 65534"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s31" --rules "$TMP/31-allow.rules"
expect "isolation: an allowed uid gets through" \
  "$(run_in "$PARENT/other" setpriv --reuid=65534 --regid=65534 --clear-groups "$DYN" connect tcp 4 127.0.0.32 "$P" | tail -1)" \
  "reply c31"
expect "isolation: other uids still do not" \
  "$(run_in "$PARENT/other" "$STATIC" connect tcp 4 127.0.0.32 "$P")" "error connect: Connection refused"
write_rules "$TMP/31-open.rules" "${rules31[@]:0:6}" "isolation off"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s31" --rules "$TMP/31-open.rules"
expect "isolation off: session 32 connects to 31's loopback" \
  "$(run_in "$PARENT/s32" "$STATIC" connect tcp 4 127.0.0.32 "$P" | tail -1)" "reply c31"

# ---- rules change for running programs --------------------------------------------------------
start new "$PARENT/other" "$STATIC" serve tcp 4 127.0.0.42 "$P" new > /dev/null
# One UDP socket sending all along: the session lookup it keeps must follow `set` and `clear`.
# udp_follower NAME SESSION_CGROUP OLD_L NEW_L PORT PAUSE_MS: UDP servers that answer NAMEold on
# OLD_L, NAMEnew on NEW_L and NAMElo on 127.0.0.1 (in `other`: not rewritten), and one socket of the
# session sending to 127.0.0.1:PORT every PAUSE_MS ms, its replies in $TMP/NAME.out, its PID in
# $follower_pid
udp_follower() {
  local name=$1 cg=$2 old=$3 new=$4 port=$5 pause=$6
  start "${name}old" "$PARENT/other" "$STATIC" serve udp 4 "$old" "$port" "${name}old" > /dev/null
  start "${name}new" "$PARENT/other" "$STATIC" serve udp 4 "$new" "$port" "${name}new" > /dev/null
  start "${name}lo" "$PARENT/other" "$STATIC" serve udp 4 127.0.0.1 "$port" "${name}lo" > /dev/null
  sh -c "$ENTER" "$NS" "$cg" "$STATIC" udploop 127.0.0.1 "$port" "$pause" 1000 > "$TMP/$name.out" &
  follower_pid=$!
  echo "$follower_pid" >> "$PIDS"
}
udp_follower u "$PARENT/s31" 127.0.0.32 127.0.0.42 "$(port)" 20
udploop_pid=$follower_pid
sh -c "$ENTER" "$NS" "$PARENT/s31" "$STATIC" loop 127.0.0.1 "$P" 20 100 > "$TMP/loop.out" &
loop_pid=$!
echo "$loop_pid" >> "$PIDS"
loop_start=$(date +%s%3N)
sleep 0.5
write_rules "$TMP/31-moved.rules" "vipfarm-rules 1" "session 31" "loopback4 127.0.0.42" "prefer-loopback *"
set_at=$(date +%s%3N)
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s31" --rules "$TMP/31-moved.rules"
wait "$loop_pid"
first_new=$(awk '$2 == "reply" && $3 == "new" { print $1; exit }' "$TMP/loop.out")
old=$(grep -c "reply c31" "$TMP/loop.out")
if [[ -n $first_new && $old -gt 0 ]]; then
  delay=$((loop_start + ${first_new%.*} - set_at))
  expect "a running program's next connect follows a rules change within a second (${delay} ms)" \
    "$((delay < 1000))" 1
else
  not_ok "a running program follows a rules change" "$(tr '\n' ' ' < "$TMP/loop.out")"
fi

# ---- the in-place datagram path (bpf/README.md): a session without program lists, so that after its
# first datagrams vf_sendmsg4 answers from the socket's storage alone; that answer must follow `set`
# and `clear` like the rest (31's rules above have a program list, which keeps that path off)
mkdir "$PARENT/s35"
write_rules "$TMP/35.rules" "vipfarm-rules 1" "session 35" "loopback4 127.0.0.36"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s35" --rules "$TMP/35.rules"
udp_follower f "$PARENT/s35" 127.0.0.36 127.0.0.46 "$(port)" 10
replied() { # TAG: waits up to 5 s for a reply from that server, then 0.2 s more (more datagrams)
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q "reply $1" "$TMP/f.out" && sleep 0.2 && return
    sleep 0.05
  done
}
replied fold
write_rules "$TMP/35-moved.rules" "vipfarm-rules 1" "session 35" "loopback4 127.0.0.46"
"$BPF" set --pin "$PIN" --cgroup "$PARENT/s35" --rules "$TMP/35-moved.rules"
replied fnew
"$BPF" clear --pin "$PIN" --cgroup "$PARENT/s35"
replied flo
kill "$follower_pid" 2> /dev/null
expect "in-place sendmsg4: one UDP socket follows set and clear (L, the new L, then 127.0.0.1 untouched)" \
  "$(awk '{ print $2, $3 }' "$TMP/f.out" | uniq | tr '\n' ' ')" "reply fold reply fnew reply flo "

# ---- clear: pass-through ----------------------------------------------------------------------
"$BPF" clear --pin "$PIN" --cgroup "$PARENT/s31"
expect "clear removes the session" "$("$BPF" list --pin "$PIN")" "{\"sessions\":[[]{\"cgroupId\":$(stat -c %i "$PARENT/s32"),*}]}"
"$BPF" clear --pin "$PIN" --cgroup-id "$id31"
expect "clearing again is not an error" "$?" 0
for ((i = 0; i < 100; i++)); do # its next datagrams after clear: 127.0.0.1 as it is
  grep -q "reply ulo" "$TMP/u.out" && break
  sleep 0.05
done
kill "$udploop_pid" 2> /dev/null
expect "one UDP socket follows set and clear (L, the new L, then 127.0.0.1 untouched)" \
  "$(awk '{ print $2, $3 }' "$TMP/u.out" | uniq | tr '\n' ' ')" "reply uold reply unew reply ulo "
C2=$(port)
start cleared "$PARENT/s31" "$STATIC" rawserve 127.0.0.1 "$C2" > /dev/null
expect "after clear, 31's programs pass through (127.0.0.1 as it is)" "$(listeners)" "*127.0.0.1:$C2*"
expect "status counts one session" "$("$BPF" status --pin "$PIN")" "*\"sessions\":1}"
"$BPF" detach --pin "$PIN"
expect "detach removes the pins" "$?:$(ls "$PIN" 2>&1)" "0:*No such file*"
expect "status after detach" "$("$BPF" status --pin "$PIN")" "{\"attached\":false,*\"programs\":0,*"

echo "kernel path: $passed passed, $failed failed"
[[ $failed == 0 ]]
