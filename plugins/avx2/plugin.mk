# AVX2 + FMA plugin (x86-64). plugin.c holds the entry point and the CPUID
# probe and is compiled without ISA flags, so that a CPU without AVX2 gets the
# probe's sentence instead of SIGILL; only the kernel files get the ISA flags.
PLUGINS += avx2
avx2_ARCH      := x86_64
avx2_BASE_SRCS := plugins/avx2/plugin.c
avx2_SRCS      := $(filter-out $(avx2_BASE_SRCS),$(wildcard plugins/avx2/*.c))
avx2_CFLAGS    := -mavx2 -mfma -mf16c
avx2_LIBS      :=
