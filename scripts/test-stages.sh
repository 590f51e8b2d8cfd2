#!/bin/sh
# make test: runs each stage (a make target) in order, keeps going past a
# failure so one run shows every verdict, and ends with a one-screen summary:
# each stage passed / FAILED / skipped with its time. A stage is skipped when
# it prints a line "<name>: SKIPPED: <reason>" and exits 0 (as test-neon does
# without cross tools). Each stage's output is also kept in LOGDIR/<stage>.log.
# Colour only on a terminal and never when NO_COLOR is set.
#   sh scripts/test-stages.sh LOGDIR MAKE stage...
# Exit 0 when no stage failed, else 1.
set -u
logdir=$1
make=$2
shift 2
mkdir -p "$logdir"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
    red=$(printf '\033[31m') green=$(printf '\033[32m') yellow=$(printf '\033[33m') off=$(printf '\033[0m')
else
    red="" green="" yellow="" off=""
fi
summary=""
failed=0 passed=0 skipped=0
begin=$(date +%s)
for stage in "$@"; do
    log="$logdir/$stage.log"
    printf '\n== %s\n' "$stage"
    t0=$(date +%s.%N)
    # the stage's status travels past tee through a file
    { $make --no-print-directory "$stage" 2>&1; echo $? >"$log.rc"; } | tee "$log"
    rc=$(cat "$log.rc")
    rm -f "$log.rc"
    t=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.1f s", $2 - $1 }')
    why=$(sed -n 's/^[A-Za-z0-9_-]*: SKIPPED: //p' "$log" | head -n 1)
    if [ "$rc" != 0 ]; then
        verdict="${red}FAILED ${off}" note="see $log"
        failed=$((failed + 1))
    elif [ -n "$why" ]; then
        verdict="${yellow}skipped${off}" note=$why
        skipped=$((skipped + 1))
    else
        verdict="${green}passed ${off}" note=""
        passed=$((passed + 1))
    fi
    summary="$summary$(printf '  %-22s %s %9s' "$stage" "$verdict" "$t")${note:+  $note}
"
done
total=$(($(date +%s) - begin))
printf '\n== make test: summary\n%s' "$summary"
printf 'make test: %d passed, %d failed, %d skipped in %dm %02ds\n' \
    "$passed" "$failed" "$skipped" $((total / 60)) $((total % 60))
[ "$failed" = 0 ]
