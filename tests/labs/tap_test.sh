#!/usr/bin/env bash
# tpdp-tap over real sockets: both directions recorded byte for byte (half-close
# carried), --flip changes exactly the chosen forward bytes, and a connection
# that fails (reset by the client, or a target that refuses) leaves the tap
# serving the next one. Usage: tap_test.sh REPO_ROOT
set -euo pipefail
root=$1
tap=$root/examples/labs/tap/tpdp-tap
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.log; do echo "== $f" >&2; cat "$f" >&2; done; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listening() { # PORT
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nothing listens on $1 after 10 s"
}

# An echo server that answers after the client's end of stream (so the tap
# must carry the half-close), reversing the bytes.
echo_port=$(free_port)
python3 - "$echo_port" >"$work/echo.log" 2>&1 <<'PY' &
import socketserver, sys
class Reverse(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        while len(data) < 1 << 20:
            chunk = self.request.recv(65536)
            if not chunk:
                break
            data += chunk
        self.request.sendall(data[::-1])
socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer(("127.0.0.1", int(sys.argv[1])), Reverse).serve_forever()
PY
pids+=($!)
wait_listening "$echo_port"

tap_port=$(free_port)
"$tap" --listen "127.0.0.1:$tap_port" --target "127.0.0.1:$echo_port" --out "$work/caps" \
  --flip 70000:ff01 2>"$work/tap.log" &
pids+=($!)
tap_pid=$!
wait_listening "$tap_port"  # (this probe is conn-1: it fails, the tap must go on)

# The client side: sends FILE, half-closes, writes what came back to OUT.
send_file() { # FILE OUT [reset]
  python3 - "$tap_port" "$1" "$2" "${3:-}" <<'PY'
import socket, struct, sys
port, path, out, reset = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
data = open(path, "rb").read()
if reset:
    s.sendall(data[:1000])
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    sys.exit(0)
s.sendall(data)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    got += chunk
open(out, "wb").write(got)
PY
}

head -c 200000 /dev/urandom >"$work/data"
send_file "$work/data" "$work/reply1"
send_file "$work/data" "$work/ignored" reset
send_file "$work/data" "$work/reply3"

# What the echo server received: data with bytes 70000 and 70001 flipped.
python3 - "$work" <<'PY' || fail "bytes differ"
import sys
w = sys.argv[1]
data = open(w + "/data", "rb").read()
flipped = bytearray(data); flipped[70000] ^= 0xff; flipped[70001] ^= 0x01
for n in (2, 4):
    fwd = open("%s/caps/conn-%d.forward" % (w, n), "rb").read()
    bwd = open("%s/caps/conn-%d.backward" % (w, n), "rb").read()
    reply = open("%s/reply%d" % (w, n - 1), "rb").read()
    assert fwd == data, "conn-%d.forward is not what the client sent" % n
    assert bwd == bytes(flipped[::-1]), "conn-%d.backward is not the flipped data reversed" % n
    assert reply == bwd, "the client did not get what the tap recorded"
print("ok: recorded both directions, flipped 2 bytes, survived a reset")
PY
grep -q "conn-3: failed\|conn-3: closed" "$work/tap.log" || fail "no line for the reset connection"
grep -q "conn-2: flipped forward byte(s) at offset 70000, 70001" "$work/tap.log" || fail "no flip line"

# A target that refuses: the connection is closed, the tap stays up.
dead_port=$(free_port)
tap2_port=$(free_port)
"$tap" --listen "127.0.0.1:$tap2_port" --target "127.0.0.1:$dead_port" --out "$work/caps2" \
  2>"$work/tap2.log" &
pids+=($!)
wait_listening "$tap2_port"
wait_listening "$tap2_port"
for _ in $(seq 50); do grep -q "conn-2 from" "$work/tap2.log" && break; sleep 0.1; done
grep -q "conn-2 from .*: cannot connect to the target" "$work/tap2.log" || fail "no refusal line"
kill -0 "${pids[-1]}" || fail "the tap stopped after a refused target"
kill -0 "$tap_pid" || fail "the tap stopped"

"$tap" --help | grep -q -- "--flip OFFSET:HEXMASK" || fail "--help lacks --flip"
if "$tap" --listen x --target 127.0.0.1:1 --out "$work/c3" 2>/dev/null; then fail "bad --listen accepted"; fi
echo "tap test passed"
