/* ckbench plan — plan a model into one allocation: print the memory map and
 * write layout.json. With --map it also maps the plan (one mmap, hugepages
 * and NUMA as asked) and can walk it a window of layers at a time. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_gguf.h"
#include "ck_arena.h"
#include "ck_fusion.h"
#include "ck_plan.h"
#include "commands.h"
#include "common/model_path.h"

typedef struct plan_args {
    const char *model;
    const char *layout;
    ck_plan_opts opts;
    int per_layer;
    int map;
    size_t window; /* --touch-window: layers touched at a time; 0 = touch nothing */
    ck_arena_opts arena;
    int fuse_given;
    uint32_t fuse;      /* --fuse: recorded in layout.json */
    const char *plugin; /* --plugin: whose fused kernels decide (default: all assumed offered) */
} plan_args;

static void usage(FILE *f)
{
    fprintf(f, "usage: ckbench plan --model M [--training | --decode [--decode-pos P]] [--align N]\n"
               "                    [--weight-dtype f32|bf16|f16|q8_0|q4_0] [--layout FILE] [--per-layer]\n"
               "                    [--map [--hugepages none|2M|1G|thp] [--numa interleave|NODE] [--touch-window L]]\n"
               "                    [--fuse all|none|LIST [--plugin P]] [--compute f32|bf16]\n"
               "\n"
               "Plans every tensor of model M (a file such as ir/models/llava.json, or a name found\n"
               "in ir/models/ or $CK_MODEL_PATH) at a fixed offset in one allocation: sections on 2 MiB boundaries,\n"
               "each a header, its layers and a footer, weights and activations in execution order.\n"
               "Prints the memory map and the totals, and writes the address book to FILE\n"
               "(default layout.json), atomically. Format and rules: docs/layout.md.\n"
               "\n"
               "  --training       add f32 gradients and Adam m, v for every weight\n"
               "  --decode         decoder sections at one token with a per-layer KV cache\n"
               "  --decode-pos P   the decoded token's position (default 0; less than seq_len)\n"
               "  --align N        byte alignment of every tensor: a power of two, 8..2097152 (default 64)\n"
               "  --weight-dtype D matrix weights in D instead of the model's dtype\n"
               "  --compute C      the compute type the run will use (f32, bf16), recorded in layout.json\n"
               "  --per-layer      one map row per layer\n"
               "  --map            map the plan (MAP_NORESERVE: nothing is touched) and say how\n"
               "  --hugepages H    with --map: none, 2M or 1G (falls back, and says why), thp (transparent only)\n"
               "  --numa P         with --map: interleave, or a node number (needs libnuma)\n"
               "  --touch-window L with --map: fault in L layers at a time, releasing each window after\n"
               "  --fuse LIST      run the fusion pass and record the flags and what it applied in the\n"
               "                   layout (\"fusion\"); offsets do not move. With --plugin P only the\n"
               "                   fused kernels P offers apply; without, every requested one is assumed\n"
               "\n"
               "Exit status: 0 planned, 2 bad usage or a model/option the planner refuses.\n");
}

