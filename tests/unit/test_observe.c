/* Observing a model without perturbing it (issue 22), through real ckbench
 * processes: tensors out by name (--dump), activation patches (--patch), the
 * shared arena and its read-only inspector, checkpoints and their diff. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ck_model.h"
#include "ck_plan.h"
#include "ck_share.h"
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

/* ---- the shared arena and the inspector ----------------------------------- */

static void remove_share(const char *name)
{
    char path[256];
    const char *suffix[] = {"", ".layout.json", ".ops"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/ckernel-%s%s", CK_SHARE_DIR, name, suffix[i]);
        unlink(path);
    }
}

static const char *share_name(const char *what)
{
    static char name[64];
    snprintf(name, sizeof name, "test-%s-%ld", what, (long)getpid());
    remove_share(name);
    return name;
}

/* "key":number in a JSON line */
static double json_number(const char *line, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(line, k);
    cr_assert_not_null(p, "no %s in %s", key, line);
    return strtod(p + strlen(k), NULL);
}

Test(observe, an_inspector_sees_a_running_train_steps_gradients_change)
{
    const char *ck = ckbench(), *name = share_name("live"), *grad = "text.layer.1.qkv.wq.grad";
    char out[16384], first[16384] = "";
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(ck, ck, "train-step", "--plugin", "scalar", "--model", model("tiny-gqa.json"), "--steps", "100000",
              "--share", name, (char *)NULL);
        _exit(127);
    }
    double step1 = 0, step2 = 0, mean1 = 0, mean2 = 0;
    for (int tries = 0; tries < 400 && (step2 == 0 || step2 == step1); tries++) {
        usleep(20000);
        if (sh(out, sizeof out, "%s inspect %s --tensor %s --json", ck, name, grad) != 0)
            continue; /* not yet published */
        cr_assert(strstr(out, "\"state\":\"running\"") != NULL, "%s", out);
        double step = json_number(out, "step"), mean = json_number(out, "mean");
        if (step < 1)
            continue;
        if (!first[0]) {
            snprintf(first, sizeof first, "%s", out);
            step1 = step, mean1 = mean;
        } else
            step2 = step, mean2 = mean;
    }
    cr_assert(step1 >= 1 && step2 > step1, "two snapshots at different steps: %g, %g", step1, step2);
    cr_assert(mean1 != mean2, "the gradient did not change between step %g and %g: %s", step1, step2, out);
    cr_assert(strstr(first, "\"name\":\"text.layer.1.qkv.wq.grad\"") && strstr(first, "\"shape\":[48,48]"), "%s",
              first);
    /* killed while running: the mapping is stale, and the inspector says so */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s", ck, name), 2, "%s", out);
    cr_assert(strstr(out, "stale: its writer (pid ") != NULL && strchr(out, '\n') == strrchr(out, '\n'), "%s", out);
    remove_share(name);
}

Test(observe, nan_alert_names_the_tensor_a_plugin_poisoned_at_step_3)
{
    const char *ck = ckbench(), *plugs = getenv("CK_TEST_PLUGIN_DIR"), *name = share_name("nan");
    char out[16384], err[256];
    if (!plugs)
        cr_skip_test("CK_TEST_PLUGIN_DIR not set");
    cr_assert_eq(sh(out, sizeof out, "%s train-step --plugin %s/libck_nan_adam.so --model %s --steps 3 --share %s", ck,
                    plugs, model("tiny-gqa.json"), name),
                 1, "the loss turns NaN after step 3: %s", out);
    /* the plugin poisons the 4th weight Adam updates: the 4th weight of the training plan */
    ck_model *m = ck_model_load(model("tiny-gqa.json"), err, sizeof err);
    ck_plan *p;
    ck_plan_opts po = {.training = 1, .weight_dtype = CK_DTYPE_F32};
    cr_assert_eq(ck_plan_build(m, &po, &p, err, sizeof err), 0, "%s", err);
    const ck_buffer *want = NULL;
    for (size_t i = 0, k = 0; i < p->n_buffers && !want; i++)
        if (p->buffers[i].kind == CK_BUF_WEIGHT && ++k == 4)
            want = &p->buffers[i];
    char expect[256];
    snprintf(expect, sizeof expect, "ckbench inspect: NaN in %s (layer %u, element 5, step 3): nan\n", want->name,
             want->layer);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s --nan-alert", ck, name), 1, "%s", out);
    cr_assert(strstr(out, expect) != NULL, "expected '%s' in: %s", expect, out);
    ck_plan_free(p);
    ck_model_free(m);
    /* the same run through scalar: no alert */
    cr_assert_eq(sh(out, sizeof out, "%s train-step --plugin scalar --model %s --steps 3 --share %s", ck,
                    model("tiny-gqa.json"), name),
                 0, "%s", out);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s --nan-alert", ck, name), 0, "%s", out);
    cr_assert(strstr(out, "no NaN or Inf in ") != NULL, "%s", out);
    remove_share(name);
}

