/* ck_fusion.h — the fusion-flag pass. Over a section's op sequence (every
 * layer expanded), replace runs of ops by a fused op where it is requested,
 * the plugin offers the fused kernel, and it is legal: no intermediate that
 * the fused kernel may leave unwritten is read after the group. Where
 * candidates overlap, the pass picks the set that saves the most bytes. Buffers stay
 * planned, so offsets never move. Rules and byte accounting: docs/fusion.md. */
#ifndef CK_FUSION_H
#define CK_FUSION_H

#include <stddef.h>
#include <stdint.h>

#include "ck_ir.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ck_fusion {
    CK_FUSE_GATE_UP = 0, /* the enum order breaks ties between equal savings */
    CK_FUSE_NORM_MLP,
    CK_FUSE_ACT_DOWN,
    CK_FUSE_NORM_QKV,
    CK_FUSE_ATTN_PROJ,
    CK_FUSE_QKV_ROPE,
    CK_FUSE_ADD_NORM,
    CK_FUSE_EMBED_NORM,
    CK_FUSE_COUNT
} ck_fusion;

/* Not a fusion but a condition on one, carried in the same masks: act_down
 * may take gelu_erf and quick_gelu only where the act_down kernel that would
 * run it claims CK_KF_ACT_DOWN_UNARY. ck_fusion_offered sets it, requesting
 * act_down requests it, and ck_fuse matches those activations only with it,
 * so `plan --plugin` and `run` decide alike. The alternative, a fused unit
 * whose kernel falls back to scalar split back into its members in the
 * runtime, would leave plan's report (which binds no arguments) telling
 * another story. Without it the group runs as its members on the plugin's
 * own kernels: never as scalar's fused act_down, which would be a reference
 * GEMM in the middle of a SIMD run. */
#define CK_FUSE_ACT_DOWN_UNARY (1u << CK_FUSE_COUNT)
#define CK_FUSE_FUSIONS ((1u << CK_FUSE_COUNT) - 1u)
#define CK_FUSE_ALL (CK_FUSE_FUSIONS | CK_FUSE_ACT_DOWN_UNARY)

const char *ck_fusion_name(unsigned f); /* "norm_qkv" */
uint32_t ck_fusion_op(unsigned f);      /* CK_OP_NORM_QKV */

/* "all", "none" or a comma list of names -> mask; -1 with one line in err. */
int ck_fusion_parse(const char *spec, uint32_t *mask, char *err, size_t err_len);
/* mask -> "all", "none" or a comma list in priority order. */
void ck_fusion_format(uint32_t mask, char *buf, size_t len);

#define CK_FNODE_IO 3

/* One op with the tensors it reads and writes (ids; -1 unused). */
typedef struct ck_fnode {
    uint32_t op;
    int in[CK_FNODE_IO];
    int out[CK_FNODE_IO];
    size_t out_bytes[CK_FNODE_IO];
    ck_role role; /* where it came from (for reports) */
    uint32_t layer;
    ck_shape shape;
} ck_fnode;

typedef struct ck_step {
    size_t first, count; /* nodes [first, first + count) */
    int fusion;          /* ck_fusion, or -1 for a single unfused node */
    size_t bytes_saved;  /* activation bytes not written or not re-read */
} ck_step;

typedef struct ck_fusion_result {
    ck_step *steps;
    size_t n_steps;
    size_t applied[CK_FUSE_COUNT]; /* groups fused */
    size_t blocked[CK_FUSE_COUNT]; /* matched, allowed, but an intermediate is read later */
    size_t matched[CK_FUSE_COUNT]; /* sequences of the right shape found (overlaps included) */
    size_t bytes_saved;
} ck_fusion_result;

/* Run the pass. `allowed` = requested & offered (bit f for ck_fusion f).
 * 0, or -1 when out of memory. */
int ck_fuse(const ck_fnode *nodes, size_t n, uint32_t allowed, ck_fusion_result *res);
void ck_fusion_result_free(ck_fusion_result *res);

/* The fusions plugin p offers for matrix weights of `weight_dtype`: the
 * kernel of each fused op with CK_KF_FUSED at that dtype (F32 for add_norm),
 * and CK_FUSE_ACT_DOWN_UNARY where its act_down kernel claims
 * CK_KF_ACT_DOWN_UNARY. */
uint32_t ck_fusion_offered(const ck_plugin *p, uint32_t weight_dtype);
uint32_t ck_fusion_kernel_dtype(unsigned f, uint32_t weight_dtype);

/* `allowed` restricted to what section `sec` may fuse: a section whose token
 * embeddings receive a bridge's rows may not fuse embed_norm (the splice must
 * land between the embedding and the norm). */
uint32_t ck_fusion_section_allowed(const ck_model *m, size_t sec, uint32_t allowed);

/* Run the pass over every section with `allowed` (= requested & what
 * `plugin_name` offers; pass the requested set and "" to assume every
 * fusion offered) and record the outcome in p->fusion for layout.json.
 * 0, or -1 when out of memory. */
struct ck_plan;
int ck_plan_record_fusion(struct ck_plan *p, const ck_model *m, uint32_t requested, uint32_t allowed,
                          const char *plugin_name);

/* The dataflow nodes of section `sec`, every layer expanded, in execution
 * order. Returns the count (*out malloc'd), 0 on failure. */
size_t ck_section_fnodes(const ck_model *m, size_t sec, const ck_graph_opts *opts, ck_fnode **out);

#ifdef __cplusplus
}
#endif
#endif
