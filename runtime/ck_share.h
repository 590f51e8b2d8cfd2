/* ck_share.h — the single allocation as a named shared mapping, so that
 * another process can watch a running model by tensor name without hooks.
 *
 * `--share NAME` makes three files under CK_SHARE_DIR:
 *   ckernel-NAME              a header page, then the arena (layout.json's offsets
 *                             count from the arena's start, header_bytes into the file)
 *   ckernel-NAME.layout.json  the plan, byte for byte as `ckbench plan` writes it
 *   ckernel-NAME.ops          one label per line: what `op` in the header indexes
 * The writer pays a store of the op index and two stores of a per-slot
 * sequence counter around each step (a seqlock: odd while a step of that
 * slot runs). Slots are the parts of the plan in order: per section its
 * header, each layer, its footer (ck_share_slot). The files stay after the
 * run (state FINISHED) for a post-mortem look, until the next run with that
 * NAME replaces them. Format: docs/layout.md §7. */
#ifndef CK_SHARE_H
#define CK_SHARE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "ck_arena.h"
#include "ck_plan.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_SHARE_DIR "/dev/shm"
#define CK_SHARE_MAGIC "CKSHARE"
#define CK_SHARE_VERSION 1u
#define CK_SHARE_IDLE UINT64_MAX /* header.op when no step runs */

enum { CK_SHARE_STARTING = 0, CK_SHARE_RUNNING = 1, CK_SHARE_FINISHED = 2 };

typedef struct ck_share_header {
    char magic[8]; /* CK_SHARE_MAGIC, written last */
    uint32_t version;
    uint32_t n_slots;
    uint64_t header_bytes; /* the arena's offset in the file (a page multiple) */
    uint64_t arena_bytes;  /* the plan's total */
    uint64_t layout_hash;  /* FNV-1a of the layout.json file beside it */
    int64_t writer_pid;
    char model[64];
    char mode[16];          /* "forward", "training", "decode" */
    _Atomic uint64_t step;  /* training step in progress (1-based); 0 for a run */
    _Atomic uint64_t op;    /* line of the .ops file running now, or CK_SHARE_IDLE */
    _Atomic uint32_t state; /* CK_SHARE_STARTING, RUNNING, FINISHED */
    uint32_t pad;
    _Atomic uint64_t seq[]; /* n_slots seqlock counters */
} ck_share_header;

typedef struct ck_share ck_share;

/* NAME: 1-63 of [A-Za-z0-9_-]. 0, or -1 with one line in err. */
int ck_share_check_name(const char *name, char *err, size_t len);

/* Write layout.json, create the mapping and map the arena into *arena
 * (ck_arena_map_file). Refused when NAME is held by a live writer, and,
 * when `whole` (every byte will be touched: no window), when CK_SHARE_DIR
 * has less free space than the arena: tmpfs would SIGBUS at the first page
 * past its limit instead. The header's magic is set by
 * ck_share_publish_ops. NULL with err. */
ck_share *ck_share_create(const char *name, const ck_plan *p, int whole, ck_arena *arena, char *err, size_t len);
ck_share_header *ck_share_hdr(ck_share *s);
/* Replace the .ops file with these labels, then mark the mapping live. */
int ck_share_publish_ops(ck_share *s, const char *const *labels, size_t n, char *err, size_t len);
/* State FINISHED, unmap the header. The files stay. */
void ck_share_close(ck_share *s);

/* The slot of a plan part: per section, header, layers 0..L-1, footer. */
size_t ck_share_slot(const ck_plan *p, uint32_t section, int part, uint32_t layer);
size_t ck_share_n_slots(const ck_plan *p);

/* The writer's side of the seqlock around one step. */
static inline void ck_share_enter(ck_share_header *h, size_t slot, uint64_t op)
{
    atomic_store_explicit(&h->op, op, memory_order_relaxed);
    uint64_t v = atomic_load_explicit(&h->seq[slot], memory_order_relaxed);
    atomic_store_explicit(&h->seq[slot], v + 1, memory_order_relaxed);
    /* the odd count must be visible before any byte the step writes */
    atomic_thread_fence(memory_order_release);
}

static inline void ck_share_leave(ck_share_header *h, size_t slot)
{
    uint64_t v = atomic_load_explicit(&h->seq[slot], memory_order_relaxed);
    atomic_store_explicit(&h->seq[slot], v + 1, memory_order_release);
    atomic_store_explicit(&h->op, CK_SHARE_IDLE, memory_order_relaxed);
}

/* A reader's view: the header and the arena, mapped PROT_READ from an
 * O_RDONLY descriptor, so nothing it does can write into the writer's
 * memory; the layout.json text whose hash matched the header's. */
typedef struct ck_share_view {
    const ck_share_header *h;
    const unsigned char *base; /* the arena */
    size_t map_bytes;
    char *layout_text;
    size_t layout_len;
    char path[256];
} ck_share_view;

/* Open NAME for reading. -1 with one line in err when it is missing, not a
 * ckernel mapping (magic), of another format version, not the size its
 * header says, its layout.json does not match, or its writer died while
 * running (stale). */
int ck_share_open(const char *name, ck_share_view *v, char *err, size_t len);
void ck_share_view_close(ck_share_view *v);
/* The .ops file's labels (malloc'd, one string per line; free both). */
char **ck_share_read_ops(const char *name, size_t *n);
/* 1 if the writer process still exists. */
int ck_share_writer_alive(const ck_share_header *h);

/* FNV-1a 64 of bytes: the layout's fingerprint in the header. */
uint64_t ck_share_hash(const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
