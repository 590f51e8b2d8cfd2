/* 'ckbench plan' (CK_CKBENCH) on bad model files: each gives its own
 * one-line message naming file, section and field, exits 2, and leaves no
 * layout.json (nor a temporary file) behind. And on good ones: exit 0 and
 * the same bytes every run. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 16

typedef struct run {
    int status;     /* exit status, or -1 if it did not exit normally */
    char err[2048]; /* stderr */
    char dir[64];   /* holds the model file and (maybe) the layout */
    char model[128];
    char layout[128];
} run;

static const char *ckbench(void)
{
    const char *p = getenv("CK_CKBENCH");
    return p ? p : "build/bin/ckbench";
}

static void read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Names in a directory other than . and ..; the count. */
static int entries(const char *dir, char *names, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    names[0] = '\0';
    cr_assert_not_null(d, "%s", dir);
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            n++;
            strncat(names, e->d_name, len - strlen(names) - 2);
            strcat(names, " ");
        }
    closedir(d);
    return n;
}

/* Write `text` as <tmp>/bad.json and run ckbench plan on it with `extra`
 * arguments (NULL-terminated), --layout <tmp>/layout.json. */
static void run_plan(run *r, const char *text, const char *const *extra)
{
    char errfile[128], outdir[] = "/tmp/ck-cli-out-XXXXXX";
    snprintf(r->dir, sizeof r->dir, "/tmp/ck-cli-XXXXXX");
    cr_assert_not_null(mkdtemp(r->dir));
    cr_assert_not_null(mkdtemp(outdir));
    snprintf(r->model, sizeof r->model, "%s/bad.json", r->dir);
    snprintf(r->layout, sizeof r->layout, "%s/layout.json", r->dir);
    snprintf(errfile, sizeof errfile, "%s/stderr", outdir);
    FILE *f = fopen(r->model, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    const char *argv[MAX_ARGS] = {ckbench(), "plan", "--model", r->model, "--layout", r->layout};
    int argc = 6;
    for (size_t i = 0; extra && extra[i] && argc < MAX_ARGS - 1; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout) || !freopen(errfile, "w", stderr))
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    read_file(errfile, r->err, sizeof r->err);
    unlink(errfile);
    rmdir(outdir);
}

static void cleanup(run *r)
{
    unlink(r->model);
    unlink(r->layout);
    rmdir(r->dir);
}

/* Exit 2, exactly "ckbench plan: <file>: <message>\n" on stderr, and
 * nothing but the model file in its directory. */
static void expect_refused(const char *text, const char *const *extra, const char *message)
{
    run r;
    char want[1024], names[512];
    run_plan(&r, text, extra);
    cr_assert_eq(r.status, 2, "exit %d for: %s (stderr: %s)", r.status, message, r.err);
    if (strncmp(message, "plan of", 7) == 0 || strncmp(message, "model ", 6) == 0 || strncmp(message, "--", 2) == 0)
        snprintf(want, sizeof want, "ckbench plan: %s\n", message);
    else
        snprintf(want, sizeof want, "ckbench plan: %s: %s\n", r.model, message);
    cr_assert_str_eq(r.err, want);
    cr_assert_eq(entries(r.dir, names, sizeof names), 1, "left behind: %s", names);
    cleanup(&r);
}

/* Exit 0, nothing on stderr, and a layout.json with activation gradients. */
static void expect_planned(const char *text, const char *const *extra)
{
    run r;
    static char layout[1 << 20];
    run_plan(&r, text, extra);
    cr_assert_eq(r.status, 0, "exit %d (stderr: %s)", r.status, r.err);
    cr_assert_str_eq(r.err, "");
    read_file(r.layout, layout, sizeof layout);
    cr_assert(strstr(layout, "\"activation_gradient\"") != NULL, "no activation gradients planned");
    cleanup(&r);
}

