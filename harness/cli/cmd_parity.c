/* ckbench parity — the command line of the CI gate (parity/gate.h).
 * Exit status: 0 all passed (or skipped), 1 a case failed, 2 bad usage or
 * input (unknown plugin, unknown op, bad model, unwritable output file). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common/model_path.h"
#include "common/op_list.h"
#include "parity/gate.h"
#include "parity/parity.h"

#define DEFAULT_SEED CK_GATE_DEFAULT_SEED
#define DEFAULT_TIMEOUT CK_GATE_DEFAULT_TIMEOUT
#define MAX_TIMEOUTS_PER_KERNEL CK_GATE_MAX_TIMEOUTS_PER_KERNEL

typedef ck_gate_opts options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ckbench parity [--plugin NAME|PATH|all] [--model M] [--op OP,...] [--seed S]\n"
            "                      [--dump DIR] [--junit FILE] [--json FILE] [--timeout SEC] [--threads N]\n"
            "                      [--weight-dtype f32|bf16|f16|q8_0|q4_0] [--compute f32|bf16]\n"
            "                      [--suite all|model|edge] [--shard K/N]\n\n"
            "Checks every kernel of a plugin against the scalar reference on seeded inputs, each\n"
            "case in a child process guarded by canaries. --plugin all (the default) checks every\n"
            "plugin found that runs on this CPU, except scalar itself. Without --model the built-in\n"
            "edge suite runs; with --model, also every op instance of the model, with rows reduced\n"
            "so the reference does at most %.0e multiply-adds per case, keeping at least %d rows\n"
            "(shown as 'T=x of y'); --suite model leaves the edge suite out, --suite edge the\n"
            "model's instances. --weight-dtype checks the model's linears at another weight\n"
            "type. --compute checks only the bf16-weight linear / qkv kernels of that compute type\n"
            "(default: both); compute bf16 rounds x to bf16 and has its own bound (docs/ops.md).\n"
            "A kernel that hangs %d times fails its remaining cases without running them.\n"
            "--shard K/N runs the op instances i of the suite with i %% N == K, so that N\n"
            "processes or machines share the gate; the kernels no instance comes up for are listed\n"
            "by shard 0 alone.\n"
            "Exit status: 0 all passed, 1 a case failed, 2 bad usage or input.\n",
            CK_PARITY_WORK_BUDGET, CK_PARITY_MIN_ROWS, MAX_TIMEOUTS_PER_KERNEL);
}

/* ---- options ------------------------------------------------------------------------------- */

static int bad(const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "ckbench parity: ");
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
    return 2;
}

static int parse_ops(options *o)
{
    char err[1400];
    if (ck_op_list_parse(o->ops, o->op_on, err, sizeof err) != 0)
        return bad("%s%s", err, "");
    return 0;
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->plugin = "all";
    o->seed = DEFAULT_SEED;
    o->timeout = DEFAULT_TIMEOUT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return -1;
        }
        const char *keys[] = {"--plugin",  "--model",   "--op",           "--seed",    "--dump",  "--junit", "--json",
                              "--timeout", "--threads", "--weight-dtype", "--compute", "--suite", "--shard"};
        size_t k = 0, nk = sizeof keys / sizeof keys[0];
        const char *val = NULL;
        for (; k < nk; k++) {
            size_t l = strlen(keys[k]);
            if (!strncmp(a, keys[k], l) && a[l] == '=') {
                val = a + l + 1;
                break;
            }
            if (!strcmp(a, keys[k])) {
                if (i + 1 >= argc)
                    return bad("%s needs a value%s", a, "");
                val = argv[++i];
                break;
            }
        }
        if (k == nk)
            return bad("unknown option '%s'%s; see 'ckbench parity --help'", a, "");
        char *end = NULL;
        errno = 0;
        switch (k) {
        case 0: o->plugin = val; break;
        case 1:
            if (!(o->model = ck_model_arg("ckbench parity", val)))
                return 2;
            break;
        case 2: o->ops = val; break;
        case 3:
            o->seed = strtoull(val, &end, 0);
            if (!*val || *end || errno || *val == '-')
                return bad("--seed: expected a non-negative integer, found '%s'%s", val, "");
            break;
        case 4: o->dump = val; break;
        case 5: o->junit = val; break;
        case 6: o->json = val; break;
        case 7:
            o->timeout = strtod(val, &end);
            if (!*val || *end || errno || !(o->timeout > 0) || o->timeout > 86400)
                return bad("--timeout: expected seconds > 0, found '%s'%s", val, "");
            break;
        case 8: {
            long t = strtol(val, &end, 10);
            if (!*val || *end || errno || t < 1 || t > 1024)
                return bad("--threads: expected 1..1024, found '%s'%s", val, "");
            o->threads = (int)t;
            break;
        }
        case 9:
            o->weight_dtype = ck_dtype_from_name(val);
            if (o->weight_dtype == CK_DTYPE_NONE || o->weight_dtype == CK_DTYPE_I32)
                return bad("--weight-dtype: expected f32, bf16, f16, q8_0 or q4_0, found '%s'%s", val, "");
            break;
        case 10:
            if (ck_compute_from_name(val, &o->compute) != 0)
                return bad("--compute: expected f32 or bf16, found '%s'%s", val, "");
            o->compute_only = 1;
            break;
        case 11: {
            static const char *const suites[] = {
                [CK_SUITE_ALL] = "all", [CK_SUITE_MODEL] = "model", [CK_SUITE_EDGE] = "edge"};
            int s = 0;
            while (s < 3 && strcmp(val, suites[s]))
                s++;
            if (s == 3)
                return bad("--suite: expected all, model or edge, found '%s'%s", val, "");
            o->suite = s;
            break;
        }
        case 12: {
            unsigned kk = 0, n = 0;
            int used = 0;
            if (sscanf(val, "%u/%u%n", &kk, &n, &used) != 2 || val[used] || val[0] == '-' || n < 1 || n > 4096 ||
                kk >= n)
                return bad("--shard: expected K/N with 0 <= K < N <= 4096 (shard K of N), found '%s'%s", val, "");
            o->shard = kk;
            o->n_shards = n;
            break;
        }
        }
    }
    if (o->weight_dtype && !o->model)
        return bad("--weight-dtype needs --model%s%s", "", "");
    if (o->suite == CK_SUITE_MODEL && !o->model)
        return bad("--suite model needs --model%s%s", "", "");
    /* a chain only picks kernels of its plugins: gating each plugin gates every kernel it can pick */
    if (ck_chain_spec(o->plugin))
        return bad("--plugin '%s': parity gates one plugin at a time, not a chain; run it for each plugin of "
                   "the chain (its kernels are the ones the chain picks)%s",
                   o->plugin, "");
    if (o->ops)
        return parse_ops(o);
    for (int op = 1; op < CK_OP_COUNT; op++)
        o->op_on[op] = 1;
    return 0;
}

int ck_cmd_parity(int argc, char **argv)
{
    options o;
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    return ck_gate_run(&o);
}
