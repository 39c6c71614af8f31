#!/usr/bin/env bash
# Exercise 5: a node whose exit policy refuses one destination. See README.md.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$here/../lib/common.sh"
parse_run_options exercise-5 "$@"

start_network 1 2
start_web bank "the vault code is 4-8-15-16-23-42"
BANK=$WEB_PORT
start_web news "today: nothing happened"
NEWS=$WEB_PORT
policy="reject 127.0.0.1:$BANK"
add_node strict --exit-policy "$policy"
echo "web servers: bank on 127.0.0.1:$BANK, news on 127.0.0.1:$NEWS;" \
  "node 'strict' at $(node_addr strict) runs with --exit-policy \"$policy\""
path=$(node_addr node1),$(node_addr node2),$(node_addr strict)

say "1. Through strict to the news: allowed"
show client --path "$path" get "http://127.0.0.1:$NEWS/"

say "2. Through strict to the bank: refused by its exit policy"
status=0
show client --path "$path" get "http://127.0.0.1:$BANK/" || status=$?
echo "(exit status $status)"

say "3. What strict logged (never the page, only what an operator needs)"
# (The policy line goes on with the default rules: loopback, link-local, the node's own addresses.)
grep -E 'exit policy|refus' "$LAB_DIR/logs/strict.log" |
  sed 's/^.*tpdp-node\[[0-9]*\] //; s/\(exit policy: [^,]*, [^,]*\),.*/\1, .../' || true
