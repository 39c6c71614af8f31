#!/usr/bin/env bash
# tpdp on a real (virtual) LAN: every program on a host of its own, hosts
# being network namespaces on one bridge, in the test subnet 10.77.0.0/24:
#
#   pool    10.77.0.2    tpdp-pool, listening on 10.77.0.2:8080
#   n1..n5  10.77.0.11-15 tpdp-node, bound to 0.0.0.0:6001, advertising its
#                        host address, exit policy: the subnet's port 8000 only
#   client  10.77.0.20   tpdp-client, the pool pinned by fingerprint
#   web     10.77.0.30   an HTTP server on port 8000 (web_server.py)
#
# Checks: the pool lists the 5 advertised addresses; a 4 MiB file fetched
# through 3 hops arrives byte for byte; a destination outside the exit policy
# is refused; then the link of the middle hop's host goes down mid-transfer
# and the client ends with a clear error within a bounded time.
#
#   tests/netns/lan_test.sh BUILD_DIR      (root; run by ctest)
#
# Exit 77 (ctest: skipped) where namespaces cannot be made (not root, no
# `ip netns`, no veth or bridge support). Namespaces are named after this
# script's PID, so parallel runs do not collide; everything is removed on any
# exit (trap), and every program runs under `timeout`, so nothing outlives a
# killed run by more than a minute.
set -uo pipefail

