#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The docs ship whole: every relative link in README.md and docs/**/*.md points at a shipped file
# (and a #anchor at a heading), every docs/... path named in README.md, docs/ or a public header
# exists, a public header names docs only by their path from the root, none names the design
# notes kept outside the tree, no placeholder text is left, and the tether commands docs/fixes.md tells users to
# run use real subcommands and flags. The checker first runs on a broken fixture tree, so a
# checker that finds nothing fails the test.
source "$(dirname "$0")/harness.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
need_tether

# GitHub's heading anchor: lower case, punctuation other than '-' and '_' dropped, spaces to '-'.
slugs_of() {
    grep -E '^#{1,6} ' "$1" | sed -E 's/^#+ +//' | LC_ALL=C tr '[:upper:]' '[:lower:]' |
        sed -E 's/[^a-z0-9 _-]//g; s/ /-/g'
}

# check_docs ROOT: prints one line per problem; its output is empty when the tree is clean.
check_docs() {
    local top=$1 md dir link path frag header mention
    local -a mds
    mapfile -t mds < <(cd "$top" && { [ -f README.md ] && echo README.md; find docs -name '*.md' 2>/dev/null; } | sort)
    for md in "${mds[@]}"; do
        dir=$(dirname "$top/$md")
        # Links: ](target) with no scheme; the fragment is checked against the target's headings.
        while IFS= read -r link; do
            case $link in http://* | https://* | mailto:*) continue ;; esac
            path=${link%%#*}
            frag=""
            [ "$path" != "$link" ] && frag=${link#*#}
            if [ -z "$path" ]; then
                path=$(basename "$md")
            elif [ ! -e "$dir/$path" ]; then
                echo "$md: link to a missing file: $link"
                continue
            fi
            if [ -n "$frag" ] && [ -f "$dir/$path" ] && ! slugs_of "$dir/$path" | grep -qxF "$frag"; then
                echo "$md: link to a missing heading: $link"
            fi
        done < <(grep -oE '\]\([^) ]+\)' "$top/$md" | sed -E 's/^\]\(//; s/\)$//')
        if grep -nEi 'TODO|TBD|FIXME|XXX|coming soon' "$top/$md" >/dev/null; then
            grep -nEi 'TODO|TBD|FIXME|XXX|coming soon' "$top/$md" | sed "s|^|$md: placeholder: |"
        fi
    done
    # Paths under docs/ named in prose or in a header's "see ..." comment, relative to the root.
    for header in "${mds[@]}" $(cd "$top" && ls include/tether/*.h 2>/dev/null); do
        while IFS= read -r mention; do
            mention=${mention%.}
            [ -e "$top/$mention" ] || echo "$header: names a missing file: $mention"
        done < <(grep -oE '(^|[^A-Za-z0-9_./-])docs/[A-Za-z0-9_./-]+\.md' "$top/$header" |
            sed -E 's|^[^d]*||' | sort -u)
        # A header names a doc by its path from the root ("see docs/proxy.md"): a bare name such
        # as "client.md §6.1" points at nothing a reader of the installed header can open.
        case $header in
        include/*)
            grep -noE '(^|[^A-Za-z0-9_./-])[A-Za-z0-9_-]+\.md' "$top/$header" |
                grep -vE '(DESIGN|STYLE)\.md' | sed -E 's/^([0-9]+:)[^A-Za-z0-9_-]/\1/' |
                sed "s|^|$header: names a doc without its path from the root: |"
            ;;
        esac
        # The design notes are kept outside this tree (CONTRIBUTING.md): a path into them is dead.
        grep -noE '(DESIGN|STYLE)\.md|(anchors|seed)/[A-Za-z0-9_.-]+' "$top/$header" |
            sed "s|^|$header: names a file that does not ship: |"
    done
}

# The checker must see a broken link, a missing heading, a placeholder, a header naming a
# missing doc and a path into the design notes.
mkdir -p "$tmp/bad/docs" "$tmp/bad/include/tether"
printf '# Bad\n\n[gone](docs/gone.md) [here](#bad) [nowhere](#nowhere)\n' >"$tmp/bad/README.md"
printf '# Page\n\nTODO: write this.\n' >"$tmp/bad/docs/page.md"
printf '/* see docs/missing.md "Presets", DESIGN.md §4 */\n/* pool (client.md §6.1) */\n' \
    >"$tmp/bad/include/tether/x.h"
bad=$(check_docs "$tmp/bad")
echo "$bad" | sed 's/^/  fixture: /'
expect "a missing file is reported" grep -qF 'README.md: link to a missing file: docs/gone.md' <<<"$bad"
expect "a missing heading is reported" grep -qF 'link to a missing heading: #nowhere' <<<"$bad"
expect "an existing heading is not reported" test -z "$(grep -F '#bad' <<<"$bad")"
expect "a placeholder is reported" grep -qF 'docs/page.md: placeholder: 3:TODO' <<<"$bad"
expect "a header naming a missing doc is reported" \
    grep -qF 'include/tether/x.h: names a missing file: docs/missing.md' <<<"$bad"
expect "a header naming a doc without its path is reported" \
    grep -qF 'include/tether/x.h: names a doc without its path from the root: 2:client.md' <<<"$bad"
expect "a path into the design notes is reported" \
    grep -qF 'include/tether/x.h: names a file that does not ship: 1:DESIGN.md' <<<"$bad"

# The shipped tree.
problems=$(check_docs "$root")
[ -n "$problems" ] && echo "$problems" | sed 's/^/  /'
expect "README.md, docs/ and the public headers reference only shipped docs" test -z "$problems"
expect "README.md links docs/fixes.md" grep -qF '](docs/fixes.md)' "$root/README.md"

# Every `tether CMD --flag` in docs/fixes.md names a subcommand and flags its help lists.
while IFS= read -r cmdline; do
    sub=$(sed -E 's/^tether ([a-z]+).*/\1/' <<<"$cmdline")
    if ! help=$("$tether" help "$sub" 2>&1); then
        fail "docs/fixes.md runs an unknown command: tether $sub"
        continue
    fi
    for flag in $(grep -oE '(^| )--[a-z][a-z-]*' <<<"$cmdline" | tr -d ' ' | sort -u); do
        if grep -qE -- "(^|[ ,\[])$flag([ =,\[]|$)" <<<"$help"; then ok; else
            fail "docs/fixes.md: 'tether $sub' has no flag $flag"
        fi
    done
done < <(grep -oE 'tether (demo|serve|proxy|get|load|doctor|explain)( [^`]*)?' "$root/docs/fixes.md" |
    sort -u)
finish
