/* libFuzzer target for the model parser and everything it feeds: parse any
 * bytes as a model description; if accepted, list its op instances and plan
 * it in each mode, printing the map. Any crash, leak, out-of-bounds access
 * or undefined behaviour (ASan/UBSan) is a finding. `make fuzz` runs it
 * long, `make test-fuzz` briefly with a fixed seed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ck_fusion.h"
#include "ck_plan.h"

/* Plans hold a record per tensor: keep accepted giants (4096 layers x 16
 * sections) from turning each run into an allocation benchmark. */
#define FUZZ_MAX_LAYERS 64

static FILE *sink(void)
{
    static FILE *f;
    if (!f)
        f = fopen("/dev/null", "w");
    return f;
}

static void exercise(const ck_model *m)
{
    size_t layers = 0;
    for (size_t i = 0; i < m->n_sections; i++)
        layers += m->sections[i].n_layers;
    const ck_graph_opts gopts[] = {{0, 0, 0}, {1, 0, 0}, {1, 7, CK_DTYPE_Q8_0}, {0, 0, CK_DTYPE_Q4_0}};
    for (size_t i = 0; i < sizeof gopts / sizeof gopts[0]; i++) {
        ck_shape *s = NULL;
        size_t n = ck_model_op_instances(m, &gopts[i], &s);
        char line[256];
        for (size_t k = 0; k < n; k++)
            ck_shape_describe(&s[k], line, sizeof line);
        free(s);
    }
    if (layers > FUZZ_MAX_LAYERS)
        return;
    /* the fusion pass over every section's dataflow */
    for (size_t sec = 0; sec < m->n_sections; sec++) {
        ck_fnode *v = NULL;
        size_t n = ck_section_fnodes(m, sec, NULL, &v);
        ck_fusion_result res;
        if (n && ck_fuse(v, n, CK_FUSE_ALL, &res) == 0)
            ck_fusion_result_free(&res);
        free(v);
    }
    const ck_plan_opts popts[] = {{0, 0, 0, 0, 0}, {1, 0, 0, 8, 0}, {0, 1, 3, 4096, 0}, {0, 0, 0, 64, CK_DTYPE_Q8_0}};
    for (size_t i = 0; i < sizeof popts / sizeof popts[0]; i++) {
        ck_plan *p = NULL;
        char err[CK_ERR_LEN];
        if (ck_plan_build(m, &popts[i], &p, err, sizeof err) == 0) {
            if (sink())
                ck_plan_print_map(p, sink(), 1);
            ck_plan_record_fusion(p, m, CK_FUSE_ALL, CK_FUSE_ALL, "");
            ck_plan_free(p);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse((const char *)data, size, "fuzz.json", err, sizeof err);
    if (m)
        exercise(m);
    ck_model_free(m);
    return 0;
}