Test(observe, an_inspector_cannot_write_into_the_arena)
{
    const char *ck = ckbench(), *name = share_name("ro");
    char out[16384], err[256];
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --share %s", ck, model("tiny-gqa.json"), name),
                 0, "%s", out);
    ck_share_view v;
    cr_assert_eq(ck_share_open(name, &v, err, sizeof err), 0, "%s", err);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        ((volatile unsigned char *)v.base)[0] = 1; /* must fault: PROT_READ from an O_RDONLY fd */
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "a write through the reader's view did not fault");
    cr_assert_neq(mprotect((void *)v.h, 4096, PROT_READ | PROT_WRITE), 0,
                  "the view must not be upgradable to writable (O_RDONLY descriptor)");
    ck_share_view_close(&v);
    remove_share(name);
}

Test(observe, missing_foreign_and_mismatched_mappings_get_one_line)
{
    const char *ck = ckbench(), *name = share_name("bad");
    char out[16384], path[256];
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s", ck, name), 2, "%s", out);
    cr_assert(strstr(out, "ckbench inspect: no shared arena 'test-bad-") == out, "%s", out);
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --share %s", ck, model("tiny-gqa.json"), name),
                 0, "%s", out);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s --tensor 'text.nothing*'", ck, name), 2, "%s", out);
    cr_assert(strstr(out, "no tensor of tiny-gqa matches 'text.nothing*'") != NULL, "%s", out);
    /* a header of another format version */
    snprintf(path, sizeof path, "%s/ckernel-%s", CK_SHARE_DIR, name);
    FILE *hf = fopen(path, "r+b");
    uint32_t version = 2;
    cr_assert(hf && fseek(hf, 8, SEEK_SET) == 0 && fwrite(&version, 4, 1, hf) == 1);
    fclose(hf);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s", ck, name), 2, "%s", out);
    cr_assert(strstr(out, "shared arena format version 2, this ckbench reads version 1\n") != NULL, "%s", out);
    version = 1;
    cr_assert((hf = fopen(path, "r+b")) && fseek(hf, 8, SEEK_SET) == 0 && fwrite(&version, 4, 1, hf) == 1);
    fclose(hf);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s", ck, name), 0, "%s", out);
    /* the layout beside it replaced by another model's */
    snprintf(path, sizeof path, "%s/ckernel-%s.layout.json", CK_SHARE_DIR, name);
    cr_assert_eq(sh(out, sizeof out, "%s plan --model %s --layout %s", ck, model("tiny-llava.json"), path), 0, "%s",
                 out);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s", ck, name), 2, "%s", out);
    cr_assert(strstr(out, "(layout mismatch") != NULL && strchr(out, '\n') == strrchr(out, '\n'), "%s", out);
    /* not ours at all */
    snprintf(path, sizeof path, "%s/ckernel-%s", CK_SHARE_DIR, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 8192; i++)
        fputc('x', f);
    fclose(f);
    cr_assert_eq(sh(out, sizeof out, "%s inspect %s", ck, name), 2, "%s", out);
    cr_assert(strstr(out, "not a ckernel shared arena (bad magic)") != NULL, "%s", out);
    remove_share(name);
}

