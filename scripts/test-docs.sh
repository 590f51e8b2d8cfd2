#!/bin/sh
# Every ckbench command shown in README.md and docs/cli.md (the lines of
# fenced ``` blocks and of 4-space indented blocks that start with `ckbench`
# or `build/bin/ckbench`), run in that order against an installed prefix from
# a directory outside the source tree, as a new user would. Fails if any
# exits non-zero. Called by scripts/test-install.sh.
#
# The commands are made small, never otherwise changed:
#   build/bin/ckbench, ckbench    -> PREFIX/bin/ckbench
#   ir/models/M.json              -> PREFIX/share/ckernel/models/M.json (the installed models)
#   llava (whole word)            -> tiny-llava (LLaVA itself takes minutes per command)
#   ./libmine.so, ./libck_mine.so -> the example plugin built out of tree (PLUGIN)
#   avx512, avx2                  -> scalar, where `ckbench list` says they do not run here
#   bench and the headline        -> + --min-time 0.001
#   fusion                        -> + --repetitions 1
#   calibrate                     -> + --quick
# and a trailing "# comment" is dropped.
# usage: scripts/test-docs.sh PREFIX PLUGIN [SOURCE_DIR]
set -eu
prefix=$1
plugin=$2
src=${3:-$(pwd)}
ckbench="$prefix/bin/ckbench"
work=$(mktemp -d /tmp/ckernel-docs.XXXXXX)
trap 'rm -rf "$work"' EXIT

# the ckbench lines of the code blocks of README.md and docs/cli.md
extract() {
    awk '/^```/ { fenced = !fenced; next }
         { line = $0 }
         !fenced && line ~ /^    / { sub(/^    /, "", line); indented = 1 }
         (fenced || indented) && line ~ /^(build\/bin\/)?ckbench / { print line }
         { indented = 0 }' "$1"
}

runs_here() {
    "$ckbench" list --brief 2>/dev/null | grep -q "^$1 .*runs here"
}

small() {
    line=$(printf '%s\n' "$1" | sed -e 's/[[:space:]]*#.*$//' \
        -e "s|^build/bin/ckbench |$ckbench |" -e "s|^ckbench |$ckbench |" \
        -e "s|ir/models/\([A-Za-z0-9._-]*\)\.json|$prefix/share/ckernel/models/\1.json|g" \
        -e 's/\([^-A-Za-z]\)llava\([^-A-Za-z]\|$\)/\1tiny-llava\2/g' \
        -e "s|\./libmine\.so|$plugin|g" -e "s|\./libck_mine\.so|$plugin|g")
    for p in avx512 avx2; do
        runs_here $p || line=$(printf '%s\n' "$line" | sed "s/\([ ,]\)$p\([ ,]\|$\)/\1scalar\2/g")
    done
    case "$line" in
    "$ckbench bench "* | "$ckbench --plugin "*) line="$line --min-time 0.001" ;;
    "$ckbench fusion "*) line="$line --repetitions 1" ;;
    "$ckbench calibrate"*) line="$line --quick" ;;
    esac
    printf '%s\n' "$line"
}

cd "$work"
n=0
failed=0
start=$(date +%s)
for doc in README.md docs/cli.md; do
    extract "$src/$doc" >"$work/lines"
    [ -s "$work/lines" ] || { echo "test-docs: no ckbench command found in $doc" >&2; exit 1; }
    while IFS= read -r shown; do
        cmd=$(small "$shown")
        n=$((n + 1))
        rc=0
        sh -c "$cmd" >"$work/out.$n" 2>&1 </dev/null || rc=$?
        case "$cmd" in
        "$ckbench diff "*) [ "$rc" = 1 ] && rc=0 ;; # diff's documented status for "they differ"
        esac
        if [ "$rc" = 0 ]; then
            echo "ok   $doc: $shown"
        else
            echo "FAIL $doc: $shown" >&2
            echo "     ran: $cmd (exit $rc)" >&2
            tail -n 5 "$work/out.$n" | sed 's/^/     | /' >&2
            failed=$((failed + 1))
        fi
    done <"$work/lines"
done
echo "test-docs: $n commands from README.md and docs/cli.md, $failed failed, $(($(date +%s) - start)) s"
[ "$failed" = 0 ]
