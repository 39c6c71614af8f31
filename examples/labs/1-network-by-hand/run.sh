#!/usr/bin/env bash
# Exercise 1: a pool, three nodes on chosen ports, a path of chosen nodes, and
# each hop's log. The commands are printed as you would type them. See README.md.
# shellcheck disable=SC2034  # PROTOCOL, V01 and NEXT_PORT are read by lib/common.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$here/../lib/common.sh"
parse_run_options exercise-1 "$@"

PROTOCOL=1
V01=()
lab down >/dev/null 2>&1 || true
rm -rf "$LAB_DIR/logs"
trap stop_network EXIT
NEXT_PORT=$BASE_PORT

start() { # NAME PORT COMMAND...: shows the command, starts it in the background (recorded)
  local name=$1 port=$2
  shift 2
  echo "\$ $* &" | sed "s|$LAB_DIR|\$LAB|g; s|$labs_root/||g"
  lab spawn "$name" "$port" -- "$@" >/dev/null
}

say "1. A pool"
take_port
POOL_PORT=$PORT
fp=$("$build_dir/pool/tpdp-pool" --data-dir "$LAB_DIR/pool" --print-fingerprint)
POOL=127.0.0.1:$POOL_PORT@$fp
start pool "$POOL_PORT" "$build_dir/pool/tpdp-pool" --listen "127.0.0.1:$POOL_PORT" \
  --data-dir "$LAB_DIR/pool" --lab

say "2. Three nodes, on ports of our choosing"
for n in 1 2 3; do
  take_port
  start "node$n" "$PORT" "$build_dir/node/tpdp-node" --listen "127.0.0.1:$PORT" \
    --pool "127.0.0.1:$POOL_PORT" --data-dir "$LAB_DIR/node$n" --lab
done
for n in 1 2 3; do wait_listed "$(node_addr "node$n")"; done
start_web web "hello from the web server"
echo "(and a web server on 127.0.0.1:$WEB_PORT)"

say "3. What the pool lists"
show client nodes

say "4. A path we choose: node3, then node1, then node2"
path=$(node_addr node3),$(node_addr node1),$(node_addr node2)
show client -v --path "$path" get "http://127.0.0.1:$WEB_PORT/" 2>&1 | grep -v 'trusting pool'

say "5. Each hop's log"
for ((i = 0; i < 50; i++)); do # the nodes log the close once both ends have gone (at most 5 s)
  [ "$(cat "$LAB_DIR"/logs/node[123].log | grep -cE 'circuit [0-9]+: closed')" -ge 3 ] && break
  sleep 0.1
done
for n in 3 1 2; do
  echo "node$n ($(node_addr "node$n")):"
  # Circuit 1 at each node was the pool's check of it (logged at debug level).
  grep -E 'circuit [0-9]+( from |: closed)' "$LAB_DIR/logs/node$n.log" |
    sed 's/^.*tpdp-node\[[0-9]*\] /  /'
done