/* ---- checkpoints and diff --------------------------------------------------- */

/* 1 if the two files differ in any byte. */
static int files_differ(const char *a, const char *b)
{
    size_t la, lb;
    char *x = ck_read_file(a, &la), *y = ck_read_file(b, &lb);
    cr_assert(x && y, "%s or %s unreadable", a, b);
    int d = la != lb || memcmp(x, y, la) != 0;
    free(x), free(y);
    return d;
}

Test(observe, diff_of_checkpoints_k_and_k_plus_1_names_exactly_the_weights_that_changed)
{
    const char *ck = ckbench(), *dir = temp_dir(), *m = model("tiny-llava.json");
    static char out[1 << 16];
    for (int k = 2; k <= 3; k++)
        cr_assert_eq(
            sh(out, sizeof out, "%s train-step --plugin scalar --model %s --steps %d --save %s/k%d", ck, m, k, dir, k),
            0, "%s", out);
    cr_assert_eq(sh(out, sizeof out, "%s diff %s/k2 %s/k3", ck, dir, dir), 1, "%s", out);
    /* the truth, byte by byte, from the manifest's file list */
    char path[512], a[512], b[512];
    snprintf(path, sizeof path, "%s/k2/manifest.json", dir);
    char *manifest = ck_read_file(path, NULL);
    cr_assert_not_null(manifest);
    size_t changed = 0, same = 0, frozen = 0;
    for (const char *p = manifest; (p = strstr(p, "\"file\":\t\"")) != NULL;) {
        char file[200], line[300];
        p += strlen("\"file\":\t\"");
        snprintf(file, sizeof file, "%.*s", (int)(strchr(p, '"') - p), p);
        snprintf(a, sizeof a, "%s/k2/%s", dir, file);
        snprintf(b, sizeof b, "%s/k3/%s", dir, file);
        int differs = files_differ(a, b);
        snprintf(line, sizeof line, "%s%.*s%s", differs ? "changed   " : "same      ", (int)strlen(file) - 4, file,
                 differs ? ": " : "\n");
        cr_assert(strstr(out, line) != NULL, "diff does not say '%s'", line);
        changed += (size_t)differs;
        same += (size_t)!differs;
        frozen += !differs && strncmp(file, "vision.", 7) == 0;
        cr_assert(differs || strncmp(file, "vision.", 7) == 0, "%s did not change in step 3", file);
    }
    free(manifest);
    cr_assert(changed > 0 && frozen > 0, "a step changes the decoder, never the frozen encoder");
    char summary[128];
    snprintf(summary, sizeof summary, "%zu tensors compared: %zu changed, %zu identical;", changed + same, changed,
             same);
    cr_assert(strstr(out, summary) != NULL, "%s", summary);
    cr_assert_eq(sh(out, sizeof out, "%s diff %s/k3 %s/k3", ck, dir, dir), 0, "%s", out);
    cr_assert_eq(sh(out, sizeof out, "%s diff %s/k3 %s/nothing", ck, dir, dir), 2, "%s", out);
    cr_assert(strstr(out, "/nothing: not a dump or checkpoint (cannot read manifest.json)\n") != NULL, "%s", out);
    sh(out, sizeof out, "rm -rf %s", dir);
}