build=${1:?usage: lan_test.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
pool_bin=$build/pool/tpdp-pool
node_bin=$build/node/tpdp-node
client_bin=$build/client/tpdp-client
now_us() { echo "${EPOCHREALTIME/./}"; }
since() { # since START_US: seconds with 2 decimals
  local d=$(($(now_us) - $1))
  printf '%d.%02d' $((d / 1000000)) $((d % 1000000 / 10000))
}
started=$(now_us)

skip() {
  echo "SKIPPED: $* (this test builds a LAN of network namespaces: root and iproute2 needed)"
  exit 77
}
fail() {
  echo "FAILED: $*" >&2
  for log in "${dir:-/nonexistent}"/*.log; do
    [ -f "$log" ] && { echo "--- $(basename "$log") (last lines)"; tail -n 8 "$log"; } >&2
  done
  exit 1
}
note() { echo "[$(since "$started") s] $*"; }

[ "$(id -u)" -eq 0 ] || skip "not root"
command -v ip >/dev/null || skip "no ip command (iproute2)"
command -v python3 >/dev/null || skip "no python3"
for b in "$pool_bin" "$node_bin" "$client_bin"; do [ -x "$b" ] || fail "$b is not built"; done

tag=tpdp$$
ns() { echo "$tag-$1"; }
# Namespaces left by a run that was killed (its PID gone, no process inside).
for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^tpdp[0-9]+-(sw|pool|n[1-5]|client|web)$'); do
  owner=${n#tpdp}
  owner=${owner%%-*}
  if ! kill -0 "$owner" 2>/dev/null && [ -z "$(ip netns pids "$n" 2>/dev/null)" ]; then
    ip netns del "$n" 2>/dev/null && echo "removed $n, left by an earlier run"
  fi
done
hosts=(pool n1 n2 n3 n4 n5 client web)
declare -A address=([pool]=10.77.0.2 [n1]=10.77.0.11 [n2]=10.77.0.12 [n3]=10.77.0.13
  [n4]=10.77.0.14 [n5]=10.77.0.15 [client]=10.77.0.20 [web]=10.77.0.30)
dir=$(mktemp -d /tmp/tpdp-lan-XXXXXX)
pids=()
made=()

cleanup() {
  local pid i
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for ((i = 0; i < 30; i++)); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the LAN: a switch namespace with a bridge, one veth per host ----
sw=$(ns sw)
ip netns add "$sw" 2>/dev/null || skip "cannot create a network namespace"
made+=("$sw")
ip -n "$sw" link set lo up
ip -n "$sw" link add br0 type bridge 2>/dev/null || skip "cannot create a bridge"
ip -n "$sw" link set br0 up
for h in "${hosts[@]}"; do
  ip netns add "$(ns "$h")" || fail "ip netns add $(ns "$h")"
  made+=("$(ns "$h")")
  ip link add eth0 netns "$(ns "$h")" type veth peer name "v-$h" netns "$sw" 2>/dev/null ||
    skip "cannot create veth pairs"
  ip -n "$sw" link set "v-$h" master br0 up
  ip -n "$(ns "$h")" addr add "${address[$h]}/24" dev eth0
  ip -n "$(ns "$h")" link set eth0 up
  ip -n "$(ns "$h")" link set lo up
done
note "LAN up: ${#hosts[@]} hosts on a bridge in $sw"

# Runs a program on a host in the background (bounded to 120 s), output in DIR/NAME.log.
spawn() {
  local name=$1 host=$2
  shift 2
  ip netns exec "$(ns "$host")" timeout -k 2 120 "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
}
on() { # on HOST COMMAND...: runs it there, bounded to 20 s
  local host=$1
  shift
  ip netns exec "$(ns "$host")" timeout -k 2 20 "$@"
}

# ---- what each host runs ----
mkdir -p "$dir/www"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$dir/www/file.bin"
spawn web web python3 "$here/web_server.py" "${address[web]}" 8000 "$dir/www"

fp=$("$pool_bin" --data-dir "$dir/pool" --print-fingerprint) || fail "pool fingerprint"
cat >"$dir/pool.conf" <<EOF
listen = "${address[pool]}:8080"
data-dir = "$dir/pool"
heartbeat-interval = 1
expiry = 4
sweep-interval = 1
EOF
spawn pool pool "$pool_bin" --config "$dir/pool.conf"

for i in 1 2 3 4 5; do
  cat >"$dir/n$i.conf" <<EOF
listen = "0.0.0.0:6001"
advertise = "${address[n$i]}:6001"
pool = ["${address[pool]}:8080"]
data-dir = "$dir/n$i"
exit-policy = "accept 10.77.0.0/24:8000, reject *:*"
heartbeat-retry = 1
idle-timeout = 3
grace = 1
EOF
  spawn "n$i" "n$i" "$node_bin" --config "$dir/n$i.conf"
done

for ((i = 0; i < 100; i++)); do
  grep -q "^web: serving" "$dir/web.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "^web: serving" "$dir/web.log" || fail "the web server did not start"

client=("$client_bin" --pool "${address[pool]}:8080@$fp" --data-dir "$dir/client" --timeout 5)
listed=""
for ((i = 0; i < 40; i++)); do
  listed=$(on client "${client[@]}" nodes 2>/dev/null | sort)
  [ "$(printf '%s\n' "$listed" | grep -c ':6001 ')" -eq 5 ] && break
  sleep 0.25
done
expected=$(printf '10.77.0.%s:6001\n' 11 12 13 14 15)
[ "$(printf '%s\n' "$listed" | cut -d' ' -f1)" = "$expected" ] ||
  fail "the pool does not list the 5 advertised node addresses: $listed"
note "the pool lists the 5 nodes at their host addresses"

# ---- a file through 3 hops, byte for byte ----
t0=$(now_us)
on client "${client[@]}" --hops 3 get -v -o "$dir/got.bin" "http://${address[web]}:8000/file.bin" \
  2>"$dir/get.log" || fail "get through 3 hops failed: $(tail -n 3 "$dir/get.log")"
took=$(since "$t0")
cmp -s "$dir/www/file.bin" "$dir/got.bin" || fail "the file arrived different"
grep -c '^tpdp-client: hop [123]: 10\.77\.0\.1[1-5]:6001 ' "$dir/get.log" | grep -qx 3 ||
  fail "not a 3-hop path of LAN nodes: $(cat "$dir/get.log")"
note "4 MiB through 3 hops identical (get took $took s)"

# ---- the exit policy: only port 8000 of the subnet ----
if out=$(on client "${client[@]}" --hops 3 cat "${address[pool]}" 8080 </dev/null 2>&1); then
  fail "a destination outside the exit policy was reached"
fi
echo "$out" | grep -q "exit policy" || fail "no exit policy error: $out"
note "10.77.0.2:8080 refused by the exit policy"

# cut_mid_transfer NAME HOP BOUND_S ERROR_PATTERN: starts a slow download
# through 3 hops, takes down the link of hop HOP's host once 256 KiB have
# arrived, and expects the client to exit 1 with ERROR_PATTERN within BOUND_S
# seconds, leaving no file behind. Sets cut_host to that host's name.
cut_mid_transfer() {
  local name=$1 hop=$2 bound=$3 pattern=$4 pid n i status="" t0 took
  spawn "$name" client "${client[@]}" --hops 3 get -v --no-progress -o "$dir/$name.bin" \
    "http://${address[web]}:8000/slow"
  pid=${pids[-1]}
  for ((i = 0; i < 100; i++)); do
    [ "$(stat -c %s "$dir/$name.bin.part" 2>/dev/null || echo 0)" -ge 262144 ] && break
    sleep 0.1
  done
  [ "$(stat -c %s "$dir/$name.bin.part" 2>/dev/null || echo 0)" -ge 262144 ] ||
    fail "the slow transfer $name did not start: $(tail -n 3 "$dir/$name.log")"
  n=$(sed -n "s/^tpdp-client: hop $hop: 10\.77\.0\.1\([1-5]\):6001 .*/\1/p" "$dir/$name.log")
  [ -n "$n" ] || fail "no hop $hop in $(cat "$dir/$name.log")"
  cut_host="n$n"
  ip -n "$(ns "$cut_host")" link set eth0 down
  t0=$(now_us)
  note "link of $cut_host (hop $hop) down after $(stat -c %s "$dir/$name.bin.part") bytes"
  for ((i = 0; i < bound * 10; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid"
      status=$?
      break
    fi
    sleep 0.1
  done
  took=$(since "$t0")
  [ -n "$status" ] || fail "the client still waits $bound s after the link of hop $hop went down"
  [ "$status" -eq 1 ] || fail "client exit status $status after the cut of hop $hop (expected 1)"
  grep -q "$pattern" "$dir/$name.log" || fail "no clear error: $(tail -n 2 "$dir/$name.log")"
  [ ! -e "$dir/$name.bin" ] || fail "a cut download left $dir/$name.bin behind"
  note "client: '$(grep -m1 'error' "$dir/$name.log")' $took s after the cut of hop $hop"
}

# ---- the middle hop's link goes down mid-transfer ----
# Hop 1's idle timeout (3 s here) ends the circuit and tells the client.
cut_mid_transfer slow 2 15 truncated
ip -n "$(ns "$cut_host")" link set eth0 up

# ---- the entry hop's link goes down mid-transfer ----
# No node is left to close the client's connection: the client's own link
# (keep-alive probes, common/net.hpp) must find the dead link: 5 s of silence
# and 3 unanswered probes 5 s apart, plus slack.
cut_mid_transfer slow2 1 40 "Connection timed out"
note "PASSED"