/* A small valid two-section model (vision + text); cases break one field. */
static const char *const good =
    "{\"name\": \"t\", \"dtype\": \"bf16\", \"sections\": [\n"
    " {\"name\": \"vis\", \"kind\": \"vision_encoder\", \"n_layers\": 1, \"d_model\": 16, \"n_heads\": 2,\n"
    "  \"head_dim\": 8, \"d_ff\": 32, \"seq_len\": 17, \"image_size\": 12, \"patch_size\": 3, \"channels\": 3,\n"
    "  \"norm\": \"layernorm\", \"activation\": \"gelu\", \"position\": \"learned\", \"bridge\": {\"to\": \"txt\"}},\n"
    " {\"name\": \"txt\", \"kind\": \"decoder\", \"n_layers\": 2, \"d_model\": 32, \"n_heads\": 4, \"n_kv_heads\": 2,\n"
    "  \"head_dim\": 8, \"d_ff\": 40, \"seq_len\": 16, \"vocab\": 50, \"norm\": \"rmsnorm\",\n"
    "  \"activation\": \"swiglu\", \"position\": \"rope\", \"rope_theta\": 10000}]}\n";

/* `good` with the first `from` after `after` replaced by `to`. */
static char *mutate(const char *after, const char *from, const char *to)
{
    const char *base = strstr(good, after);
    cr_assert_not_null(base, "test bug: %s", after);
    const char *at = strstr(base, from);
    cr_assert_not_null(at, "test bug: %s", from);
    size_t head = (size_t)(at - good), n = strlen(good) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)head, good, to, at + strlen(from));
    return out;
}

static void refused_mutation(const char *after, const char *from, const char *to, const char *message)
{
    char *text = mutate(after, from, to);
    expect_refused(text, NULL, message);
    free(text);
}

Test(plan_cli, good_model_plans_and_writes_identical_layouts)
{
    run a, b;
    char ta[1 << 16], tb[1 << 16];
    run_plan(&a, good, NULL);
    run_plan(&b, good, (const char *const[]){"--per-layer", NULL});
    cr_assert_eq(a.status, 0, "%s", a.err);
    cr_assert_eq(b.status, 0, "%s", b.err);
    read_file(a.layout, ta, sizeof ta);
    read_file(b.layout, tb, sizeof tb);
    cr_assert_gt(strlen(ta), 100);
    cr_assert_str_eq(ta, tb);
    cleanup(&a);
    cleanup(&b);
}

Test(plan_cli, help_exits_zero)
{
    run r;
    run_plan(&r, good, (const char *const[]){"--help", NULL});
    cr_assert_eq(r.status, 0);
    cleanup(&r);
}

Test(plan_cli, refuses_kv_heads_not_dividing_heads)
{
    refused_mutation("\"txt\"", "\"n_kv_heads\": 2", "\"n_kv_heads\": 3",
                     "section 1 \"txt\": field \"n_kv_heads\": expected a divisor of n_heads (4), found 3");
}

Test(plan_cli, refuses_unknown_field)
{
    refused_mutation("\"vis\"", "\"activation\"", "\"activaton\"",
                     "section 0 \"vis\": field \"activaton\": expected a known section field (docs/layout.md), "
                     "found an unknown field");
}

Test(plan_cli, refuses_zero_dimension)
{
    refused_mutation("\"txt\"", "\"d_ff\": 40", "\"d_ff\": 0",
                     "section 1 \"txt\": field \"d_ff\": expected an integer in [1, 4294967296], found 0");
}

Test(plan_cli, refuses_negative_dimension)
{
    refused_mutation("\"vis\"", "\"n_layers\": 1", "\"n_layers\": -1",
                     "section 0 \"vis\": field \"n_layers\": expected an integer in [1, 4096], found -1");
}

Test(plan_cli, refuses_patch_larger_than_image)
{
    refused_mutation("\"vis\"", "\"patch_size\": 3", "\"patch_size\": 13",
                     "section 0 \"vis\": field \"patch_size\": expected at most image_size (12), found 13");
}

Test(plan_cli, refuses_byte_sizes_that_overflow)
{
    refused_mutation("\"txt\"", "\"vocab\": 50", "\"vocab\": 4294967296",
                     "section 1 \"txt\": field \"vocab\": expected a vocab whose tables and logits fit in size_t, "
                     "found 4294967296");
}

