# Sourced by each exercise's run.sh: a private lab network of its own under
# one folder (scripts/lab up --dir), extra processes started with
# scripts/lab spawn (recorded by PID), everything stopped when run.sh exits.
#
# run.sh options: --dir DIR (default lab/exercise-N), --base-port P (default
# 7100; the first free port from there is used), --keep (leave the network
# running at the end, to look around; stop it with scripts/lab down --dir DIR).
# shellcheck shell=bash
set -euo pipefail

labs_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build_dir=$(cd "${BUILD_DIR:-$labs_root/build}" 2>/dev/null && pwd) ||
  { echo "no build in ${BUILD_DIR:-$labs_root/build}: run scripts/build first" >&2; exit 1; }
CLIENT=$build_dir/client/tpdp-client
NODE=$build_dir/node/tpdp-node
TAP=$labs_root/examples/labs/tap/tpdp-tap
LABS_LIB=$labs_root/examples/labs/lib
# The interpreter itself (not a wrapper such as a pyenv shim, which execs
# another program): scripts/lab records each command line to stop it later.
PYTHON=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')

parse_run_options() { # DEFAULT_DIR "$@"
  LAB_DIR=$labs_root/lab/$1
  shift
  BASE_PORT=7100
  KEEP=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --dir) LAB_DIR=${2:?--dir needs a directory}; shift 2 ;;
      --base-port) BASE_PORT=${2:?--base-port needs a port}; shift 2 ;;
      --keep) KEEP=1; shift ;;
      *) echo "unknown option $1 (options: --dir DIR, --base-port P, --keep)" >&2; exit 2 ;;
    esac
  done
  mkdir -p "$LAB_DIR"
  LAB_DIR=$(cd "$LAB_DIR" && pwd)
}

lab() { # SUBCOMMAND ARGS...: scripts/lab on this exercise's folder
  local sub=$1
  shift
  BUILD_DIR=$build_dir "$labs_root/scripts/lab" "$sub" --dir "$LAB_DIR" "$@"
}

stop_network() {
  if [ "$KEEP" = 1 ]; then
    echo "The network is still running: stop it with scripts/lab down --dir $LAB_DIR"
  else
    lab down >/dev/null 2>&1 || true
  fi
}

