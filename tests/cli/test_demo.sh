#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tether demo`: the --json shape (six scenarios, both clients, every key), --scenario alone,
# usage errors (exit 2), the human table and verdict, and the product's promise measured on a
# real run: tether fails no request in scenarios 1-5 and never runs an unkeyed POST twice, while
# the naive client fails in the keep-alive race. (Keyed POSTs may still fail when every attempt
# meets a reset; the demo reports that, it is not part of the promise.)
# Usage: bash tests/cli/test_demo.sh path/to/tether
set -uo pipefail
tether=$1
tmp=$(mktemp -d)
passed=0
failed=0
trap 'rm -rf "$tmp"' EXIT

ok() { passed=$((passed + 1)); }
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

if ! command -v node >/dev/null; then
    echo "test_demo: node is required (it reads the JSON)"
    exit 1
fi

# usage NAME ARGS...: exit 2 and exactly one line on stderr, nothing on stdout.
usage() {
    local name=$1
    shift
    "$tether" demo "$@" >"$tmp/u.out" 2>"$tmp/u.err"
    local rc=$?
    if [ "$rc" -ne 2 ] || [ "$(wc -l <"$tmp/u.err")" -ne 1 ] || [ -s "$tmp/u.out" ]; then
        fail "$name: exit $rc, stderr: $(cat "$tmp/u.err")"
    else
        ok
    fi
}
usage "unknown scenario" --scenario nope
grep -q "nope" "$tmp/u.err" && ok || fail "the bad scenario name is not in the message"
usage "zero seconds" --seconds 0
usage "negative seconds" --seconds -1
usage "seconds not a number" --seconds fast
usage "unknown flag" --frobnicate
usage "json with a value" --json=yes

"$tether" help demo >"$tmp/help.out" 2>&1 && grep -q -- "--scenario" "$tmp/help.out" && ok ||
    fail "tether help demo"

# check_json FILE EXPECTED_NAMES...: node validates the one object on stdout.
check_json() {
    local file=$1
    shift
    node - "$file" "$@" <<'EOF'
const fs = require("fs");
const [file, ...names] = process.argv.slice(2);
const text = fs.readFileSync(file, "utf8");
const lines = text.split("\n").filter((l) => l.length > 0);
const bad = (m) => { console.log("JSON: " + m); process.exit(1); };
if (lines.length !== 1) bad(`expected one line on stdout, got ${lines.length}`);
let doc;
try { doc = JSON.parse(lines[0]); } catch (e) { bad("not JSON: " + e.message); }
if (typeof doc.duration_s !== "number") bad("duration_s missing");
if (!Array.isArray(doc.scenarios)) bad("scenarios is not an array");
const got = doc.scenarios.map((s) => s.name).join(",");
if (got !== names.join(",")) bad(`scenario names ${got}, expected ${names.join(",")}`);
for (const s of doc.scenarios) {
  for (const c of ["naive", "tether"]) {
    const r = s.clients && s.clients[c];
    if (!r) bad(`${s.name}: client ${c} missing`);
    for (const k of ["requests", "failed", "replays", "retries", "duplicates"]) {
      if (!Number.isInteger(r[k]) || r[k] < 0) bad(`${s.name}.${c}.${k} = ${r[k]}`);
    }
    if (typeof r.p99_ms !== "number" || r.p99_ms < 0) bad(`${s.name}.${c}.p99_ms`);
    if (!r.errors || typeof r.errors !== "object" || Array.isArray(r.errors)) {
      bad(`${s.name}.${c}.errors is not an object`);
    }
    const sum = Object.values(r.errors).reduce((a, b) => a + b, 0);
    if (sum !== r.failed) bad(`${s.name}.${c}: errors add up to ${sum}, failed is ${r.failed}`);
    if (r.failed > r.requests) bad(`${s.name}.${c}: more failures than requests`);
    if (r.requests === 0) bad(`${s.name}.${c}: no requests ran`);
  }
}
EOF
}

all="keepalive-race lb-idle-timeout server-restart mid-response-reset rate-limit post-safety"
# shellcheck disable=SC2086
"$tether" demo --json --seconds 1 >"$tmp/all.json" 2>"$tmp/all.err"
rc=$?
if [ "$rc" -eq 0 ] && check_json "$tmp/all.json" $all; then ok; else
    fail "demo --json --seconds 1 (exit $rc): $(head -c 400 "$tmp/all.err")"
fi

"$tether" demo --json --seconds 1 --scenario keepalive-race >"$tmp/one.json" 2>"$tmp/one.err"
rc=$?
if [ "$rc" -eq 0 ] && check_json "$tmp/one.json" keepalive-race; then ok; else
    fail "demo --scenario keepalive-race (exit $rc): $(head -c 400 "$tmp/one.err")"
fi

# The human form on a pipe: the table and the two-line verdict, no progress line.
"$tether" demo --seconds 1 --scenario rate-limit >"$tmp/human.out" 2>"$tmp/human.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q "^scenario .*requests .*failed .*p99 ms" "$tmp/human.out" &&
    grep -q "^rate-limit  *naive " "$tmp/human.out" && grep -q "^naive: " "$tmp/human.out" &&
    grep -q "^tether: " "$tmp/human.out" && ! grep -q $'\r' "$tmp/human.out"; then
    ok
else
    fail "human output (exit $rc): $(cat "$tmp/human.out" "$tmp/human.err" | head -c 600)"
fi

# The promise, on a run long enough for every scenario to bite (about 25 s).
"$tether" demo --json --seconds 3 >"$tmp/claim.json" 2>"$tmp/claim.err"
rc=$?
if [ "$rc" -ne 0 ]; then
    fail "demo --seconds 3 exited $rc: $(head -c 400 "$tmp/claim.err")"
else
    node - "$tmp/claim.json" <<'EOF' && ok || fail "product claims (see above)"
const fs = require("fs");
const doc = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const by = Object.fromEntries(doc.scenarios.map((s) => [s.name, s.clients]));
let bad = 0;
const say = (m) => { console.log("CLAIM: " + m); bad++; };
for (const n of ["keepalive-race", "lb-idle-timeout", "server-restart", "mid-response-reset",
                 "rate-limit"]) {
  const t = by[n].tether;
  if (t.failed !== 0) say(`${n}: tether failed ${t.failed}: ${JSON.stringify(t.errors)}`);
}
const post = by["post-safety"].tether;
if (post.duplicates !== 0) say(`post-safety: tether ran ${post.duplicates} unkeyed POSTs twice`);
if (by["keepalive-race"].naive.failed === 0) say("keepalive-race: the naive client never failed");
process.exit(bad ? 1 : 0);
EOF
fi

echo "test_demo: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
