/* case_internal.h — what the ck_case files share: the case itself, the
 * guarded buffers and the seeded generators (case_buf.c), and the per-op
 * builders (case_forward.c, case_backward.c, case_fused.c) that
 * case_ops.def names. Not for use outside them. */
#ifndef CK_CASE_INTERNAL_H
#define CK_CASE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ck_case.h"
#include "ck_rng.h"

#define GUARD 64 /* canary bytes: the distance the canary pattern's index starts the back side at */
#define CASE_MAX_BUFS CK_CASE_MAX_BUFS
#define MAX_CASE_BYTES (6ull << 30) /* refuse shapes that would not fit a test machine */
#define LARGE_ROW_ODDS 16           /* about one activation row in 16 is large */
#define LARGE_ROW_SCALE 32.0
#define WEIGHT_SIGMA 0.02
#define ROPE_THETA 10000.0
#define ADAM_STEP 10u

typedef union case_args {
    ck_norm_args norm;
    ck_linear_args linear;
    ck_qkv_args qkv;
    ck_rope_args rope;
    ck_attention_args attention;
    ck_swiglu_args swiglu;
    ck_unary_args unary;
    ck_add_args add;
    ck_embedding_args embedding;
    ck_adam_args adam;
    ck_quant_args quant;
    ck_norm_bwd_args norm_bwd;
    ck_linear_bwd_args linear_bwd;
    ck_qkv_bwd_args qkv_bwd;
    ck_attention_bwd_args attention_bwd;
    ck_swiglu_bwd_args swiglu_bwd;
    ck_unary_bwd_args unary_bwd;
    ck_embedding_bwd_args embedding_bwd;
    ck_cross_entropy_args cross_entropy;
    ck_fused_embed_norm_args embed_norm;
    ck_fused_norm_qkv_args norm_qkv;
    ck_fused_qkv_rope_args qkv_rope;
    ck_fused_attn_proj_args attn_proj;
    ck_fused_norm_mlp_args norm_mlp;
    ck_fused_gate_up_args gate_up;
    ck_fused_act_down_args act_down;
    ck_fused_add_norm_args add_norm;
} case_args;

#define CASE_MAX_MEMBERS 4

/* A buffer's own mapping: PROT_NONE guard pages | canary | data | canary |
 * PROT_NONE guard pages, with the data starting at a page start or ending at
 * a page end (ck_case_place), so a kernel's access just outside faults. */
typedef struct case_map {
    unsigned char *base; /* the whole mapping, guard pages included */
    size_t len;
    unsigned char *lo, *hi; /* the accessible bytes: [lo, data) and [data + bytes, hi) are canaries */
} case_map;

struct ck_case {
    ck_shape shape;
    uint64_t seed;
    ck_case_buf bufs[CASE_MAX_BUFS];
    case_map map[CASE_MAX_BUFS];
    size_t n_bufs;
    size_t total_bytes;
    case_args args;
    /* fused ops: the members' shapes, and the "<member>.<field>" names */
    ck_shape members[CASE_MAX_MEMBERS];
    size_t n_members;
    char names[CASE_MAX_BUFS][48];
    /* unbacked (ck_case_create_unbacked): buffers are PROT_NONE address
     * space, inputs are not generated, and nothing is ever reset */
    int unbacked;
    /* packed (ck_case_copy_in): buffers below a huge page come from here */
    ck_case_slab *slab;
    size_t slab_bytes; /* what building the case takes of a slab, dropped buffers included */
};

/* ck_case_slab (case_slab.c): one mapping carved in page steps. */
struct ck_case_slab {
    unsigned char *base, *next;
    size_t len;
};
/* The bytes of a buffer of `bytes` in a slab (0 for one that gets its own
 * mapping there: a huge page or more). */
size_t case_slab_span(size_t bytes);
/* Carve a buffer of `bytes` from c's slab into m (not owned: case_map_free
 * leaves it) at a page start, as a guarded mapping would place it, with no
 * guard pages or canaries around it. 0, or -1 for a buffer that takes its
 * own mapping: a huge page or more, or no room left. */
int case_slab_carve(ck_case *c, case_map *m, size_t bytes, unsigned char **data);


