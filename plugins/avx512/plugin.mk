# avx512: x86-64 AVX-512 F/BW/VL, plus AVX512_BF16 kernels chosen at run time.
PLUGINS += avx512
avx512_ARCH      := x86_64
avx512_BASE_SRCS := plugins/avx512/plugin.c
# Files named *-avx512bf16.c use vdpbf16ps: they get one more ISA flag and are
# only called when the plugin saw avx512_bf16 in CPUID. The generic plugin
# rule gives every file of <p>_SRCS the same flags, so they are compiled by
# the generic object rule with their own flags and linked in as extra
# prerequisites of the shared object.
avx512_BF16_SRCS := $(wildcard plugins/avx512/*-avx512bf16.c)
avx512_SRCS      := $(filter-out $(avx512_BASE_SRCS) $(avx512_BF16_SRCS),$(wildcard plugins/avx512/*.c))
avx512_CFLAGS    := -mavx512f -mavx512bw -mavx512vl -mfma
avx512_LIBS      :=
avx512_BF16_OBJ  := $(avx512_BF16_SRCS:%.c=$(B)/obj/%.o)
$(avx512_BF16_OBJ): EXTRA_CFLAGS := $(PLUGIN_CFLAGS) $(avx512_CFLAGS) -mavx512bf16
$(B)/plugins/libck_avx512.so: $(avx512_BF16_OBJ)
