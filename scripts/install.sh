#!/bin/sh
# make install: ckbench, the core library, the plugins, the one public header
# and a pkg-config file, under PREFIX (given with DESTDIR already applied).
set -eu
dest=$1
build=$2
prefix=${PREFIX:-$dest}
[ -x "$build/bin/ckbench" ] || { echo "install: $build/bin/ckbench is not built; run make first" >&2; exit 1; }
install -d "$dest/bin" "$dest/lib/ckernel/plugins" "$dest/include/ckernel" "$dest/lib/pkgconfig" \
    "$dest/share/doc/ckernel"
install -m 755 "$build/bin/ckbench" "$dest/bin/ckbench"
install -m 644 "$build/lib/libckernel.a" "$dest/lib/libckernel.a"
for so in "$build"/plugins/libck_*.so; do
    [ -e "$so" ] && install -m 755 "$so" "$dest/lib/ckernel/plugins/"
done
install -m 644 core/ck_plugin.h "$dest/include/ckernel/ck_plugin.h"
for d in docs/*.md; do
    [ -e "$d" ] && install -m 644 "$d" "$dest/share/doc/ckernel/"
done
abi=$(sed -n 's/^#define CK_ABI_VERSION \([0-9]*\)u$/\1/p' core/ck_plugin.h)
cat > "$dest/lib/pkgconfig/ckernel.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include/ckernel
libdir=\${prefix}/lib
plugindir=\${libdir}/ckernel/plugins
abi_version=$abi

Name: ckernel
Description: ckernel plugin ABI (ck_plugin.h) for writing kernel plugins loaded by ckbench
Version: 0.1.0
Cflags: -I\${includedir}
PC
echo "installed ckernel in $dest (plugins in $dest/lib/ckernel/plugins, pkg-config: $dest/lib/pkgconfig/ckernel.pc)"
