# Q8_0 / Q4_0 weights (GGUF block layout). One .so for every machine: the
# SIMD kernel files carry their ISA in function-level target attributes and
# the entry picks a path from CPUID at run time, so no file-wide ISA flags.
# The scalar path and the activation quantiser are the reference files
# both this plugin and scalar compile (plugins/shared/quant/).
PLUGINS += quant
quant_ARCH      := any
# The reference quantisation (plugins/shared/quant/) is compiled here a
# second time, as .base.o objects, so the two plugins never share an object
# built with different flags.
quant_REF_SRCS  := $(wildcard plugins/shared/quant/*.c)
quant_BASE_SRCS := plugins/quant/plugin.c $(quant_REF_SRCS)
quant_SRCS      := $(filter-out plugins/quant/plugin.c,$(wildcard plugins/quant/*.c))
quant_CFLAGS    :=
quant_LIBS      :=
