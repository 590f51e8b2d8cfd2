/* Generated weights, remembered: the same (seed, op, buffer name, dtype,
 * count, scale) always generates the same bytes, and a model's parity run
 * asks for the same large matrices several times (prefill and decode cases
 * of one linear, the members of fused cases). Copying them back is ~50x
 * faster than regenerating. Bounded, least recently used out first.
 *
 * The copies are mapped MADV_DONTFORK: parity forks a child per case, and a
 * fork's cost grows with the parent's mapped memory; the children never
 * need the memo. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "case_internal.h"

#define MEMO_CAPACITY (1ull << 30) /* bytes held at most */
#define MEMO_MIN_BYTES (1u << 20)  /* smaller buffers are cheap to regenerate */
#define MEMO_SLOTS 16

typedef struct memo_entry {
    case_memo_key key;
    void *data;
    size_t bytes;
    uint64_t last_use;
} memo_entry;

static memo_entry slots[MEMO_SLOTS];
static size_t held;
static uint64_t tick;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

void case_memo_key_init(case_memo_key *k, const ck_case *c, const char *name, uint32_t dtype, size_t n, double sigma)
{
    memset(k, 0, sizeof *k); /* keys are compared bytewise: no stray padding */
    k->seed = c->seed;
    k->op = c->shape.op;
    k->dtype = dtype;
    k->n = n;
    k->sigma = sigma;
    strncpy(k->name, name, sizeof k->name - 1);
}

int case_memo_get(const case_memo_key *k, void *dst, size_t bytes)
{
    if (bytes < MEMO_MIN_BYTES)
        return 0;
    int hit = 0;
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < MEMO_SLOTS && !hit; i++) {
        if (slots[i].data && slots[i].bytes == bytes && !memcmp(&slots[i].key, k, sizeof *k)) {
            memcpy(dst, slots[i].data, bytes);
            slots[i].last_use = ++tick;
            hit = 1;
        }
    }
    pthread_mutex_unlock(&mu);
    return hit;
}

static void *alloc_unforked(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, bytes, MADV_DONTFORK);
    return p;
}

static void evict(size_t i)
{
    munmap(slots[i].data, slots[i].bytes);
    held -= slots[i].bytes;
    memset(&slots[i], 0, sizeof slots[i]);
}

void case_memo_put(const case_memo_key *k, const void *src, size_t bytes)
{
    if (bytes < MEMO_MIN_BYTES || bytes > MEMO_CAPACITY / 2)
        return;
    void *copy = alloc_unforked(bytes);
    if (!copy)
        return;
    memcpy(copy, src, bytes);
    pthread_mutex_lock(&mu);
    for (;;) {
        size_t free_slot = MEMO_SLOTS, oldest = MEMO_SLOTS;
        for (size_t i = 0; i < MEMO_SLOTS; i++) {
            if (!slots[i].data)
                free_slot = free_slot == MEMO_SLOTS ? i : free_slot;
            else if (oldest == MEMO_SLOTS || slots[i].last_use < slots[oldest].last_use)
                oldest = i;
        }
        if (free_slot < MEMO_SLOTS && held + bytes <= MEMO_CAPACITY) {
            slots[free_slot] = (memo_entry){*k, copy, bytes, ++tick};
            held += bytes;
            break;
        }
        evict(oldest); /* there is one: a full table or too many bytes means entries */
    }
    pthread_mutex_unlock(&mu);
}
