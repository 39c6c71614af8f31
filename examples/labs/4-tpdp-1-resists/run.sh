#!/usr/bin/env bash
# Exercise 4: the attacks of exercise 3 on TPDP/1, and an impersonated hop:
# each one fails, and the client says why. See README.md.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$here/../lib/common.sh"
parse_run_options exercise-4 "$@"

start_network 1 2
start_bank_attacker_and_tapped_exit

say "1. The victim fetches the bank's page through node1, node2 and exit"
path=$(node_addr node1),$(node_addr node2),$(node_addr exit)
show client --path "$path" get "http://127.0.0.1:$BANK/"

say "2. The two-time pad of exercise 3 on the link into exit"
last=$(last_capture exit)
status=0
show python3 "$(cd "$here/../3-break-tpdp-0.1" && pwd)/two_time_pad.py" "$last.forward" "$last.backward" ||
  status=$?
echo "(exit status $status)"

say "3. Flipping the bits of the encrypted port, as in exercise 3"
# On the link into the exit the port is at forward byte 101 (the CREATE node2
# writes, node form) + 3 (frame header) + 1 (host length) + 9 ("127.0.0.1") =
# 114, inside the BEGIN frame.
mask=$(printf '%04x' $((BANK ^ EVIL)))
echo "flip mask: $BANK XOR $EVIL = 0x$mask at forward byte 114 (tpdp-tap --flip 114:$mask)"
add_tapped_node exit2 self --flip "114:$mask"
path=$(node_addr node1),$(node_addr node2),$(node_addr exit2)
status=0
show client --path "$path" get "http://127.0.0.1:$BANK/" || status=$?
echo "(exit status $status)"

say "4. An impersonated hop: node 'victim' is listed at an address that now leads to node1"
# The pool lists a node only once it has answered at its address (it would
# refuse victim if the tap led to node1 already): the address is taken over
# after the pool's check.
add_tapped_node victim self --then-target "$(node_addr node1)"
kill -USR1 "$(cut -d' ' -f1 "$LAB_DIR/pids/tap-victim.pid")"
sleep 0.2
echo "the pool lists victim's key at $(node_addr victim); the tap there now forwards to node1"
path=$(node_addr node2),$(node_addr victim)
status=0
show client --path "$path" get "http://127.0.0.1:$BANK/" || status=$?
echo "(exit status $status)"
