#!/bin/sh
# make install: ckbench with its manual page and bash completion, the
# libraries (core, ir, runtime), the plugins, the plugin ABI header, the
# runtime's headers, the model files and two pkg-config files, under PREFIX
# (given with DESTDIR already applied):
#   ckernel          the plugin ABI (ck_plugin.h) for writing plugins
#   ckernel-runtime  ck_runtime.h and the libraries, for programs that plan and run models
set -eu
dest=$1
build=$2
prefix=${PREFIX:-$dest}
[ -x "$build/bin/ckbench" ] || { echo "install: $build/bin/ckbench is not built; run make first" >&2; exit 1; }
install -d "$dest/bin" "$dest/lib/ckernel/plugins" "$dest/include/ckernel" "$dest/lib/pkgconfig" \
    "$dest/share/doc/ckernel" "$dest/share/ckernel/models" "$dest/share/man/man1" \
    "$dest/share/bash-completion/completions"
install -m 755 "$build/bin/ckbench" "$dest/bin/ckbench"
install -m 644 "$build/man/ckbench.1" "$dest/share/man/man1/ckbench.1"
install -m 644 scripts/ckbench.bash-completion "$dest/share/bash-completion/completions/ckbench"
install -m 644 "$build/lib/libckernel.a" "$dest/lib/libckernel.a"
install -m 644 "$build/lib/libckir.a" "$dest/lib/libckir.a"
install -m 644 "$build/lib/libckruntime.a" "$dest/lib/libckruntime.a"
for so in "$build"/plugins/libck_*.so; do
    [ -e "$so" ] && install -m 755 "$so" "$dest/lib/ckernel/plugins/"
done
install -m 644 include/ckernel/ck_plugin.h "$dest/include/ckernel/ck_plugin.h"
# the runtime's public header and what it includes, layer by layer
for h in core/ck_host.h core/ck_arena.h ir/ck_model.h ir/ck_ir.h ir/ck_plan.h ir/ck_fusion.h \
         runtime/ck_run.h runtime/ck_train.h runtime/ck_gguf.h runtime/ck_share.h runtime/ck_runtime.h; do
    install -m 644 "$h" "$dest/include/ckernel/"
done
for m in ir/models/*.json; do
    install -m 644 "$m" "$dest/share/ckernel/models/"
done
for d in docs/*.md; do
    [ -e "$d" ] && install -m 644 "$d" "$dest/share/doc/ckernel/"
done
version=$(cat VERSION)
abi=$(sed -n 's/^#define CK_ABI_VERSION \([0-9]*\)u$/\1/p' include/ckernel/ck_plugin.h)
cat > "$dest/lib/pkgconfig/ckernel.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include/ckernel
libdir=\${prefix}/lib
plugindir=\${libdir}/ckernel/plugins
abi_version=$abi

Name: ckernel
Description: ckernel plugin ABI (ck_plugin.h) for writing kernel plugins loaded by ckbench
Version: $version
Cflags: -I\${includedir}
PC
numa=""
[ "${WITH_NUMA:-1}" = 1 ] && numa="-lnuma"
cat > "$dest/lib/pkgconfig/ckernel-runtime.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include/ckernel
libdir=\${prefix}/lib
plugindir=\${libdir}/ckernel/plugins
modeldir=\${prefix}/share/ckernel/models

Name: ckernel-runtime
Description: ckernel model runtime (ck_runtime.h): plan a model, load plugins, run or train it
Version: $version
Cflags: -I\${includedir}
Libs: -L\${libdir} -lckruntime -lckir -lckernel -lcjson $numa -ldl -lm -lpthread
PC
echo "installed ckernel in $dest (plugins in $dest/lib/ckernel/plugins, pkg-config: $dest/lib/pkgconfig/ckernel.pc)"
