/* run_model — a program other than ckbench on the installed libraries alone:
 * plan a model, load a plugin (and scalar, which stands in for any op the
 * plugin lacks), run one forward in the model's single allocation, and print
 * what came out.
 *
 *   run_model MODEL.json [PLUGIN] [THREADS]
 *
 * Plugins are found by name in CK_PLUGIN_PATH (the installed plugin
 * directory: `pkg-config --variable=plugindir ckernel`). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <ck_runtime.h>

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: run_model MODEL.json [PLUGIN] [THREADS]\n");
        return 2;
    }
    const char *plugin_name = argc > 2 ? argv[2] : "scalar";
    int threads = argc > 3 ? atoi(argv[3]) : 1;
    char err[512];
    ck_model *m = ck_model_load(argv[1], err, sizeof err);
    if (!m) {
        fprintf(stderr, "run_model: %s\n", err);
        return 2;
    }
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    ck_plugin *plugin = scalar ? ck_plugin_load(plugin_name, err, sizeof err) : NULL;
    if (!plugin || !plugin->runnable) {
        fprintf(stderr, "run_model: %s\n", plugin ? plugin->why : err);
        return 2;
    }
    ck_run_opts opts = {.seed = 1};
    ck_runner *r = ck_runner_create(m, plugin, scalar, &opts, err, sizeof err);
    ck_exec_ctx *ctx = r ? ck_exec_create(threads > 0 ? threads : 1) : NULL;
    int rc = r && ctx ? ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err) : -1;
    if (rc) {
        fprintf(stderr, "run_model: %s\n", r ? err : err);
        return 1;
    }
    size_t n = 0, fallback = 0;
    const float *y = ck_runner_output(r, &n);
    double sum = 0, sq = 0;
    size_t finite = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(y[i])) {
            finite++;
            sum += y[i];
            sq += (double)y[i] * y[i];
        }
    for (size_t i = 0; i < ck_runner_n_steps(r); i++)
        fallback += (size_t)ck_runner_step(r, i)->fallback;
    printf("%s through %s: %zu steps (%zu by scalar), %zu outputs, %zu finite, mean %.6g, rms %.6g\n", ck_model_name(m),
           plugin->desc->name, ck_runner_n_steps(r), fallback, n, finite, n ? sum / (double)n : 0.0,
           n ? sqrt(sq / (double)n) : 0.0);
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(plugin);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    return finite == n && n > 0 ? 0 : 1;
}
