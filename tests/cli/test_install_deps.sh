#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/install-deps.sh without root and with --check: it names the missing packages and the
# one command that installs them, exits 1, and never runs apt-get or sudo. The machine's own
# packages are all installed (make test put them there), so dpkg-query is replaced on PATH by
# one that reports every package absent; apt-get and sudo are replaced by ones that leave a mark,
# which must never appear. The no-root case runs as the unprivileged user nobody when the test
# runs as root (setpriv), else as the current user.
# Usage: bash tests/cli/test_install_deps.sh path/to/tether (unused)
source "$(dirname "$0")/harness.sh"
script=$(cd "$(dirname "$0")/../../scripts" && pwd)/install-deps.sh

fake=$tmp/bin
marks=$tmp/marks # where a fake apt-get or sudo leaves its mark; nobody may write here
mkdir -p "$fake" "$marks"
chmod 755 "$tmp"
chmod 1777 "$marks"
printf '#!/bin/sh\nexit 1\n' >"$fake/dpkg-query"
for tool in apt-get sudo; do
    printf '#!/bin/sh\ntouch "%s/ran-%s"\nexit 0\n' "$marks" "$tool" >"$fake/$tool"
done
chmod 755 "$fake"/*

# run NAME [USER-PREFIX...] -- ARGS...: the script with the fake tools first on PATH.
run() {
    local name=$1
    shift
    local prefix=()
    while [ "$1" != "--" ]; do
        prefix+=("$1")
        shift
    done
    shift
    timeout "$(scaled 30)" "${prefix[@]}" env PATH="$fake:$PATH" bash "$script" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
}

# expect_missing NAME MODE: exit 1, the missing packages named, the command, no apt, no sudo.
expect_missing() {
    local name=$1 mode=$2
    if [ "$rc" -eq 1 ] && grep -q "^install-deps: missing [0-9]* package(s): .*libuv1-dev" \
        "$tmp/$name.err" && grep -qF "install them with: sudo $script $mode" "$tmp/$name.err" &&
        [ -z "$(ls "$marks")" ]; then
        ok
    else
        fail "$name: exit $rc, stderr: $(cat "$tmp/$name.err"), apt/sudo ran: $(ls "$marks")"
    fi
}

# --check never installs, root or not; `build` (what make demo needs) names no test peer.
run check-build -- --check build
expect_missing check-build build
if grep -qE "nginx|haproxy|wrk|clang|libcurl|postgresql" "$tmp/check-build.err"; then
    fail "build lists a test peer: $(cat "$tmp/check-build.err")"
else
    ok
fi
run check-all -- --check all
expect_missing check-all all
grep -q "nginx" "$tmp/check-all.err" && grep -q "haproxy" "$tmp/check-all.err" && ok ||
    fail "all does not list the peers: $(cat "$tmp/check-all.err")"

# Without root and without --check: the same answer, and still no apt-get and no sudo.
if [ "$(id -u)" -eq 0 ]; then
    run noroot setpriv --reuid=65534 --regid=65534 --clear-groups -- build
else
    run noroot -- build
fi
expect_missing noroot build

run usage -- --check nonsense
[ "$rc" -eq 2 ] && grep -q "usage:" "$tmp/usage.err" && ok || fail "bad mode: exit $rc"

finish
