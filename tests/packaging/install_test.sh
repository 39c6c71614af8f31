#!/usr/bin/env bash
# What `cmake --install` and `cpack -G DEB` deliver: the four programs, the
# systemd units (checked with systemd-analyze verify where it exists), the
# pool and node configs, the example configs (each accepted by its program),
# man pages; a second install keeps an edited config; the .deb holds the same
# under /usr and /etc, marks the configs as conffiles, and its programs run.
#
#   tests/packaging/install_test.sh BUILD_DIR
set -uo pipefail

build=${1:?usage: install_test.sh BUILD_DIR}
programs=(tpdp-pool tpdp-node tpdp-client tpdp-http-proxy)
tmp=$(mktemp -d /tmp/tpdp-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@" >/dev/null; then echo "ok: $what"; else
    echo "FAILED: $what" >&2
    failures=$((failures + 1))
  fi
}

# ---- cmake --install into a temporary prefix ----
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; exit 1; }
expected_files() { # expected_files BIN UNITS ETC MAN DOC
  local p
  for p in "${programs[@]}"; do echo "$1/$p" "$4/$p.1" "$5/examples/$p.conf.example"; done
  for p in tpdp-pool tpdp-node; do echo "$2/$p.service" "$3/tpdp/$p.conf"; done
}
missing=""
for f in $(expected_files "$prefix/bin" "$prefix/lib/systemd/system" "$prefix/etc" \
  "$prefix/share/man/man1" "$prefix/share/doc/tpdp"); do
  [ -s "$f" ] || missing+=" $f"
done
check "cmake --install: programs, units, configs, man pages, examples${missing:+ (missing:$missing)}" \
  test -z "$missing"

for p in "${programs[@]}"; do
  check "$p --help runs from the prefix" "$prefix/bin/$p" --help
  # Options are checked before help is printed: a bad example would exit 2.
  check "example config of $p accepted" "$prefix/bin/$p" \
    --config "$prefix/share/doc/tpdp/examples/$p.conf.example" --help
  check "man page of $p has its options and --config" \
    grep -q '^\.B \\-\\-config FILE' "$prefix/share/man/man1/$p.1"
  if command -v groff >/dev/null; then
    check "man page of $p formats without warnings" \
      test -z "$(groff -man -ww -z "$prefix/share/man/man1/$p.1" 2>&1)"
  fi
done
for p in tpdp-pool tpdp-node; do
  check "$p.service runs this installation's binary with its config" \
    grep -qx "ExecStart=$prefix/bin/$p --config $prefix/etc/tpdp/$p.conf" \
    "$prefix/lib/systemd/system/$p.service"
done

if command -v systemd-analyze >/dev/null; then
  man_option=()
  command -v man >/dev/null || man_option=(--man=no)
  if MANPATH=$prefix/share/man systemd-analyze verify "${man_option[@]}" \
    "$prefix"/lib/systemd/system/tpdp-{pool,node}.service >"$tmp/verify.log" 2>&1; then
    echo "ok: systemd-analyze verify tpdp-pool.service tpdp-node.service"
  else
    cat "$tmp/verify.log" >&2
    check "systemd-analyze verify" false
  fi
  if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
    for p in tpdp-pool tpdp-node; do
      systemd-analyze security --offline=yes "$prefix/lib/systemd/system/$p.service" 2>/dev/null |
        grep 'Overall exposure' || true
    done
  fi
else
  echo "skipped: systemd-analyze verify (systemd-analyze is not installed)"
fi

# The operator's edits survive another install.
echo "# edited by the operator" >>"$prefix/etc/tpdp/tpdp-node.conf"
cmake --install "$build" --prefix "$prefix" >"$tmp/install2.log" 2>&1
check "a second install keeps an edited config" \
  grep -q "edited by the operator" "$prefix/etc/tpdp/tpdp-node.conf"

# ---- cpack -G DEB ----
if command -v cpack >/dev/null && command -v dpkg-deb >/dev/null; then
  if (cd "$build" && cpack -G DEB -B "$tmp/deb") >"$tmp/cpack.log" 2>&1; then
    deb=$(ls "$tmp"/deb/tpdp_*.deb)
    dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | sort >"$tmp/contents"
    missing=""
    for f in $(expected_files /usr/bin /usr/lib/systemd/system /etc /usr/share/man/man1 \
      /usr/share/doc/tpdp); do
      grep -qx "$f" "$tmp/contents" || missing+=" $f"
    done
    check "$(basename "$deb") ($(stat -c %s "$deb") bytes) holds programs, units, configs, man pages${missing:+ (missing:$missing)}" \
      test -z "$missing"
    check ".deb marks the configs as conffiles" \
      test "$(dpkg-deb -f "$deb" Package; dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | sort)" = \
      "$(printf 'tpdp\n/etc/tpdp/tpdp-node.conf\n/etc/tpdp/tpdp-pool.conf')"
    dpkg-deb -x "$deb" "$tmp/root"
    check ".deb units start /usr/bin/tpdp-node with /etc/tpdp/tpdp-node.conf" \
      grep -qx "ExecStart=/usr/bin/tpdp-node --config /etc/tpdp/tpdp-node.conf" \
      "$tmp/root/usr/lib/systemd/system/tpdp-node.service"
    check ".deb tpdp-node runs" "$tmp/root/usr/bin/tpdp-node" --help
    echo "depends: $(dpkg-deb -f "$deb" Depends)"
  else
    cat "$tmp/cpack.log" >&2
    check "cpack -G DEB" false
  fi
else
  echo "skipped: the .deb (cpack or dpkg-deb is not installed)"
fi

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed" >&2; exit 1; }
echo "PASSED"