/* The score scale of an attention shape: its own, or 1 / sqrt(head_dim). */
float case_attention_scale(const ck_shape *s);
/* One line "<op instance>: <what>" into err. */
void case_fail(char *err, size_t len, const ck_shape *s, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* a * b, or 0 with *ok cleared on overflow */
size_t case_mul(size_t a, size_t b, int *ok);
/* Add a guarded buffer of `values` values; its data pointer, or NULL with err. */
void *case_add_buf(ck_case *c, const char *name, ck_buf_role role, uint32_t dtype, size_t values, char *err,
                   size_t err_len);
/* The generated contents of the IN/INOUT buffer whose data is `data`. */
void *case_init_of(ck_case *c, void *data);
/* Give the buffer at data a logical shape. */
void case_dims(ck_case *c, const void *data, int ndim, size_t d0, size_t d1, size_t d2);
int case_need(int cond, char *err, size_t err_len, const ck_shape *s, const char *what);
/* The shape's rows, T, as a case may have them: >= 1, or 0 for a backward
 * op with weight gradients, which over no rows are written as zeros
 * (docs/ops.md), not a no-op. */
int case_rows_ok(const ck_shape *s);
int case_is_weight_dtype(uint32_t d, int allow_quant);

/* Guards: the canary byte at offset i, (re-)arming the canaries of buffer i
 * (writing only bytes that differ: an input's may be read-only), a mapping
 * for `bytes` with its data at a page start or end, and an output's poison. */
unsigned char case_canary_byte(size_t i);
void case_arm_canaries(ck_case *c, size_t i);
int case_map_alloc(case_map *m, size_t bytes, int end_aligned, unsigned char **data);
int case_map_alloc_prot(case_map *m, size_t bytes, int end_aligned, int prot, unsigned char **data);
void case_free_init(const ck_case *c, ck_case_buf *b);
void case_map_free(case_map *m);
void case_poison(ck_case_buf *b);

/* Generators, each seeded from (seed, op, buffer name). */
void case_gen_activations(const ck_case *c, const char *name, float *x, size_t rows, size_t cols);
void case_gen_normal(const ck_case *c, const char *name, float *x, size_t n, double mean, double sigma);
void case_gen_weights(const ck_case *c, const char *name, void *w, uint32_t dtype, size_t n, double sigma);
void case_gen_ids(const ck_case *c, const char *name, int32_t *ids, size_t T, size_t n);
void case_stream(const ck_case *c, const char *name, ck_rng *r);

/* Remembered weights (case_memo.c): get copies into dst and returns 1 on a
 * hit; put keeps a copy of a large buffer. Thread-safe. */
typedef struct case_memo_key {
    uint64_t seed;
    uint32_t op, dtype;
    size_t n;
    double sigma;
    char name[48];
} case_memo_key;
void case_memo_key_init(case_memo_key *k, const ck_case *c, const char *name, uint32_t dtype, size_t n, double sigma);
int case_memo_get(const case_memo_key *k, void *dst, size_t bytes);
void case_memo_put(const case_memo_key *k, const void *src, size_t bytes);

/* Builders (case_ops.def names one per op): fill c->bufs and c->args for
 * c->shape (a fused op: from c->members); 0, or -1 with err. */
typedef int (*case_builder)(ck_case *c, char *err, size_t err_len);
int case_build_op(ck_case *c, char *err, size_t err_len); /* the builder of c->shape.op */
int case_build_norm(ck_case *c, char *err, size_t err_len);
int case_build_linear(ck_case *c, char *err, size_t err_len);
int case_build_qkv(ck_case *c, char *err, size_t err_len);
int case_build_rope(ck_case *c, char *err, size_t err_len); /* also rope_bwd: same buffers */
int case_build_attention(ck_case *c, char *err, size_t err_len);
int case_build_gated(ck_case *c, char *err, size_t err_len); /* swiglu, geglu */
int case_build_gelu(ck_case *c, char *err, size_t err_len);
int case_build_add(ck_case *c, char *err, size_t err_len);
int case_build_embedding(ck_case *c, char *err, size_t err_len);
int case_build_adam(ck_case *c, char *err, size_t err_len);
int case_build_quant(ck_case *c, char *err, size_t err_len);
int case_build_norm_bwd(ck_case *c, char *err, size_t err_len);
int case_build_linear_bwd(ck_case *c, char *err, size_t err_len);
int case_build_qkv_bwd(ck_case *c, char *err, size_t err_len);
int case_build_attention_bwd(ck_case *c, char *err, size_t err_len);
int case_build_swiglu_bwd(ck_case *c, char *err, size_t err_len);
int case_build_gelu_bwd(ck_case *c, char *err, size_t err_len);
int case_build_embedding_bwd(ck_case *c, char *err, size_t err_len);
int case_build_cross_entropy(ck_case *c, char *err, size_t err_len);
int case_fuse_embed_norm(ck_case *c, char *err, size_t err_len);
int case_fuse_norm_qkv(ck_case *c, char *err, size_t err_len);
int case_fuse_qkv_rope(ck_case *c, char *err, size_t err_len);
int case_fuse_attn_proj(ck_case *c, char *err, size_t err_len);
int case_fuse_norm_mlp(ck_case *c, char *err, size_t err_len);
int case_fuse_gate_up(ck_case *c, char *err, size_t err_len);
int case_fuse_act_down(ck_case *c, char *err, size_t err_len);
int case_fuse_add_norm(ck_case *c, char *err, size_t err_len);

/* The inputs a forward op and its backward share, added and generated
 * (case_forward.c): norm's x and gamma, linear's x and w, qkv's x, wq, wk,
 * wv (after case_qkv_shape_ok), attention's q, k, v (shape checked). */
int case_norm_inputs(ck_case *c, void **x, void **gamma, char *err, size_t err_len);
int case_linear_inputs(ck_case *c, void **x, void **w, char *err, size_t err_len);
int case_qkv_shape_ok(const ck_case *c, char *err, size_t err_len);
int case_qkv_inputs(ck_case *c, void *in[4], char *err, size_t err_len);
int case_attention_inputs(ck_case *c, void *in[3], char *err, size_t err_len);

/* Fused cases: the buffer whose data is `data` (NULL if none), its removal,
 * and a change of role. */
ck_case_buf *case_buf_of(ck_case *c, const void *data);
void case_drop_buf(ck_case *c, const void *data);

/* Declare buffer p_<name> of the op (in a builder with `s`, `ok`, `err`). */
#define ADD(name, role, dtype, n)                                                                                      \
    do {                                                                                                               \
        size_t n_ = (n);                                                                                               \
        if (!ok) {                                                                                                     \
            case_fail(err, err_len, s, "buffer '%s' size overflows", #name);                                           \
            return -1;                                                                                                 \
        }                                                                                                              \
        if (!(p_##name = case_add_buf(c, #name, role, dtype, n_, err, err_len)))                                       \
            return -1;                                                                                                 \
    } while (0)

#endif /* CK_CASE_INTERNAL_H */
