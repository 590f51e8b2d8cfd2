/* The variants a bench run times (bench_phase.h). Decode is the decoder's
 * token loop, as the runtime's decode plan runs it (ck_graph_opts.decode):
 * its matvecs, rope at position P, attention of one query over P + 1 keys
 * with the model's grouped KV heads. Prefill is the prompt's forward, the
 * decoder's final norm and lm_head on its last row (ck_graph_opts.last_logits).
 * By default decode is timed cold — in a
 * real decode step every weight is read once per token and cannot stay in
 * cache — and prefill both ways. */
#include "bench_phase.h"

#include <stdlib.h>
#include <string.h>

#include "ck_gguf.h"
#include "ck_ir.h"
#include "ck_model.h"

/* The decoder's context length (0 without a decoder). */
static size_t decoder_seq_len(const ck_model *m)
{
    for (size_t i = 0; i < m->n_sections; i++)
        if (m->sections[i].kind == CK_SECTION_DECODER)
            return m->sections[i].seq_len;
    return 0;
}

static int filtered(const ck_bench_opts *o)
{
    int any = 0;
    for (int op = 0; op < CK_OP_COUNT; op++)
        any |= o->op_filter[op];
    return any;
}

static int kept(const ck_bench_opts *o, const ck_shape *s)
{
    return !filtered(o) || (s->op < CK_OP_COUNT && o->op_filter[s->op]);
}

/* Append the instances of one phase; -1 on a refusal (err said). */
static int add_phase(const ck_bench_opts *o, const ck_model *m, int decode, size_t pos, ck_bench_variant **list,
                     size_t *n, char *err, size_t err_len)
{
    /* prefill as a prompt is run (bench --e2e's pp, llama-bench's): the
     * decoder's footer on the last row only, its logits pick the next token */
    ck_graph_opts go = {.decode = decode, .decode_pos = pos, .weight_dtype = o->weight_dtype, .last_logits = !decode};
    if (ck_graph_opts_check(m, &go, err, err_len) != 0)
        return -1;
    ck_shape *shapes = NULL;
    size_t k = ck_model_op_instances(m, &go, &shapes);
    int cache = o->cache ? o->cache : decode ? CK_CACHE_COLD : CK_CACHE_COLD | CK_CACHE_HOT;
    ck_bench_variant *grown = realloc(*list, (*n + 2 * k + 1) * sizeof *grown);
    if (!grown) {
        free(shapes);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    *list = grown;
    for (size_t i = 0; i < k; i++) {
        if (!kept(o, &shapes[i]))
            continue;
        for (int cold = 0; cold < 2; cold++)
            if (cache & (cold ? CK_CACHE_COLD : CK_CACHE_HOT))
                grown[(*n)++] = (ck_bench_variant){shapes[i], decode ? "decode" : "prefill", cold};
    }
    free(shapes);
    return 0;
}

size_t ck_bench_variants(const ck_bench_opts *o, char *model_name, size_t name_len, size_t *pos, ck_bench_variant **out,
                         char *err, size_t err_len)
{
    *out = NULL;
    ck_model *m = ck_model_open(o->model_path, err, err_len); /* a .json or a .gguf */
    if (!m)
        return 0;
    snprintf(model_name, name_len, "%s", ck_model_name(m));
    int phases = o->phases ? o->phases : CK_PHASE_PREFILL | CK_PHASE_DECODE;
    size_t seq = decoder_seq_len(m);
    *pos = o->decode_pos >= 0 ? (size_t)o->decode_pos : seq / 2;
    if ((phases & CK_PHASE_DECODE) && !seq) {
        if (o->phases & CK_PHASE_DECODE) { /* asked for: refuse; by default: prefill only */
            snprintf(err, err_len, "%s: --phase decode: the model has no decoder section", o->model_path);
            ck_model_free(m);
            return 0;
        }
        phases &= ~CK_PHASE_DECODE;
    }
    ck_bench_variant *list = NULL;
    size_t n = 0;
    int bad = ((phases & CK_PHASE_PREFILL) && add_phase(o, m, 0, 0, &list, &n, err, err_len)) ||
              ((phases & CK_PHASE_DECODE) && add_phase(o, m, 1, *pos, &list, &n, err, err_len));
    ck_model_free(m);
    if (!bad && n == 0)
        snprintf(err, err_len, "%s: no op instances%s", o->model_path, filtered(o) ? " match --op" : "");
    int applies = 0;
    for (size_t i = 0; !bad && i < n; i++)
        applies |= ck_compute_applies(list[i].shape.op, list[i].shape.dtype);
    if (!bad && n > 0 && o->compute == CK_COMPUTE_BF16 && !applies) {
        snprintf(err, err_len, "--compute bf16 applies to linear / qkv with bf16 weights, and %s has none%s",
                 o->model_path, " (add --weight-dtype bf16)");
        bad = 1;
    }
    if (bad || n == 0) {
        free(list);
        return 0;
    }
    *out = list;
    return n;
}
