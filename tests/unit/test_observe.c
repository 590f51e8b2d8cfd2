/* Observing a model without perturbing it (issue 22), through real ckbench
 * processes: tensors out by name (--dump), activation patches (--patch), the
 * shared arena and its read-only inspector, checkpoints and their diff. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.h"
#include "common/npy.h"

static char model_path[1024];

static const char *model(const char *name)
{
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(model_path, sizeof model_path, "%s/ir/models/%s", src ? src : ".", name);
    return model_path;
}

static const char *ckbench(void)
{
    const char *ck = getenv("CK_CKBENCH");
    if (!ck)
        cr_skip_test("CK_CKBENCH not set (run through make test-unit)");
    return ck;
}

/* Run a shell command; its stdout and stderr in out, its exit status back. */
static int sh(char *out, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int sh(char *out, size_t len, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t got = fread(out, 1, len - 1, p);
    out[got] = 0;
    return WEXITSTATUS(pclose(p));
}

static char *temp_dir(void)
{
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ck-observe-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    return dir;
}

static uint64_t fnv1a(const void *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
    return h;
}

/* The "digest XXXXXXXX" a run printed for its output. */
static uint64_t printed_digest(const char *out, const char *after)
{
    const char *p = strstr(out, after);
    cr_assert_not_null(p, "no '%s' in: %s", after, out);
    return strtoull(p + strlen(after), NULL, 16);
}

Test(observe, dump_of_the_footer_holds_the_logits_the_run_digested)
{
    const char *ck = ckbench(), *dir = temp_dir();
    char out[16384], path[256], err[256];
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --dump 'text.footer.*' %s/d", ck,
                    model("tiny-gqa.json"), dir),
                 0, "%s", out);
    uint64_t want = printed_digest(out, "digest ");
    snprintf(path, sizeof path, "%s/d/text.footer.lm_head.logits.npy", dir);
    ck_npy logits;
    cr_assert_eq(ck_npy_read(path, &logits, err, sizeof err), 0, "%s", err);
    cr_assert_str_eq(logits.descr, "<f4");
    cr_assert(logits.ndim == 2 && logits.shape[0] == 13 && logits.shape[1] == 101, "logits [T, vocab]");
    cr_assert_eq(fnv1a(logits.data, logits.bytes), want, "the dumped logits are not the run's output");
    free(logits.data);
    snprintf(path, sizeof path, "%s/d/manifest.json", dir);
    char *manifest = ck_read_file(path, NULL);
    cr_assert_not_null(manifest);
    cr_assert(strstr(manifest, "\"name\":\t\"text.footer.lm_head.logits\"") != NULL, "%s", manifest);
    cr_assert(strstr(manifest, "\"offset\":\t\"0x") != NULL && strstr(manifest, "\"step\":\t0") != NULL);
    cr_assert(strstr(manifest, "text.layer.") == NULL, "only what the glob matches: %s", manifest);
    free(manifest);
    /* a glob that matches nothing: one line, exit 2, nothing written */
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --dump 'txt.*' %s/none", ck,
                    model("tiny-gqa.json"), dir),
                 2, "%s", out);
    cr_assert(strstr(out, "--dump: no tensor of tiny-gqa matches 'txt.*'") != NULL, "%s", out);
    snprintf(path, sizeof path, "%s/none", dir);
    cr_assert_neq(access(path, F_OK), 0, "a refused dump must not create its directory");
    sh(out, sizeof out, "rm -rf %s", dir);
}

Test(observe, zeroing_a_head_moves_the_logits_and_patching_it_back_does_not)
{
    const char *ck = ckbench(), *dir = temp_dir(), *m = model("tiny-gqa.json");
    const char *t = "text.layer.1.attention.out";
    char out[16384];
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --dump %s %s/own", ck, m, t, dir), 0, "%s",
                 out);
    uint64_t plain = printed_digest(out, "digest ");
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --patch '%s[:,2]=zero'", ck, m, t), 0, "%s",
                 out);
    cr_assert(strstr(out, "patched text.layer.1.attention.out[:,2]=zero after step ") != NULL, "%s", out);
    cr_assert_neq(printed_digest(strstr(out, "output: "), "digest "), plain, "zeroing head 2 left the logits: %s", out);
    cr_assert_eq(printed_digest(out, "unpatched digest "), plain, "%s", out);
    cr_assert(strstr(out, "(bit-identical)") == NULL, "%s", out);
    /* its own values back, the head's slice only */
    cr_assert_eq(
        sh(out, sizeof out, "%s run --plugin scalar --model %s --patch '%s[:,2]=%s/own/%s.npy'", ck, m, t, dir, t), 0,
        "%s", out);
    cr_assert_eq(printed_digest(strstr(out, "output: "), "digest "), plain, "%s", out);
    cr_assert(strstr(out, "output moved: 0 of 1313 values changed") != NULL, "%s", out);
    /* another seed's values for the same head: it moves, so the patch is applied after the writer */
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --seed 7 --dump %s %s/other", ck, m, t, dir), 0,
                 "%s", out);
    cr_assert_eq(
        sh(out, sizeof out, "%s run --plugin scalar --model %s --patch '%s[:,2]=%s/other/%s.npy'", ck, m, t, dir, t), 0,
        "%s", out);
    cr_assert_neq(printed_digest(strstr(out, "output: "), "digest "), plain, "%s", out);
    sh(out, sizeof out, "rm -rf %s", dir);
}

Test(observe, bad_patches_get_one_line)
{
    const char *ck = ckbench(), *m = model("tiny-gqa.json");
    char out[16384];
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --patch 'text.layer.1.nope=zero'", ck, m), 2);
    cr_assert(strstr(out, "ckbench run: --patch: no tensor 'text.layer.1.nope' in the layout of tiny-gqa\n") == out,
              "%s", out);
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --patch 'text.layer.0.qkv.wq=zero'", ck, m), 2);
    cr_assert(strstr(out, "only f32 activations can be patched") != NULL, "%s", out);
    cr_assert_eq(
        sh(out, sizeof out, "%s run --plugin scalar --model %s --patch 'text.layer.0.attention.out[:,6]=zero'", ck, m),
        2);
    cr_assert(strstr(out, "axis 1 range [6:7) outside its 6") != NULL, "%s", out);
    cr_assert_eq(
        sh(out, sizeof out, "%s run --plugin scalar --model %s --patch 'text.layer.0.attn_norm.gamma=zero'", ck, m), 2);
    cr_assert(strstr(out, "is not written by any step of this run") != NULL, "%s", out);
}
