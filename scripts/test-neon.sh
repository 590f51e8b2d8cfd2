#!/bin/sh
# The NEON parity gate (issue 9): cross-build the core, ckbench, the scalar
# reference and the neon plugin for AArch64, then check neon against scalar
# under qemu-aarch64. On an AArch64 machine the same runs natively.
#
# Skips (exit 0, with a message) only when the cross tools are absent; any
# build or parity failure fails. Outputs: <build dir>/parity-neon-K.{json,xml,log},
# one per shard K.
#
# Variables: CROSS (aarch64-linux-gnu-), NEON_PARITY_MODEL (a model whose op
# instances are checked besides the edge suite; empty for the edge suite only),
# NEON_BUILD_DIR (default build-aarch64, or build on an AArch64 machine),
# JOBS (make -j), NEON_SHARDS (gates run at once, default JOBS).
set -eu

CROSS=${CROSS:-aarch64-linux-gnu-}
MODEL=${NEON_PARITY_MODEL-ir/models/tiny-llava.json}
JOBS=${JOBS:-2}
start=$(date +%s)

if [ "$(uname -m)" = aarch64 ]; then
    B=${NEON_BUILD_DIR:-build}
    make_args="B=$B"
    run() { "$@"; }
    where="natively"
else
    missing=""
    command -v "${CROSS}gcc" >/dev/null 2>&1 || missing="$missing ${CROSS}gcc (gcc-aarch64-linux-gnu)"
    command -v qemu-aarch64 >/dev/null 2>&1 || missing="$missing qemu-aarch64 (qemu-user)"
    [ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] ||
        missing="$missing the AArch64 C library (libc6-dev-arm64-cross)"
    if [ -n "$missing" ]; then
        echo "test-neon: SKIPPED: cross tools absent:$missing; 'make deps' (as root) installs them"
        exit 0
    fi
    if [ ! -e /usr/lib/aarch64-linux-gnu/pkgconfig/libcjson.pc ]; then
        echo "test-neon: cJSON for arm64 is missing (libcjson-dev:arm64); run 'make deps' as root" >&2
        exit 1
    fi
    B=${NEON_BUILD_DIR:-build-aarch64}
    make_args="CROSS=$CROSS B=$B"
    # -L: the AArch64 loader and libraries of the cross toolchain. The
    # LD_LIBRARY_PATH pins libc.so.6 to that same toolchain: without it the
    # loader also finds the multi-arch libc6:arm64 (pulled in by
    # libcjson1:arm64), a different glibc build than the cross ld.so, and
    # the child of every fork() then spins forever under qemu.
    run() { qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib "$@"; }
    where="under qemu-aarch64 ($(qemu-aarch64 --version | head -n 1))"
fi

echo "test-neon: building core, ckbench, scalar and neon for aarch64 in $B"
# shellcheck disable=SC2086
make --no-print-directory -j"$JOBS" $make_args "$B/bin/ckbench" "$B/plugins/libck_scalar.so" \
    "$B/plugins/libck_neon.so"

export CK_PLUGIN_PATH="$B/plugins"
echo "test-neon: ckbench list $where"
run "$B/bin/ckbench" list --brief

model_args=""
if [ -n "$MODEL" ]; then
    if [ ! -f "$MODEL" ]; then
        echo "test-neon: NEON_PARITY_MODEL=$MODEL: no such file" >&2
        exit 2
    fi
    model_args="--model $MODEL"
fi
# One gate under qemu ran on one core of two (82 s here): SHARDS processes
# at once (ckbench parity --shard), each with its own report files, their
# logs printed in order when all have ended.
SHARDS=${NEON_SHARDS:-$JOBS}
echo "test-neon: ckbench parity --plugin neon $model_args $where, $SHARDS shards at once"
status=0
k=0
pids=""
while [ "$k" -lt "$SHARDS" ]; do
    # shellcheck disable=SC2086
    run "$B/bin/ckbench" parity --plugin neon $model_args --shard "$k/$SHARDS" \
        --json "$B/parity-neon-$k.json" --junit "$B/parity-neon-$k.xml" >"$B/parity-neon-$k.log" 2>&1 &
    pids="$pids $!"
    k=$((k + 1))
done
k=0
for pid in $pids; do
    rc=0
    wait "$pid" || rc=$?
    cat "$B/parity-neon-$k.log"
    [ "$rc" -eq 0 ] || { echo "test-neon: shard $k/$SHARDS: ckbench parity exit $rc" >&2; status=$rc; }
    k=$((k + 1))
done

elapsed=$(($(date +%s) - start))
if [ "$status" -ne 0 ]; then
    echo "test-neon: FAILED (ckbench parity exit $status) after ${elapsed}s" >&2
    exit 1
fi
echo "test-neon: passed in ${elapsed}s (correctness only: speed under emulation means nothing; see plugins/neon/README.md)"
