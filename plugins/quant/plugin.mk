# Q8_0 / Q4_0 weights (GGUF block layout). One .so for every machine: the
# SIMD kernel files carry their ISA in function-level target attributes and
# the entry picks a path from CPUID at run time, so no file-wide ISA flags.
# The scalar path and the activation quantiser are the scalar plugin's
# reference files, compiled here a second time (as .base.o objects, so the
# two plugins never share an object built with different flags).
PLUGINS += quant
quant_ARCH      := any
# The reference files named one by one: plugins/scalar/quant-*.c also holds
# scalar-only kernels (quant-embedding-scalar.c) that need the scalar
# plugin's helpers.
quant_REF_SRCS  := $(addprefix plugins/scalar/quant-,linear-driver.c \
                     q8_0-quantize-scalar.c q4_0-quantize-scalar.c \
                     q8_0-dequantize-scalar.c q4_0-dequantize-scalar.c \
                     q8_0-linear-scalar.c q4_0-linear-scalar.c)
quant_BASE_SRCS := plugins/quant/plugin.c $(quant_REF_SRCS)
quant_SRCS      := $(filter-out plugins/quant/plugin.c,$(wildcard plugins/quant/*.c))
quant_CFLAGS    :=
quant_LIBS      :=
