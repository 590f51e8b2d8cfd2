#!/bin/sh
# Run every Criterion test binary given; fail if any fails, but run them all.
set -u
status=0
for t in "$@"; do
    echo "== $t"
    if ! "$t" --jobs 2; then
        echo "FAILED: $t" >&2
        status=1
    fi
done
exit $status
