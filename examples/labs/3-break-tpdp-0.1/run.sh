#!/usr/bin/env bash
# Exercise 3: break TPDP/0.1 from one link, without any key: read the
# destination and the page (two-time pad), then redirect a fetch to another
# port by flipping bits of the encrypted port. See README.md.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$here/../lib/common.sh"
parse_run_options exercise-3 "$@"

start_network 0.1 2
start_bank_attacker_and_tapped_exit

say "1. The victim fetches the bank's page through node1, node2 and exit"
path=$(node_addr node1),$(node_addr node2),$(node_addr exit)
show client --path "$path" get "http://127.0.0.1:$BANK/" 2>&1 | grep -v 'is INSECURE'

say "2. The attacker has only the two directions of the link into exit"
# The last connection the tap saw (a port probe may have made an empty one first).
last=$(last_capture exit)
show python3 "$here/two_time_pad.py" "$last.forward" "$last.backward"

say "3. The attacker redirects the next fetch to port $EVIL by flipping bits"
# On the link into the exit the port is at forward byte 16 (Hello) + 32 (key)
# + 16 (counter block) + 2 (host length) + 9 ("127.0.0.1") = 75. XOR with
# (old port XOR new port) turns the encrypted old port into the encrypted new one.
mask=$(printf '%04x' $((BANK ^ EVIL)))
echo "flip mask: $BANK XOR $EVIL = 0x$mask at forward byte 75 (tpdp-tap --flip 75:$mask)"
add_tapped_node exit2 self --flip "75:$mask"
path=$(node_addr node1),$(node_addr node2),$(node_addr exit2)
show client --path "$path" get "http://127.0.0.1:$BANK/" 2>&1 | grep -v 'is INSECURE'
echo "(the client asked for 127.0.0.1:$BANK and cannot tell: nothing is authenticated)"
