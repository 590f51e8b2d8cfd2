#!/bin/sh
# What --share costs a running model (issue 22): run and train-step of a
# mid-size decoder, each ROUNDS times, interleaved: private arena; shared
# arena; shared arena with `ckbench inspect --watch S` attached (default
# every second), reading the tensors matching GLOB (default one layer's,
# 'text.layer.2.*': weights, gradients and moments, 50 MB in training).
# run's time is its printed forward (weight seeding included); train-step's
# the mean step of --time 5. Prints the median of ROUNDS for each, and the
# rounds. On a small shared machine the spread between rounds is large:
# compare medians of many rounds, and expect a reader that copies tens of MB
# often to compete with the writer for cores and cache.
# Usage: sh scripts/observe-overhead.sh [PLUGIN] [ROUNDS] [GLOB] [S]   (from the repo root, after make)
set -eu
CK=${CK_CKBENCH:-build/bin/ckbench}
PLUGIN=${1:-avx512}
ROUNDS=${2:-7}
GLOB=${3:-text.layer.2.*}
EVERY=${4:-1}
TMP=$(mktemp -d)
NAME=overhead-$$
trap 'kill $INSPECTOR 2>/dev/null || true; rm -rf "$TMP" /dev/shm/ckernel-$NAME /dev/shm/ckernel-$NAME.*' EXIT
INSPECTOR=
cat > "$TMP/mid.json" <<'JSON'
{"name": "mid-decoder", "dtype": "f32", "sections": [{"name": "text", "kind": "decoder", "n_layers": 6,
 "d_model": 512, "n_heads": 8, "head_dim": 64, "d_ff": 1408, "seq_len": 256, "vocab": 4096,
 "norm": "rmsnorm", "activation": "swiglu", "position": "rope", "rope_theta": 10000}]}
JSON

# the inspector: reattaches to each new writer, a snapshot every EVERY seconds
watch_loop() {
    while :; do
        "$CK" inspect "$NAME" --tensor "$GLOB" --watch "$EVERY" --json >/dev/null 2>&1 || sleep 0.1
    done
}

# one timing: run's forward seconds, or train-step's ms per step (--time)
one() { # what mode
    share=
    rm -f /dev/shm/ckernel-$NAME /dev/shm/ckernel-$NAME.* # the inspector must not find the last round's
    [ "$2" = plain ] || share="--share $NAME"
    if [ "$2" = inspected ]; then watch_loop & INSPECTOR=$!; fi
    if [ "$1" = run ]; then
        "$CK" run --plugin "$PLUGIN" --model "$TMP/mid.json" --threads 1 $share |
            sed -n 's/.* threads, \([0-9.]*\) s$/\1/p' | awk '{print $1 * 1000}'
    else
        "$CK" train-step --plugin "$PLUGIN" --model "$TMP/mid.json" --threads 1 --steps 2 --time 5 $share |
            awk 'NF == 2 && $1 == "step" {print $2}'
    fi
    if [ -n "$INSPECTOR" ]; then kill $INSPECTOR; wait $INSPECTOR 2>/dev/null || true; INSPECTOR=; fi
}

for what in run train-step; do
    for mode in plain shared inspected; do : > "$TMP/$what-$mode"; done
    i=0
    while [ $i -lt "$ROUNDS" ]; do
        for mode in plain shared inspected; do one $what $mode >> "$TMP/$what-$mode"; done
        i=$((i + 1))
    done
    for mode in plain shared inspected; do
        printf '%-10s %-10s median %8.2f ms  (%s)\n' "$what" "$mode" \
            "$(sort -n "$TMP/$what-$mode" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')" \
            "$(tr '\n' ' ' < "$TMP/$what-$mode")"
    done
done