Test(observe, diff_flags_a_std_that_grew_3x)
{
    const char *ck = ckbench(), *dir = temp_dir(), *m = model("tiny-gqa.json");
    char out[16384];
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --dump '*.attention.out' %s/a", ck, m, dir), 0,
                 "%s", out);
    /* the same tensors, then layer 0's scaled 5x: its std grows 5x */
    cr_assert_eq(sh(out, sizeof out, "%s run --plugin scalar --model %s --dump '*.attention.out' %s/b", ck, m, dir), 0,
                 "%s", out);
    char path[512];
    snprintf(path, sizeof path, "%s/b/text.layer.0.attention.out.npy", dir);
    ck_npy t;
    char err[256];
    cr_assert_eq(ck_npy_read(path, &t, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < t.bytes / 4; i++)
        ((float *)t.data)[i] *= 5.0f;
    size_t shape[4] = {t.shape[0], t.shape[1], t.shape[2], 0};
    cr_assert_eq(ck_npy_write(path, "<f4", shape, t.ndim, t.data, t.bytes, err, sizeof err), 0, "%s", err);
    free(t.data);
    cr_assert_eq(sh(out, sizeof out, "%s diff %s/a %s/b", ck, dir, dir), 1, "%s", out);
    cr_assert(strstr(out, "changed   text.layer.0.attention.out: ") != NULL, "%s", out);
    cr_assert(strstr(out, "; std grew 5.0x: possible gradient explosion") != NULL, "%s", out);
    cr_assert(strstr(out, "same      text.layer.1.attention.out\n") != NULL, "%s", out);
    sh(out, sizeof out, "rm -rf %s", dir);
}

Test(observe, a_shared_arena_changes_no_bit_of_a_run_or_a_training_step)
{
    const char *ck = ckbench(), *name = share_name("same");
    static char a[16384], b[16384];
    const char *m = model("tiny-llava.json");
    cr_assert_eq(sh(a, sizeof a, "%s run --plugin scalar --model %s --window 1", ck, m), 0, "%s", a);
    cr_assert_eq(sh(b, sizeof b, "%s run --plugin scalar --model %s --window 1 --share %s", ck, m, name), 0, "%s", b);
    cr_assert_eq(printed_digest(a, "digest "), printed_digest(b, "digest "), "%s\n%s", a, b);
    cr_assert_eq(sh(a, sizeof a, "%s train-step --plugin scalar --model %s --steps 3", ck, m), 0, "%s", a);
    cr_assert_eq(sh(b, sizeof b, "%s train-step --plugin scalar --model %s --steps 3 --share %s", ck, m, name), 0, "%s",
                 b);
    cr_assert_str_eq(strstr(a, "step 1:"), strstr(b, "step 1:"), "the losses differ with --share");
    /* the finished mapping says where it stopped */
    cr_assert_eq(sh(a, sizeof a, "%s inspect %s --tensor text.footer.lm_head.loss", ck, name), 0, "%s", a);
    cr_assert(strstr(a, "tiny-llava (training), step 3, finished, op -, writer pid ") != NULL, "%s", a);
    cr_assert(strstr(a, "text.footer.lm_head.loss") != NULL, "%s", a);
    remove_share(name);
}

/* A writer stopped inside a step leaves that part's seqlock odd: the
 * inspector must mark what it read there as not consistent, and nothing
 * when the writer is stopped between steps. */
Test(observe, tensors_read_while_their_step_runs_are_marked)
{
    const char *ck = ckbench(), *name = share_name("seq");
    static char out[1 << 18];
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        freopen("/dev/null", "w", stdout);
        execl(ck, ck, "train-step", "--plugin", "scalar", "--model", model("tiny-gqa.json"), "--steps", "100000",
              "--threads", "1", "--share", name, (char *)NULL);
        _exit(127);
    }
    int inside = 0, between = 0;
    for (int tries = 0; tries < 300 && inside < 5; tries++) {
        usleep(10000);
        kill(pid, SIGSTOP);
        int rc = sh(out, sizeof out, "%s inspect %s --json", ck, name);
        kill(pid, SIGCONT);
        if (rc != 0 || !strstr(out, "\"state\":\"running\""))
            continue;
        int idle = strstr(out, "\"op\":\"-\"") != NULL, torn = strstr(out, "\"consistent\":false") != NULL;
        cr_assert(idle ? !torn : torn, "stopped %s a step, yet %s tensor was marked torn: %.300s",
                  idle ? "between" : "inside", idle ? "a" : "no", out);
        inside += !idle;
        between += idle;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    cr_assert(inside > 0, "never caught the writer inside a step");
    cr_log_info("stopped inside a step %d times, between steps %d times", inside, between);
    remove_share(name);
}
