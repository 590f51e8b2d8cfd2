#!/bin/sh
# make lint: cppcheck over the product code (core, ir, runtime, harness,
# plugins, examples) with warnings, portability and performance checks.
# Zero findings, or a documented suppression:
#   - inline, `// cppcheck-suppress <id>` on the line, with the reason in a
#     comment above it;
#   - project-wide, in scripts/cppcheck-suppressions.txt, one id a line, each
#     explained here:
#       invalidPointerCast  byte offsets into the one arena (char *) are cast to
#                           the f32 tensors planned there; the planner aligns
#                           them, and float is IEEE binary32 on every target
#       memsetClassFloat    the C++ benchmark shim zeroes plain structs of
#                           doubles, where all-zero bits are 0.0 in IEEE
# Tests are not linted: Criterion's macros need a configuration cppcheck
# lacks, and the sanitizer runs cover them.
# plugins/neon is AArch64-only (#error elsewhere); the cross build checks it.
set -eu
command -v cppcheck >/dev/null || { echo "lint: cppcheck is missing; 'make deps' installs it" >&2; exit 1; }
out=$(cppcheck -q --enable=warning,portability,performance --std=c11 --inline-suppr \
    --suppressions-list=scripts/cppcheck-suppressions.txt --suppress=missingIncludeSystem \
    --include=scripts/cppcheck-defs.h \
    -Iinclude/ckernel -Icore -Iir -Iruntime -Iharness -Iplugins/shared -D__GNUC__ -D_GNU_SOURCE \
    -i plugins/neon -j2 --template='{file}:{line}: {severity}: {id}: {message}' \
    core ir runtime harness plugins examples 2>&1 | grep -E '^[^ ]+:[0-9]+: ' || true)
if [ -n "$out" ]; then
    echo "$out" >&2
    echo "lint: $(echo "$out" | wc -l) cppcheck finding(s); fix them or suppress with a reason (scripts/lint.sh)" >&2
    exit 1
fi
echo "lint: cppcheck found nothing in core, ir, runtime, harness, plugins, examples"