# start_network PROTOCOL NODES: a pool and NODES nodes (node1 ...), quietly.
start_network() {
  PROTOCOL=$1
  V01=()
  [ "$PROTOCOL" = 0.1 ] && V01=(--protocol 0.1)
  lab down >/dev/null 2>&1 || true # what an earlier, interrupted run left
  rm -rf "$LAB_DIR/caps" "$LAB_DIR/logs" "$LAB_DIR"/advertised-*
  trap stop_network EXIT
  lab up --protocol "$PROTOCOL" --nodes "$2" --base-port "$BASE_PORT" >"$LAB_DIR/up.log" 2>&1 ||
    { cat "$LAB_DIR/up.log" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$LAB_DIR/lab.env" # POOL, POOL_PORT, NEXT_PORT
  echo "network: TPDP/$PROTOCOL pool 127.0.0.1:$POOL_PORT, $2 node(s) (logs in $LAB_DIR/logs/)"
}

take_port() { # sets PORT to a free port and moves NEXT_PORT past it
  PORT=$(lab free-port "$NEXT_PORT")
  NEXT_PORT=$((PORT + 1))
}

node_addr() { # NAME: the address the pool lists for it
  if [ -f "$LAB_DIR/advertised-$1" ]; then
    cat "$LAB_DIR/advertised-$1"
  else
    echo "127.0.0.1:$(cut -d' ' -f2 "$LAB_DIR/pids/$1.pid")"
  fi
}

client() { # tpdp-client with this network's protocol and pool
  "$CLIENT" "${V01[@]}" --pool "$POOL" --data-dir "$LAB_DIR/client" "$@"
}

wait_listed() { # ADDRESS: until the pool lists it (at most 20 s)
  local i
  for ((i = 0; i < 40; i++)); do
    client --timeout 2 nodes 2>/dev/null | grep -qE "^$1( |$)" && return 0
    sleep 0.5
  done
  echo "the pool does not list $1 after 20 s" >&2
  exit 1
}

# add_node NAME [NODE OPTIONS...]: one more node, listed at its own address.
add_node() {
  local name=$1 port keys=()
  shift
  take_port
  port=$PORT
  [ "$PROTOCOL" = 1 ] && keys=(--data-dir "$LAB_DIR/$name")
  lab spawn "$name" "$port" -- "$NODE" "${V01[@]}" --listen "127.0.0.1:$port" \
    --pool "127.0.0.1:$POOL_PORT" "${keys[@]}" --lab "$@" >/dev/null
  wait_listed "127.0.0.1:$port"
}

# add_tapped_node NAME TAP_TARGET [TAP OPTIONS...]: one more node, advertised
# at a tap's address, so everyone reaches it through the tap, which records to
# $LAB_DIR/caps/NAME/. TAP_TARGET is "self" (the node itself) or HOST:PORT
# (somewhere else: an impersonation).
add_tapped_node() {
  local name=$1 target=$2 port tap_port keys=()
  shift 2
  take_port
  port=$PORT
  take_port
  tap_port=$PORT
  [ "$target" = self ] && target=127.0.0.1:$port
  lab spawn "tap-$name" "$tap_port" -- "$PYTHON" "$TAP" --listen "127.0.0.1:$tap_port" \
    --target "$target" --out "$LAB_DIR/caps/$name" "$@" >/dev/null
  [ "$PROTOCOL" = 1 ] && keys=(--data-dir "$LAB_DIR/$name")
  lab spawn "$name" "$port" -- "$NODE" "${V01[@]}" --listen "127.0.0.1:$port" \
    --advertise "127.0.0.1:$tap_port" --pool "127.0.0.1:$POOL_PORT" "${keys[@]}" --lab >/dev/null
  echo "127.0.0.1:$tap_port" >"$LAB_DIR/advertised-$name"
  wait_listed "127.0.0.1:$tap_port"
}

start_web() { # NAME TEXT: a secret_server.py on port WEB_PORT
  take_port
  WEB_PORT=$PORT
  lab spawn "$1" "$WEB_PORT" -- "$PYTHON" "$LABS_LIB/secret_server.py" "$WEB_PORT" "$2" >/dev/null
}

# The newest finished recording of tap NAME, as $LAB_DIR/caps/NAME/conn-N
# (add .forward or .backward). Waits (at most 5 s) until the tap has logged
# that the connection closed: before that its files may not be complete.
last_capture() { # NAME
  local log="$LAB_DIR/logs/tap-$1.log" n="" i c
  for ((i = 0; i < 50; i++)); do
    # Skipped: a connection that carried only a CREATE (68 bytes forward) is
    # the pool checking that the node answers at its address.
    for c in $(sed -n 's/^tpdp-tap: conn-\([0-9]*\): closed.*/\1/p' "$log" 2>/dev/null |
      sort -rn); do
      if [ "$(wc -c <"$LAB_DIR/caps/$1/conn-$c.forward" 2>/dev/null)" != 68 ]; then
        n=$c
        break
      fi
    done
    [ -n "$n" ] && break
    sleep 0.1
  done
  echo "$LAB_DIR/caps/$1/conn-${n:-none}"
}

# The set-up of exercises 3 and 4: the bank, the attacker's server, and a
# node 'exit' with a tap in front of it. Sets BANK and EVIL to their ports.
start_bank_attacker_and_tapped_exit() {
  start_web bank "the vault code is 4-8-15-16-23-42"
  BANK=$WEB_PORT
  start_web evil "this is not your bank: type your password here"
  EVIL=$WEB_PORT
  add_tapped_node exit self
  echo "web servers: bank on 127.0.0.1:$BANK, attacker's on 127.0.0.1:$EVIL;" \
    "node 'exit' listed at $(node_addr exit), a tap in front of it records to \$LAB/caps/exit/"
}

say() { printf '\n== %s\n' "$*"; }
show() { # prints a command (as the student would type it, shortened) and runs it
  echo "\$ $*" | sed "s|^\$ client |\$ tpdp-client |; s|$LAB_DIR|\$LAB|g; s|$labs_root/||g"
  "$@"
}
