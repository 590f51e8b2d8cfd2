#!/bin/sh
# Check ckernel's build and test dependencies; as root on Debian, install what
# is missing with apt-get, otherwise print the exact apt-get line and fail.
set -eu

# package list: Debian package, and how we recognise it is there
# (chromium: the headless browser that loads the HTML report in
# tests/browser/check_report.sh, issue 10; that check skips where it is absent;
# clang-format for make format-check, bear for make compile_commands.json,
# cppcheck for make lint, groff-base for the manual page check of test_cli)
PKGS="build-essential pkg-config clang clang-format bear cppcheck groff-base libcjson-dev libbenchmark-dev libnuma-dev libpapi-dev \
libcriterion-dev libopenblas-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
chromium"

have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
    for p in $PKGS; do
        have_pkg "$p" || missing="$missing $p"
    done
else
    # not Debian: check what we can with pkg-config
    for p in libcjson benchmark numa papi criterion; do
        pkg-config --exists "$p" 2>/dev/null || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "deps: missing (pkg-config names):$missing; install them with your package manager" >&2
        exit 1
    fi
fi

# NEON cross build (issue 9): the cross-built ckbench links cJSON for arm64.
# Debian ships it as a multi-arch package, so the arm64 architecture must be
# enabled first; libcjson-dev is Multi-Arch: same, so the amd64 copy stays.
add_arm64=0
if command -v dpkg-query >/dev/null 2>&1 && ! have_pkg libcjson-dev:arm64; then
    missing="$missing libcjson-dev:arm64"
    if [ "$(dpkg --print-architecture)" != arm64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        add_arm64=1
    fi
fi

if [ -z "$missing" ]; then
    echo "deps: all present"
    exit 0
fi

line="apt-get update && apt-get install -y --no-install-recommends$missing"
if [ "$add_arm64" = 1 ]; then line="dpkg --add-architecture arm64 && $line"; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    if [ "$add_arm64" = 1 ]; then dpkg --add-architecture arm64; fi
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    echo "deps: installed"
else
    echo "deps: missing:$missing" >&2
    echo "deps: run as root: $line" >&2
    exit 1
fi