Test(plan_cli, refuses_vision_token_count_mismatch)
{
    refused_mutation("\"vis\"", "\"seq_len\": 17", "\"seq_len\": 16",
                     "section 0 \"vis\": field \"seq_len\": expected floor(image_size / patch_size)^2 + 1 class "
                     "token = 17, found 16");
}

Test(plan_cli, refuses_bridge_to_missing_section)
{
    refused_mutation("\"vis\"", "\"to\": \"txt\"", "\"to\": \"text\"",
                     "section 0 \"vis\": field \"bridge.to\": expected the name of a later section, found \"text\"");
}

Test(plan_cli, refuses_unknown_norm)
{
    refused_mutation("\"txt\"", "\"rmsnorm\"", "\"RMSNorm\"",
                     "section 1 \"txt\": field \"norm\": expected one of rmsnorm, layernorm, found \"RMSNorm\"");
}

Test(plan_cli, refuses_odd_head_dim_with_rope)
{
    refused_mutation("\"txt\"", "\"d_model\": 32, \"n_heads\": 4, \"n_kv_heads\": 2,\n  \"head_dim\": 8",
                     "\"d_model\": 36, \"n_heads\": 4, \"n_kv_heads\": 2,\n  \"head_dim\": 9",
                     "section 1 \"txt\": field \"head_dim\": expected an even head_dim with \"position\": \"rope\", "
                     "found 9");
}

Test(plan_cli, refuses_duplicate_section_names)
{
    refused_mutation("\"txt\"", "\"name\": \"txt\"", "\"name\": \"vis\"",
                     "section 1 \"vis\": field \"name\": expected a name no other section has, found \"vis\" again");
}

Test(plan_cli, refuses_broken_json)
{
    expect_refused("{\"name\": \"t\",\n \"dtype\": \"bf16\",\n \"sections\": [\n", NULL,
                   "expected valid JSON, found a syntax error at line 3 (byte 46)");
}

Test(plan_cli, refuses_empty_sections)
{
    expect_refused("{\"name\": \"t\", \"dtype\": \"f32\", \"sections\": []}", NULL,
                   "field \"sections\": expected an array of 1 to 16 sections, found 0 sections");
}

Test(plan_cli, refuses_quantised_weights_with_partial_blocks)
{
    expect_refused(good, (const char *const[]){"--weight-dtype", "q8_0", NULL},
                   "model \"t\": section 0 \"vis\": weight dtype q8_0 needs every row a "
                   "multiple of 32 values, found patch_embed (channels x patch_size^2) K=27");
}

Test(plan_cli, refuses_bad_alignment)
{
    expect_refused(good, (const char *const[]){"--align", "96", NULL},
                   "plan of model \"t\": alignment: expected a power of two from 8 to 2097152, found 96");
    expect_refused(good, (const char *const[]){"--align", "x", NULL},
                   "--align: expected a power of two from 8 to 2097152, found 'x'");
    expect_refused(good, (const char *const[]){"--align", "0", NULL},
                   "--align: expected a power of two from 8 to 2097152, found '0'");
}

Test(plan_cli, refuses_decode_past_the_context)
{
    expect_refused(good, (const char *const[]){"--decode", "--decode-pos", "16", NULL},
                   "model \"t\": section 1 \"txt\": decode position: expected less than "
                   "seq_len (16), found 16");
}

/* A window, an attention cap and a final cap train (attention_bwd takes the
 * first two, the trainer the last): plan --training lays the model out. */
Test(plan_cli, plans_training_with_a_window_or_a_cap)
{
    static const char *const to[] = {"\"rope_theta\": 10000, \"sliding_window\": 4",
                                     "\"rope_theta\": 10000, \"attn_logit_softcap\": 50",
                                     "\"rope_theta\": 10000, \"final_logit_softcap\": 30"};
    for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
        char *text = mutate("\"txt\"", "\"rope_theta\": 10000", to[i]);
        expect_planned(text, (const char *const[]){"--training", NULL});
        free(text);
    }
}
