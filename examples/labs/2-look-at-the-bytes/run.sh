#!/usr/bin/env bash
# Exercise 2: a tap on every link of a 3-hop path; compare the bytes. See README.md.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$here/../lib/common.sh"
parse_run_options exercise-2 "$@"

start_network 1 1
for name in a b c; do add_tapped_node "$name" self; done
# The web server, with a tap in front of it too: the exit's plain TCP link.
page=$LAB_DIR/page.txt
python3 -c 'print("All work and no play makes Jack a dull boy. " * 2)' >"$page"
start_web web "@$page"
take_port
web_tap=$PORT
lab spawn tap-web "$web_tap" -- "$PYTHON" "$TAP" --listen "127.0.0.1:$web_tap" \
  --target "127.0.0.1:$WEB_PORT" --out "$LAB_DIR/caps/web" >/dev/null
echo "nodes a, b, c listed at $(node_addr a), $(node_addr b), $(node_addr c), each behind a tap;"
echo "the web page at 127.0.0.1:$web_tap (a tap in front of the server); captures in \$LAB/caps/"

path=$(node_addr a),$(node_addr b),$(node_addr c)
say "1. Fetch the page through a, b, c"
show client --path "$path" get -o "$LAB_DIR/fetch-1.txt" "http://127.0.0.1:$web_tap/"
say "2. Make the page 1000 bytes longer and fetch it again"
python3 -c 'import sys; sys.stdout.write(open(sys.argv[1]).read() + "x" * 1000)' "$page" \
  >"$page.new"
mv "$page.new" "$page"
show client --path "$path" get -o "$LAB_DIR/fetch-2.txt" "http://127.0.0.1:$web_tap/"

say "3. Compare the links: client->a, a->b, b->c, c->web"
show python3 "$here/compare_links.py" "$LAB_DIR/caps" a b c web
