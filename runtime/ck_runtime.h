/* ck_runtime.h — the one header a program includes to plan a model, load a
 * plugin and run or train the model through it, without ckbench:
 *
 *   ck_model *m = ck_model_load("tiny-gqa.json", err, sizeof err);
 *   ck_plugin *p = ck_plugin_load("avx2", err, sizeof err), *s = ck_plugin_load("scalar", ...);
 *   ck_runner *r = ck_runner_create(m, p, s, &(ck_run_opts){.seed = 1}, err, sizeof err);
 *   ck_exec_ctx *ctx = ck_exec_create(2);
 *   ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err);
 *   const float *logits = ck_runner_output(r, &n);
 *
 * Layers (docs/design.md): core (ck_host.h: plugins, threads, op names) and
 * ir (ck_model.h, ck_plan.h, ck_fusion.h: the model, its plan and fusions)
 * below; the runtime (ck_run.h: bind and run, whole, windowed or one decode
 * step; ck_train.h: a training step; ck_gguf.h: weights from GGUF files)
 * here. Link with `pkg-config --libs ckernel-runtime`. */
#ifndef CK_RUNTIME_H
#define CK_RUNTIME_H

#include "ck_fusion.h"
#include "ck_gguf.h"
#include "ck_host.h"
#include "ck_model.h"
#include "ck_plan.h"
#include "ck_run.h"
#include "ck_train.h"

#endif
