#!/bin/sh
# make test-install: install into a clean temporary prefix, build the example
# third-party plugin out of tree against the installed header via pkg-config,
# and check it the way an outside author would: list, then the parity gate;
# then build examples/run-model against the installed runtime and run a model.
# Also checks that every plugin we ship exports only its entry symbol.
set -eu
build=${1:-build}
top=$(pwd)
tmp=$(mktemp -d /tmp/ckernel-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
make -s install PREFIX="$prefix" B="$build" >/dev/null
cp -r examples/openblas-plugin "$tmp/example"
cd "$tmp/example"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s >/dev/null
ckbench="$prefix/bin/ckbench"
# the version, manual and completion a user looks for first
version=$(cat "$top/VERSION")
[ "$("$ckbench" --version | head -n 1)" = "ckbench $version" ] || {
    echo "test-install: the installed 'ckbench --version' does not start with 'ckbench $version'" >&2; exit 1; }
[ "$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --modversion ckernel)" = "$version" ] || {
    echo "test-install: ckernel.pc's version is not VERSION's ($version)" >&2; exit 1; }
[ -s "$prefix/share/bash-completion/completions/ckbench" ] || {
    echo "test-install: no bash completion in share/bash-completion/completions" >&2; exit 1; }
if command -v man >/dev/null 2>&1; then
    MANPATH="$prefix/share/man" man -w ckbench | grep -q "^$prefix/share/man/man1/ckbench.1" || {
        echo "test-install: 'man ckbench' does not find the installed page" >&2; exit 1; }
    MANPATH="$prefix/share/man" MANWIDTH=80 man ckbench 2>/dev/null | grep -q "ckbench bench" || {
        echo "test-install: the installed manual page does not render" >&2; exit 1; }
fi
"$ckbench" list --plugin ./libck_openblas-example.so | grep -q "runs here" || {
    echo "test-install: the example plugin does not load from the installed ckbench" >&2; exit 1; }
"$ckbench" list --brief | grep -q "^scalar" || {
    echo "test-install: the installed ckbench does not find its installed plugins" >&2; exit 1; }
"$ckbench" parity --plugin ./libck_openblas-example.so --op linear,qkv
# a program other than ckbench, on the installed runtime library alone
cp -r "$top/examples/run-model" "$tmp/run-model"
cd "$tmp/run-model"
PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -s >/dev/null
out=$(CK_PLUGIN_PATH="$prefix/lib/ckernel/plugins" ./run_model "$prefix/share/ckernel/models/tiny-gqa.json" scalar 2) || {
    echo "test-install: examples/run-model failed against the installed runtime" >&2; exit 1; }
echo "$out"
echo "$out" | grep -q "through scalar: .* (0 by scalar)" || {
    echo "test-install: examples/run-model printed no run summary" >&2; exit 1; }
cd "$top"
status=0
for so in "$prefix"/lib/ckernel/plugins/libck_*.so; do
    extra=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v -e '^ck_plugin_entry$' -e '^_init$' -e '^_fini$' || true)
    if [ -n "$extra" ]; then
        echo "test-install: $so exports more than ck_plugin_entry:" $extra >&2
        status=1
    fi
done
[ $status = 0 ] && echo "test-install: installed, example plugin built out of tree and checked; only entry symbols exported"
exit $status
