# NEON plugin: AArch64 only, cross-built with `make CROSS=aarch64-linux-gnu-`
# and parity-tested under qemu-aarch64 by scripts/test-neon.sh.
# ASIMD (NEON) is part of the AArch64 base ISA, so the kernels need no -march
# flags; the dot-product and BF16 extensions are only reported by the probe.
PLUGINS += neon
neon_ARCH      := aarch64
neon_BASE_SRCS := plugins/neon/plugin.c
neon_SRCS      := $(filter-out $(neon_BASE_SRCS),$(wildcard plugins/neon/*.c))
neon_CFLAGS    :=
neon_LIBS      :=
