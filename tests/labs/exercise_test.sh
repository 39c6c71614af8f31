#!/usr/bin/env bash
# Runs one lab exercise's run.sh end to end (its own network on loopback, in a
# temporary folder) and checks the key lines its README shows, so the labs
# never rot. Usage: exercise_test.sh REPO_ROOT BUILD_DIR N
set -euo pipefail
root=$1
build=$2
n=$3
folder=$(cd "$root/examples/labs" && ls -d "$n"-*/ | head -n 1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Apart from the other exercises' ports when ctest runs them in parallel.
base=$((30000 + n * 1000 + RANDOM % 500))

started=$(date +%s)
status=0
out=$(BUILD_DIR=$build timeout 120 "$root/examples/labs/$folder/run.sh" --dir "$work/lab" \
  --base-port "$base" 2>&1) || status=$?
echo "$out"
echo "-- $folder: exit status $status after $(($(date +%s) - started)) s"
fail() {
  echo "FAIL: $*" >&2
  for log in "$work"/lab/logs/*.log; do
    [ -f "$log" ] && { echo "== $log" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}
[ "$status" = 0 ] || fail "run.sh failed"
[ ! -e "$work/lab/pids/order" ] || fail "run.sh left processes recorded in $work/lab/pids"
has() { grep -qE -- "$1" <<<"$out" || fail "no line matching: $1"; }
lacks() { ! grep -qE -- "$1" <<<"$out" || fail "a line matches: $1"; }
count() { # REGEX MIN
  local c
  c=$(grep -cE -- "$1" <<<"$out" || true)
  [ "$c" -ge "$2" ] || fail "$c lines match $1, expected at least $2"
}

case "$n" in
  1)
    has '^tpdp-client: hop 1: 127\.0\.0\.1:[0-9]+ [0-9a-f]{64}$'
    has '^tpdp-client: hop 3: 127\.0\.0\.1:[0-9]+ [0-9a-f]{64}$'
    has '^hello from the web server$'
    count '^  info: circuit [0-9]+ from 127\.0\.0\.1: open as relay to 127\.0\.0\.1:[0-9]+$' 2
    has '^  info: circuit [0-9]+ from 127\.0\.0\.1: open as exit to \(destination hidden\)$'
    count '^  info: circuit [0-9]+: closed after' 3
    ;;
  2)
    count '^  (a|b|c) +[0-9]+ +[0-9]+  no$' 6
    count '^  web +[0-9]+ +[0-9]+  yes$' 2
    count '^  links sharing an 8-byte run of the same direction: none$' 2
    # One DATA frame per response here; a split read would add 19 bytes (frame overhead).
    has '^the response grew by 1002 bytes \(page \+1000, headers \+2\); backward bytes grew by: a \+1002, b \+1002, c \+1002, web \+1002$'
    ;;
  3)
    has '^keystream shared: forward from byte 66 and backward from byte 54 cancel out$'
    has '^destination: 127\.0\.0\.1:[0-9]+$'
    has '^response recovered: 73 of its 73 bytes'
    has '^  \| the vault code is 4-8-15-16-23-42$'
    has '^this is not your bank: type your password here$'
    ;;
  4)
    has '^the vault code is 4-8-15-16-23-42$'
    has '^it is noise, the two directions do not share a keystream$'
    has '^tpdp-client: error: hop 3 \(127\.0\.0\.1:[0-9]+ [0-9a-f]{16}\) \(exit\) could not open 127\.0\.0\.1:[0-9]+: integrity check failed \(data was altered\)$'
    has '^tpdp-client: error: hop 2 \(127\.0\.0\.1:[0-9]+ [0-9a-f]{16}\) refused the circuit: node does not hold the requested identity$'
    count '^\(exit status [13]\)$' 3
    lacks 'destination: |this is not your bank'
    ;;
  5)
    has '^today: nothing happened$'
    has '^tpdp-client: error: hop 3 \(127\.0\.0\.1:[0-9]+ [0-9a-f]{16}\) \(exit\) could not open 127\.0\.0\.1:[0-9]+: destination refused by exit policy$'
    has 'refused: exit_policy_refused'
    lacks 'vault code'
    ;;
  *) fail "no checks for exercise $n" ;;
esac
echo "exercise $n passed"