/* A whole decimal number; -1 on anything else. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > (unsigned long long)SIZE_MAX)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int bad_value(const char *opt, const char *val, const char *expected)
{
    fprintf(stderr, "ckbench plan: %s: expected %s, found '%s'\n", opt, expected, val ? val : "nothing");
    return 2;
}

/* Options that take a value; 0, or the exit status of a bad value. */
static int parse_valued(plan_args *a, const char *opt, const char *val)
{
    size_t n;
    if (strcmp(opt, "--model") == 0) {
        if (!(a->model = ck_model_arg("ckbench plan", val)))
            return 2;
    } else if (strcmp(opt, "--layout") == 0) {
        a->layout = val;
    } else if (strcmp(opt, "--fuse") == 0) {
        char ferr[256];
        if (ck_fusion_parse(val, &a->fuse, ferr, sizeof ferr)) {
            fprintf(stderr, "ckbench plan: %s\n", ferr);
            return 2;
        }
        a->fuse_given = 1;
    } else if (strcmp(opt, "--plugin") == 0) {
        a->plugin = val;
    } else if (strcmp(opt, "--align") == 0) {
        if (parse_size(val, &n) || n == 0) /* 0 means "default" to the planner: refuse it here */
            return bad_value(opt, val, "a power of two from 8 to 2097152");
        a->opts.align = n;
    } else if (strcmp(opt, "--decode-pos") == 0) {
        if (parse_size(val, &a->opts.decode_pos))
            return bad_value(opt, val, "a token position (a whole number)");
    } else if (strcmp(opt, "--weight-dtype") == 0) {
        a->opts.weight_dtype = ck_dtype_from_name(val);
        if (a->opts.weight_dtype == CK_DTYPE_NONE || a->opts.weight_dtype == CK_DTYPE_I32)
            return bad_value(opt, val, "f32, bf16, f16, q8_0 or q4_0");
    } else if (strcmp(opt, "--compute") == 0) {
        ck_compute c;
        if (ck_compute_from_name(val, &c))
            return bad_value(opt, val, "f32 or bf16");
        a->opts.compute = c;
    } else if (strcmp(opt, "--hugepages") == 0) {
        if (ck_hugepages_parse(val, &a->arena.hugepages))
            return bad_value(opt, val, "none, 2M or 1G");
    } else if (strcmp(opt, "--numa") == 0) {
        if (strcmp(val, "interleave") == 0) {
            a->arena.numa = CK_NUMA_INTERLEAVE;
        } else if (parse_size(val, &n) == 0 && n < 4096) {
            a->arena.numa = CK_NUMA_NODE;
            a->arena.numa_node = (int)n;
        } else {
            return bad_value(opt, val, "interleave or a node number");
        }
    } else if (strcmp(opt, "--touch-window") == 0) {
        if (parse_size(val, &a->window) || a->window == 0)
            return bad_value(opt, val, "a number of layers (at least 1)");
    } else {
        fprintf(stderr, "ckbench plan: unknown option '%s'; see 'ckbench plan --help'\n", opt);
        return 2;
    }
    return 0;
}

/* 0 to go on, 1 for --help (exit 0), else the exit status. */
static int parse_args(int argc, char **argv, plan_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(o, "--training") == 0) {
            a->opts.training = 1;
        } else if (strcmp(o, "--decode") == 0) {
            a->opts.decode = 1;
        } else if (strcmp(o, "--per-layer") == 0) {
            a->per_layer = 1;
        } else if (strcmp(o, "--layers") == 0) {
            /* the old spelling: --layers is a count everywhere else */
            fprintf(stderr, "ckbench plan: --layers is a layer count (fusion, train-step); one map row per layer "
                            "is --per-layer\n");
            return 2;
        } else if (strcmp(o, "--map") == 0) {
            a->map = 1;
        } else if (o[0] == '-' && o[1] == '-' && i + 1 < argc && argv[i + 1][0] != '\0') {
            int rc = parse_valued(a, o, argv[++i]);
            if (rc)
                return rc;
        } else {
            fprintf(stderr, "ckbench plan: %s '%s'; see 'ckbench plan --help'\n",
                    o[0] == '-' ? "unknown option or missing value for" : "unexpected argument", o);
            return 2;
        }
    }
    if (!a->model) {
        fprintf(stderr, "ckbench plan: --model: expected a model file, found nothing; see 'ckbench plan --help'\n");
        return 2;
    }
    if (!a->map && (a->window || a->arena.hugepages || a->arena.numa)) {
        fprintf(stderr, "ckbench plan: --hugepages, --numa and --touch-window need --map\n");
        return 2;
    }
    return 0;
}

/* Fault the plan in a window of layers at a time, giving each window back
 * before the next: the way a model larger than memory is run. */
