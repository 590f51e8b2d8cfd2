/* run.c — the whole-model executor's public API (ck_run.h): create, run
 * step by step or whole, accessors. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "run_internal.h"

int run_failf(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A private arena asks for transparent hugepages: a decode step streams
 * every weight once, and on 4 KiB pages a kernel reading several weight
 * rows side by side reads DRAM 5-15% slower on the development VM (and
 * bench times its kernels on such pages, harness/common/hugepages.c), so
 * base pages would run slower than the machine allows. hugetlbfs pages
 * would need pages reserved by the administrator: not the default. */
static int map_arena(ck_runner *r, char *err, size_t len)
{
    const ck_arena_opts thp = {CK_HUGEPAGES_THP, CK_NUMA_DEFAULT, 0};
    if (!r->opts.share_name)
        return ck_arena_map(&r->arena, r->plan->total, &thp, err, len);
    if (!(r->share = ck_share_create(r->opts.share_name, r->plan, r->opts.window_layers == 0, &r->arena, err, len)))
        return -1;
    r->share_h = ck_share_hdr(r->share);
    return 0;
}

/* Each unit's seqlock slot, and its label published for readers. */
static int share_units(ck_runner *r, char *err, size_t len)
{
    for (size_t i = 0; i < r->n_units; i++)
        r->units[i].slot = ck_share_slot(r->plan, r->units[i].pub.section, r->units[i].pub.part, r->units[i].pub.layer);
    if (!r->share)
        return 0;
    const char **labels = malloc((r->n_units + 1) * sizeof *labels);
    if (!labels)
        return run_failf(err, len, "out of memory");
    for (size_t i = 0; i < r->n_units; i++)
        labels[i] = r->units[i].pub.label;
    int rc = ck_share_publish_ops(r->share, labels, r->n_units, err, len);
    free(labels);
    return rc;
}

ck_runner *ck_runner_create(const ck_model *m, const ck_plugin *plugin, const ck_plugin *scalar,
                            const ck_run_opts *opts, char *err, size_t err_len)
{
    return ck_runner_create_chain(m, &plugin, 1, scalar, opts, err, err_len);
}

ck_runner *ck_runner_create_chain(const ck_model *m, const ck_plugin *const *plugins, size_t n, const ck_plugin *scalar,
                                  const ck_run_opts *opts, char *err, size_t err_len)
{
    if (n < 1 || n > CK_CHAIN_MAX) {
        run_failf(err, err_len, "a chain has 1 to %d plugins, not %zu", CK_CHAIN_MAX, n);
        return NULL;
    }
    ck_runner *r = calloc(1, sizeof *r);
    if (!r) {
        run_failf(err, err_len, "out of memory");
        return NULL;
    }
    r->own_model = *m;
    r->model = &r->own_model;
    for (size_t i = 0; i < n; i++)
        r->chain[i] = plugins[i];
    r->n_chain = n;
    r->plugin = plugins[0];
    r->scalar = scalar;
    if (opts)
        r->opts = *opts;
    for (size_t i = 0; r->opts.max_layers && i < r->own_model.n_sections; i++)
        if (r->own_model.sections[i].n_layers > r->opts.max_layers)
            r->own_model.sections[i].n_layers = r->opts.max_layers;
    m = r->model;
    for (size_t i = 0; i < m->n_sections; i++)
        for (size_t t = 0; m->sections[i].kind == CK_SECTION_DECODER && t < r->opts.n_tokens; t++)
            if (r->opts.tokens[t] < 0 || (size_t)r->opts.tokens[t] >= m->sections[i].vocab) {
                run_failf(err, err_len, "--tokens: token %zu is %d, outside the vocabulary [0, %zu) of section \"%s\"",
                          t, r->opts.tokens[t], m->sections[i].vocab, m->sections[i].name);
                free(r);
                return NULL;
            }
    ck_plan_opts po = {0};
    po.weight_dtype = r->opts.weight_dtype;
    po.compute = r->opts.compute;
    po.decode = r->opts.decode;
    po.decode_pos = r->opts.decode_pos;
    po.last_logits = r->opts.last_logits;
    if (r->opts.decode && r->opts.training) {
        run_failf(err, err_len, "--decode runs one token through every layer: it does not combine with training");
        free(r);
        return NULL;
    }
    po.training = r->opts.training; /* gradients, Adam moments, activation gradients: runtime/train_bind.c */
    size_t total_layers = 0;
    for (size_t i = 0; i < m->n_sections; i++)
        total_layers += m->sections[i].n_layers;
    if (r->opts.gguf_path) {
        if (ck_gguf_open(&r->gguf, r->opts.gguf_path, err, err_len)) {
            free(r);
            return NULL;
        }
        r->have_gguf = 1;
        if (!po.weight_dtype && !m->dtypes_from_file) /* a model built from the file has its dtypes */
            po.weight_dtype = run_gguf_matrix_dtype(r, m);
    }
    if (ck_plan_build(m, &po, &r->plan, err, err_len) || map_arena(r, err, err_len) ||
        !(r->resident = calloc(total_layers + 1, 1)) || !(r->seed_ctx = ck_exec_create(1)) ||
        run_bind_all(r, err, err_len) || run_group_units(r, err, err_len) || share_units(r, err, err_len)) {
        ck_runner_free(r);
        return NULL;
    }
    if (r->opts.compute == CK_COMPUTE_BF16 && !ck_compute_applies(CK_OP_LINEAR, r->plan->opts.weight_dtype)) {
        run_failf(err, err_len,
                  "--compute bf16 applies to bf16 weights, and this run's are %s (add --weight-dtype bf16)",
                  ck_dtype_name(r->plan->opts.weight_dtype));
        ck_runner_free(r);
        return NULL;
    }
    return r;
}

