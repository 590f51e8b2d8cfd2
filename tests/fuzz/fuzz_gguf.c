/* libFuzzer target for the GGUF reader and the model it describes: parse any
 * bytes as a GGUF file (header, metadata, tensor directory, data bounds); if
 * accepted, build the model from its metadata and tensors, and if that is
 * accepted too, plan it. Any crash, leak, out-of-bounds access or undefined
 * behaviour (ASan/UBSan) is a finding. Seeds: tests/fuzz/seeds-gguf. */
#include <stdint.h>
#include <stdlib.h>

#include "ck_gguf.h"
#include "ck_plan.h"

/* keep accepted giants from turning each run into an allocation benchmark */
#define FUZZ_MAX_LAYERS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_gguf g;
    char err[512];
    if (ck_gguf_parse(&g, data, size, "fuzz.gguf", err, sizeof err) != 0)
        return 0;
    ck_model *m = ck_gguf_model(&g, "fuzz.gguf", err, sizeof err);
    if (m && m->sections[0].n_layers <= FUZZ_MAX_LAYERS) {
        ck_plan *p = NULL;
        if (ck_plan_build(m, &(ck_plan_opts){0}, &p, err, sizeof err) == 0)
            ck_plan_free(p);
    }
    ck_model_free(m);
    ck_gguf_close(&g);
    return 0;
}