static int walk_windows(const ck_plan *p, ck_arena *ar, size_t window)
{
    size_t peak = 0;
    for (size_t s = 0; s < p->n_sections; s++) {
        const ck_section_plan *sp = &p->sections[s];
        for (size_t l = 0; l < sp->n_layers; l += window) {
            size_t last = l + window < sp->n_layers ? l + window - 1 : sp->n_layers - 1;
            size_t start = sp->layers[l].start, len = sp->layers[last].end - start;
            if (ck_arena_touch(ar, start, len) || ck_arena_release(ar, start, len)) {
                fprintf(stderr, "ckbench plan: touching layers %zu..%zu of \"%s\" failed\n", l, last,
                        p->section_names[s]);
                return 2;
            }
            peak = len > peak ? len : peak;
        }
    }
    printf("walked every layer %zu at a time; largest window %zu bytes (%.2f GiB)\n", window, peak,
           (double)peak / (1u << 30));
    return 0;
}

static int map_plan(const ck_plan *p, const plan_args *a)
{
    ck_arena ar;
    char err[CK_ERR_LEN];
    if (ck_arena_map(&ar, p->total, &a->arena, err, sizeof err)) {
        fprintf(stderr, "ckbench plan: %s\n", err);
        return 2;
    }
    printf("mapped %zu bytes (%.2f GiB) at %p: %zu-byte pages%s, nothing touched (MAP_NORESERVE)\n", ar.mapped,
           (double)ar.mapped / (1u << 30), ar.base, ar.page, ar.thp ? " + transparent hugepages" : "");
    if (ar.note[0])
        printf("note: %s\n", ar.note);
    int rc = a->window ? walk_windows(p, &ar, a->window) : 0;
    ck_arena_unmap(&ar);
    return rc;
}

/* The fusion pass's outcome into the plan (and so into layout.json). */
static int record_fusion(ck_plan *p, const ck_model *m, const plan_args *a)
{
    char err[CK_ERR_LEN];
    uint32_t offered = CK_FUSE_ALL;
    const char *name = "";
    ck_plugin *pl = NULL;
    if (a->plugin) {
        if (!(pl = ck_plugin_load(a->plugin, err, sizeof err))) {
            fprintf(stderr, "ckbench plan: %s\n", err);
            return 2;
        }
        offered = ck_fusion_offered(pl, p->opts.weight_dtype ? p->opts.weight_dtype : m->dtype);
        name = pl->desc->name;
    }
    int rc = ck_plan_record_fusion(p, m, a->fuse, offered, name);
    char mask[256];
    ck_fusion_format(a->fuse, mask, sizeof mask);
    if (rc == 0) {
        printf("fusion %s%s%s:", mask, pl ? " offered by " : " (every one assumed offered)", name);
        for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
            if (p->fusion.applied[f])
                printf(" %s x%zu", ck_fusion_name(f), p->fusion.applied[f]);
        printf("; activation bytes not moved per forward: %zu\n", p->fusion.bytes_saved);
    } else {
        fprintf(stderr, "ckbench plan: the fusion pass ran out of memory\n");
    }
    ck_plugin_unload(pl);
    return rc ? 2 : 0;
}

int ck_cmd_plan(int argc, char **argv)
{
    plan_args a = {.layout = "layout.json"};
    char err[CK_ERR_LEN];
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    ck_model *m = ck_model_open(a.model, err, sizeof err);
    if (!m) {
        fprintf(stderr, "ckbench plan: %s\n", err);
        return 2;
    }
    ck_plan *p = NULL;
    if (ck_plan_build(m, &a.opts, &p, err, sizeof err)) {
        fprintf(stderr, "ckbench plan: %s\n", err);
        ck_model_free(m);
        return 2;
    }
    rc = a.fuse_given ? record_fusion(p, m, &a) : 0;
    if (rc) {
        ck_plan_free(p);
        ck_model_free(m);
        return rc;
    }
    ck_plan_print_map(p, stdout, a.per_layer);
    rc = a.map ? map_plan(p, &a) : 0;
    if (rc == 0 && ck_plan_write_json(p, a.layout, err, sizeof err)) {
        fprintf(stderr, "ckbench plan: %s\n", err);
        rc = 2;
    } else if (rc == 0) {
        printf("wrote %s: %zu tensors, %zu bytes in one allocation\n", a.layout, p->n_buffers, p->total);
    }
    ck_plan_free(p);
    ck_model_free(m);
    return rc;
}
