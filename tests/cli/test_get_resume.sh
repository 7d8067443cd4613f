#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Resumable downloads end to end: `tether serve --root` (strong ETag, Last-Modified, ranges)
# behind `tether proxy` whose reset toxic sends RST after N bytes on every connection, for
# several seeded offsets; `tether get -o FILE` must produce FILE with the source's sha256, never
# leave a truncated FILE, keep FILE.part (and its validator) when it gives up, and continue it
# with -C -, restarting from 0 when the file changed in between.
# Usage: bash tests/cli/test_get_resume.sh path/to/tether
source "$(dirname "$0")/harness.sh"
need_tether

# run NAME ARGS...: `tether get ARGS`; stdout, stderr and the exit code in $tmp/NAME.* and $rc.
run() {
    local name=$1
    shift
    timeout "$(scaled 60)" "$tether" get "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    rc=$?
}
sum() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

mkdir -p "$tmp/www"
head -c 3000000 /dev/urandom >"$tmp/www/big.bin"
touch -d '2020-01-01 00:00:00' "$tmp/www/big.bin"
want=$(sum "$tmp/www/big.bin")

if start_server files --root "$tmp/www"; then
    server_pid=$pid
    direct="http://127.0.0.1:$port/big.bin"

    # ---- RST after N bytes on every connection, N from a few seeds ----
    for seed in 1 2 3 4; do
        after=$(((seed * 2654435761) % 700000 + 100000))
        if spawn_listening "proxy$seed" 1 "$tether" proxy --listen 127.0.0.1:0 \
            --upstream "127.0.0.1:$port" --no-api \
            --toxic "reset:stream=downstream,after_bytes=$after"; then
            proxy_pid=$pid
            out="$tmp/out$seed.bin"
            run "seed$seed" "http://127.0.0.1:$port1/big.bin" -o "$out" --retry 100 --max-time 60s
            expect "seed $seed (RST after $after bytes): exit 0 (got $rc: $(head -2 "$tmp/seed$seed.err"))" \
                [ "$rc" -eq 0 ]
            expect "seed $seed: the file's sha256 is the source's" [ "$(sum "$out")" = "$want" ]
            expect "seed $seed: no part file left" [ ! -e "$out.part" ]
            expect "seed $seed: no validator file left" [ ! -e "$out.part.validator" ]
            expect "seed $seed: one summary line, resumes counted ($(cat "$tmp/seed$seed.err"))" \
                grep -qE "^tether get: 2\.9 MiB in [0-9.]+ s \([^)]*\), [1-9][0-9]* resumes?, 0 retries -> $out\$" \
                "$tmp/seed$seed.err"
            expect "seed $seed: no progress bar when stderr is not a terminal" \
                [ "$(wc -l <"$tmp/seed$seed.err")" -eq 1 ]
            stop_pid "$proxy_pid"
        else
            fail "proxy $seed did not start: $(head -3 "$tmp/proxy$seed.err")"
        fi
    done

    # ---- giving up keeps FILE.part, never a truncated FILE; -C - continues it ----
    if spawn_listening cut 1 "$tether" proxy --listen 127.0.0.1:0 --upstream "127.0.0.1:$port" \
        --no-api --toxic "reset:stream=downstream,after_bytes=500000"; then
        cut_pid=$pid
        via="http://127.0.0.1:$port1/big.bin"
        out="$tmp/partial.bin"
        run giveup "$via" -o "$out" --retry 0
        expect "no retries: exit 1 (got $rc)" [ "$rc" -eq 1 ]
        expect "no retries: no FILE" [ ! -e "$out" ]
        expect "no retries: FILE.part holds bytes" [ -s "$out.part" ]
        expect "no retries: the strong ETag is kept beside it" \
            grep -q '^"' "$out.part.validator"
        expect "no retries: stderr names the part file ($(tail -1 "$tmp/giveup.err"))" \
            errhas giveup "kept in $out.part; -C - continues it"
        part_size=$(stat -c %s "$out.part")
        run cont "$direct" -o "$out" -C -
        expect "-C -: exit 0 (got $rc: $(head -2 "$tmp/cont.err"))" [ "$rc" -eq 0 ]
        expect "-C -: the sha256 is the source's" [ "$(sum "$out")" = "$want" ]
        expect "-C -: the summary says where it continued" errhas cont ", continued from "
        expect "-C -: part and validator gone" [ ! -e "$out.part" ] && [ ! -e "$out.part.validator" ]

        # Complete already: the server's 416 (bytes */size) means done.
        run again "$direct" -o "$out" -C -
        expect "-C - on a complete file: exit 0 (got $rc: $(head -2 "$tmp/again.err"))" [ "$rc" -eq 0 ]
        expect "-C - on a complete file: unchanged" [ "$(sum "$out")" = "$want" ]

        # The file changes between the runs: If-Range with the saved ETag gets a 200, the part
        # file is truncated, and the result is the new file, not a splice.
        rm -f "$out"
        run giveup2 "$via" -o "$out" --retry 0
        expect "second give-up kept a part file" [ -s "$out.part" ]
        head -c 2500000 /dev/urandom >"$tmp/www/big.bin"
        touch -d '2021-06-01 00:00:00' "$tmp/www/big.bin"
        want2=$(sum "$tmp/www/big.bin")
        run changed "$direct" -o "$out" -C -
        expect "changed: exit 0 (got $rc: $(head -2 "$tmp/changed.err"))" [ "$rc" -eq 0 ]
        expect "changed: the sha256 is the new file's, never spliced" [ "$(sum "$out")" = "$want2" ]
        stop_pid "$cut_pid"
    fi

    # ---- usage errors ----
    run badc "$direct" -o "$tmp/x.bin" -C 100
    expect "-C 100: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "-C 100: names the value ($(cat "$tmp/badc.err"))" errhas badc "'100'"
    run nofile "$direct" -C -
    expect "-C - without -o: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    run gzc "$direct" -o "$tmp/x.bin" -C - --compressed
    expect "-C - with --compressed: exit 2 (got $rc)" [ "$rc" -eq 2 ]
    expect "-C - with --compressed: says why ($(cat "$tmp/gzc.err"))" errhas gzc "encoded"
    run headc "$direct" -o "$tmp/x.bin" -C - -i
    expect "-C - with -i: exit 2 (got $rc)" [ "$rc" -eq 2 ]

    # ---- a download to a file has no default deadline (curl has none); stdout keeps 30 s ----
    run dl_deadline "$direct" -o "$tmp/dl.bin" -v
    expect "-o FILE: deadline none ($(grep '^\* policy' "$tmp/dl_deadline.err"))" \
        grep -q '^\* policy default: .*deadline none' "$tmp/dl_deadline.err"
    run out_deadline "$direct" -o - -v
    expect "-o -: deadline 30000 ms" grep -q '^\* policy default: .*deadline 30000 ms' \
        "$tmp/out_deadline.err"
    run dl_maxtime "$direct" -o "$tmp/dl2.bin" -v --max-time 7s
    expect "-o FILE --max-time 7s: deadline 7000 ms" \
        grep -q '^\* policy default: .*deadline 7000 ms' "$tmp/dl_maxtime.err"
    stop_pid "$server_pid"

    # ---- a failed get leaves an existing FILE, and a symlink's target, untouched ----
    # (The server is gone: its port now refuses.) curl does the same; a get used to truncate
    # FILE before connecting and remove it on failure.
    echo precious >"$tmp/report.txt"
    echo target >"$tmp/target.txt"
    ln -s "$tmp/target.txt" "$tmp/link.txt"
    run clobber "$direct" -o "$tmp/report.txt" --retry 0
    expect "refused -o FILE: exit 1 (got $rc)" [ "$rc" -eq 1 ]
    expect "refused -o FILE: FILE keeps its bytes" [ "$(cat "$tmp/report.txt")" = precious ]
    expect "refused -o FILE: no part file left" [ ! -e "$tmp/report.txt.part" ]
    run clobber_link "$direct" -o "$tmp/link.txt" --retry 0
    expect "refused -o LINK: the link is kept" [ -L "$tmp/link.txt" ]
    expect "refused -o LINK: its target keeps its bytes" [ "$(cat "$tmp/target.txt")" = target ]
fi
check_sanitizers
finish