void ck_runner_free(ck_runner *r)
{
    if (!r)
        return;
    if (r->arena.base)
        ck_arena_unmap(&r->arena);
    ck_share_close(r->share);
    ck_plan_free(r->plan);
    if (r->have_gguf)
        ck_gguf_close(&r->gguf);
    free(r->steps);
    free(r->units);
    free(r->resident);
    ck_exec_destroy(r->seed_ctx);
    free(r);
}

size_t ck_runner_n_steps(const ck_runner *r)
{
    return r->n_units;
}
const ck_run_step *ck_runner_step(const ck_runner *r, size_t i)
{
    return i < r->n_units ? &r->units[i].pub : NULL;
}

size_t ck_runner_fusion(const ck_runner *r, unsigned f)
{
    return f < CK_FUSE_COUNT ? r->fused_applied[f] : 0;
}

size_t ck_runner_bytes_saved(const ck_runner *r)
{
    return r->bytes_saved;
}
const ck_plan *ck_runner_plan(const ck_runner *r)
{
    return r->plan;
}
void *ck_runner_base(const ck_runner *r)
{
    return r->arena.base;
}
ck_share_header *ck_runner_share(const ck_runner *r)
{
    return r->share_h;
}
ck_share *ck_runner_share_handle(const ck_runner *r)
{
    return r->share;
}
const char *ck_runner_arena_note(const ck_runner *r)
{
    return r->arena.note;
}

const float *ck_runner_output(const ck_runner *r, size_t *count)
{
    if (count)
        *count = r->output_count;
    return r->output;
}

size_t ck_runner_resident_layers(const ck_runner *r, uint32_t sec)
{
    size_t n = 0;
    for (size_t l = 0; sec < r->model->n_sections && l < r->model->sections[sec].n_layers; l++)
        n += r->resident[r->layer_index[sec] + l];
    return n;
}

int ck_runner_prepare(ck_runner *r, char *err, size_t len)
{
    /* headers and footers always; layers now, or window by window in forward */
    for (uint32_t s = 0; s < r->model->n_sections; s++) {
        const ck_section_plan *sp = &r->plan->sections[s];
        /* the KV cache too: it lives outside the layers, so a window never releases it */
        if (run_seed_span(r, sp->header.start, sp->header.end, err, len) ||
            run_seed_span(r, sp->footer.start, sp->footer.end, err, len) ||
            run_seed_span(r, sp->kv_cache.start, sp->kv_cache.end, err, len))
            return -1;
        if (r->opts.window_layers == 0)
            for (uint32_t l = 0; l < sp->n_layers; l++)
                if (run_make_resident(r, s, l, err, len))
                    return -1;
    }
    return 0;
}

/* pos_add's input: the class token row, then the patch rows. */
static void assemble_class_rows(const step *s)
{
    float *out = s->args.add.y;
    size_t off = 0;
    if (s->class_token) {
        memcpy(out, s->class_token, s->width * sizeof *out);
        off = s->width;
    }
    memmove(out + off, s->patches, s->rows * s->width * sizeof *out);
}

int run_call(ck_runner *r, const ck_kernel_desc *k, const ck_exec_ctx *ctx, const void *args)
{
    int restored;
    int rc = ck_kernel_call_restoring(k, ctx, args, &restored);
    if (restored && r->host_restores++ == 0)
        r->host_restore_kernel = k->name;
    return rc;
}

size_t ck_runner_host_restores(const ck_runner *r, const char **first_kernel)
{
    if (first_kernel)
        *first_kernel = r->host_restore_kernel;
    return r->host_restores;
}

