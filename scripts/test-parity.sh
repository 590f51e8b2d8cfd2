#!/bin/sh
# make test-parity: the gate on every plugin (the edge suite), the reference
# on itself, then each of MODELS' instances (--suite model), as two lanes at
# once: the edge suite and the reference in one, the models in the other (on
# 2 cores one gate at a time left one idle: 60 s one after another, 36 s
# as two lanes). Each run's output goes to its log; the logs are printed in
# that order when both lanes have ended, the failures named.
# usage: scripts/test-parity.sh BUILD_DIR CKBENCH MODEL...
set -u
b=$1
ckbench=$2
shift 2
edge() {
    "$ckbench" parity --plugin all --json "$b/parity.json" --junit "$b/parity.xml" >"$b/parity-all.log" 2>&1 ||
        echo "parity --plugin all: exit $?" >>"$b/parity-lanes.failed"
    "$ckbench" parity --plugin scalar --json "$b/parity-scalar.json" >"$b/parity-scalar.log" 2>&1 ||
        echo "parity --plugin scalar (the reference on itself): exit $?" >>"$b/parity-lanes.failed"
}
models() {
    for m in "$@"; do
        "$ckbench" parity --plugin all --model "ir/models/$m.json" --suite model --json "$b/parity-$m.json" \
            --junit "$b/parity-$m.xml" >"$b/parity-$m.log" 2>&1 ||
            echo "parity --model $m: exit $?" >>"$b/parity-lanes.failed"
    done
}
rm -f "$b/parity-lanes.failed"
edge &
lane=$!
models "$@"
wait "$lane"
cat "$b/parity-all.log"
echo "parity --plugin scalar: the reference on itself (log: $b/parity-scalar.log)"
grep FAIL "$b/parity-scalar.log"
tail -n 1 "$b/parity-scalar.log"
for m in "$@"; do
    echo "parity --model $m (log: $b/parity-$m.log)"
    grep FAIL "$b/parity-$m.log"
    tail -n 1 "$b/parity-$m.log"
done
if [ -s "$b/parity-lanes.failed" ]; then
    cat "$b/parity-lanes.failed" >&2
    exit 1
fi
exit 0
