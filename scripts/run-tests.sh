#!/bin/sh
# Run every Criterion test binary given, CK_TEST_PARALLEL of them at a time
# (default 2: most binaries hold one or two tests, so one binary at a time
# left a core idle for most of `make test`); fail if any fails, but run
# them all. Each binary's output is printed whole when it ends, under its
# name, so the logs of two binaries never interleave.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/ck-run-tests.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export CK_RUN_TESTS_DIR="$dir"
printf '%s\n' "$@" | xargs -P "${CK_TEST_PARALLEL:-2}" -I{} sh -c '
    t=$1
    log="$CK_RUN_TESTS_DIR/$(echo "$t" | tr / _).log"
    if "$t" --jobs 2 >"$log" 2>&1; then
        verdict=""
    else
        verdict="FAILED: $t"
        echo "$t" >>"$CK_RUN_TESTS_DIR/failed"
    fi
    flock "$CK_RUN_TESTS_DIR/print" sh -c "echo \"== \$0\"; cat \"\$1\"; [ -z \"\$2\" ] || echo \"\$2\" >&2" "$t" "$log" "$verdict"
' sh {}
if [ -s "$dir/failed" ]; then
    echo "failed: $(tr '\n' ' ' <"$dir/failed")" >&2
    exit 1
fi
exit 0