/* Decode: this token's rotated k and v join the cache at its row. */
static void append_kv(const step *s)
{
    memcpy(s->cache_k + s->args.attn.q_pos * s->kv_row, s->new_k, s->kv_row * sizeof(float));
    memcpy(s->cache_v + s->args.attn.q_pos * s->kv_row, s->new_v, s->kv_row * sizeof(float));
}

/* Gemma 2's final soft-capping, a host step after the head like the
 * embedding scale: one tanh per logit in double, rounded once, so every
 * plugin's logits are capped alike (docs/layout.md says why not an op). */
static void cap_logits(const step *s)
{
    if (s->final_softcap == 0.0)
        return;
    float *y = s->args.linear.y;
    for (size_t i = 0, n = s->args.linear.T * s->args.linear.N; i < n; i++)
        y[i] = (float)(s->final_softcap * tanh((double)y[i] / s->final_softcap));
}

/* One bound step with its host-side actions around the kernel. */
static int run_bound(ck_runner *r, step *s, const ck_exec_ctx *ctx, char *err, size_t len)
{
    if (s->action == PRE_CLASS_ROWS)
        assemble_class_rows(s);
    if (s->action == PRE_APPEND_KV)
        append_kv(s);
    int rc = run_call(r, s->kernel, ctx, &s->args);
    if (rc != CK_OK)
        return run_failf(err, len, "%s: kernel %s returned %s", s->pub.label, s->kernel->name,
                         rc == CK_E_UNSUPPORTED ? "unsupported arguments" : "an error");
    if (s->emb_scale != 0.0f) /* Gemma's sqrt(d_model): one f32 multiply per element */
        for (size_t i = 0, n = s->args.emb.T * s->args.emb.D; i < n; i++)
            s->args.emb.y[i] *= s->emb_scale;
    if (s->action == POST_SPLICE)
        memcpy(s->args.emb.y, s->splice_src, s->splice_rows * s->args.emb.D * sizeof(float));
    cap_logits(s);
    return 0;
}

static int run_unit(ck_runner *r, size_t i, const ck_exec_ctx *ctx, char *err, size_t len)
{
    unit *u = &r->units[i];
    if (u->fusion < 0)
        return run_bound(r, &r->steps[u->first], ctx, err, len);
    if (r->steps[u->first].action == PRE_CLASS_ROWS) /* pos_add + pre_norm */
        assemble_class_rows(&r->steps[u->first]);
    for (size_t k = u->first; k < u->first + u->count; k++) /* decode: attn + proj appends first */
        if (r->steps[k].action == PRE_APPEND_KV)
            append_kv(&r->steps[k]);
    int rc = run_call(r, u->kernel, ctx, &u->args);
    if (rc != CK_OK)
        return run_failf(err, len, "%s: fused kernel %s returned %s", u->pub.label, u->kernel->name,
                         rc == CK_E_UNSUPPORTED ? "unsupported arguments" : "an error");
    cap_logits(&r->steps[u->first + u->count - 1]); /* final_norm + lm_head */
    return 0;
}

int ck_runner_run_step(ck_runner *r, size_t i, const ck_exec_ctx *ctx, char *err, size_t len)
{
    if (!r->share_h)
        return run_unit(r, i, ctx, err, len);
    ck_share_enter(r->share_h, r->units[i].slot, i);
    int rc = run_unit(r, i, ctx, err, len);
    ck_share_leave(r->share_h, r->units[i].slot);
    return rc;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e9 * (double)ts.tv_sec + (double)ts.tv_nsec;
}

int run_window_at(ck_runner *r, size_t i, char *err, size_t len)
{
    size_t w = r->opts.window_layers;
    const ck_run_step *p = &r->units[i].pub;
    if (!w || p->part != CK_PART_LAYER)
        return 0;
    double t0 = now_ns();
    int rc = run_make_resident(r, p->section, p->layer, err, len);
    /* the previous layer's output feeds this one: run_evict behind the window */
    if (!rc && p->layer >= w + 1)
        run_evict(r, p->section, p->layer - (uint32_t)w - 1);
    /* prefetch: the next layer's weights are faulted in and seeded now */
    if (!rc && p->layer + 1 < r->plan->sections[p->section].n_layers && w > 1)
        rc = run_make_resident(r, p->section, p->layer + 1, err, len);
    r->paging_ns += now_ns() - t0;
    return rc;
}

double ck_runner_paging_ns(const ck_runner *r)
{
    return r->paging_ns;
}

int ck_runner_forward(ck_runner *r, const ck_exec_ctx *ctx, ck_step_hook hook, void *user, char *err, size_t len)
{
    if (ck_runner_prepare(r, err, len))
        return -1;
    for (size_t i = 0; i < r->n_units; i++) {
        if (run_window_at(r, i, err, len) || ck_runner_run_step(r, i, ctx, err, len))
            return -1;
        if (hook && hook(user, r, i))
            break;
    }
    return 0;
}
