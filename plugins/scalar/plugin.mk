# The scalar reference: plain C, no ISA flags, runs everywhere. It defines
# the semantics of every op (docs/ops.md); every other plugin is checked
# against it.
PLUGINS += scalar
scalar_ARCH      := any
scalar_BASE_SRCS := plugins/scalar/plugin.c
scalar_SRCS      := $(filter-out $(scalar_BASE_SRCS),$(wildcard plugins/scalar/*.c)) \
                    $(wildcard plugins/shared/quant/*.c)
scalar_CFLAGS    :=
scalar_LIBS      :=
