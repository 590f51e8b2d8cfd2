/* The floating-point state a kernel runs under, saved before a call and
 * compared after it (ck_host.h). MXCSR and FPCR are per thread: what is
 * checked is the calling thread's, the one every kernel runs on. Status
 * (sticky exception) flags are left out: arithmetic sets them legitimately. */
#include <fenv.h>
#include <stdio.h>
#include <string.h>

#include "ck_host.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
/* rounding (13-14), flush-to-zero (15), denormals-are-zero (6), exception masks (7-12) */
#define CONTROL_MASK 0xFFC0u
static unsigned read_control(void)
{
    return _mm_getcsr() & CONTROL_MASK;
}
static void write_control(unsigned v)
{
    _mm_setcsr((_mm_getcsr() & ~CONTROL_MASK) | v);
}
#elif defined(__aarch64__)
/* FPCR: rounding (22-23), flush-to-zero (24), default NaN (25), trap enables (8-12, 15) */
#define CONTROL_MASK 0x03C09F00u
static unsigned read_control(void)
{
    unsigned long v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return (unsigned)v & CONTROL_MASK;
}
static void write_control(unsigned v)
{
    unsigned long cur;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(cur));
    cur = (cur & ~(unsigned long)CONTROL_MASK) | v;
    __asm__ __volatile__("msr fpcr, %0" : : "r"(cur));
}
#else
static unsigned read_control(void)
{
    return 0;
}
static void write_control(unsigned v)
{
    (void)v;
}
#endif

void ck_host_state_save(ck_host_state *s)
{
    s->control = read_control();
    s->round = fegetround();
}

static const char *round_name(int r)
{
    switch (r) {
    case FE_TONEAREST: return "FE_TONEAREST";
    case FE_UPWARD: return "FE_UPWARD";
    case FE_DOWNWARD: return "FE_DOWNWARD";
    case FE_TOWARDZERO: return "FE_TOWARDZERO";
    }
    return "an unknown mode";
}

static void append(char *msg, size_t len, const char *what)
{
    size_t l = strlen(msg);
    if (l < len)
        snprintf(msg + l, len - l, "%s%s", l ? ", " : "", what);
}

/* One phrase per control bit group that differs. */
static void describe_control(unsigned was, unsigned now, char *msg, size_t len)
{
#if defined(__x86_64__) || defined(__i386__)
    static const char *const rounding[4] = {"nearest", "down", "up", "toward zero"};
    char buf[96];
    if ((was ^ now) & 0x8000u)
        append(msg, len, now & 0x8000u ? "left MXCSR flush-to-zero set" : "left MXCSR flush-to-zero cleared");
    if ((was ^ now) & 0x40u)
        append(msg, len, now & 0x40u ? "left MXCSR denormals-are-zero set" : "left MXCSR denormals-are-zero cleared");
    if ((was ^ now) & 0x6000u) {
        snprintf(buf, sizeof buf, "left MXCSR rounding %s (was %s)", rounding[(now >> 13) & 3],
                 rounding[(was >> 13) & 3]);
        append(msg, len, buf);
    }
    if ((was ^ now) & 0x1F80u)
        append(msg, len, "changed the MXCSR exception masks");
#elif defined(__aarch64__)
    if ((was ^ now) & (1u << 24))
        append(msg, len, now & (1u << 24) ? "left FPCR flush-to-zero set" : "left FPCR flush-to-zero cleared");
    if ((was ^ now) & (3u << 22))
        append(msg, len, "changed the FPCR rounding mode");
    if ((was ^ now) & ~((1u << 24) | (3u << 22)))
        append(msg, len, "changed FPCR default-NaN or trap bits");
#else
    (void)was;
    (void)now;
    (void)msg;
    (void)len;
#endif
}

int ck_host_state_changed(const ck_host_state *before, char *msg, size_t len)
{
    ck_host_state now;
    ck_host_state_save(&now);
    if (len)
        msg[0] = 0;
    if (now.control == before->control && now.round == before->round)
        return 0;
    describe_control(before->control, now.control, msg, len);
    if (now.round != before->round) {
        char buf[96];
        snprintf(buf, sizeof buf, "left the fenv rounding mode at %s (was %s)", round_name(now.round),
                 round_name(before->round));
        append(msg, len, buf);
    }
    if (len && !msg[0])
        snprintf(msg, len, "changed the floating-point control state");
    return 1;
}

void ck_host_state_restore(const ck_host_state *s)
{
    fesetround(s->round);
    write_control(s->control);
}

int ck_kernel_call_restoring(const ck_kernel_desc *k, const ck_exec_ctx *ctx, const void *args, int *restored)
{
    ck_host_state fp, after;
    ck_exec_ctx saved = *ctx;
    ck_host_state_save(&fp);
    int rc = k->fn(ctx, args);
    ck_host_state_save(&after);
    *restored = 0;
    if (after.control != fp.control || after.round != fp.round) {
        ck_host_state_restore(&fp);
        *restored = 1;
    }
    char msg[200];
    if (ck_exec_workers_state_changed(ctx, msg, sizeof msg))
        *restored = 1;
    if (memcmp(ctx, &saved, sizeof saved) != 0) {
        /* the host's own object, handed to the kernel as const */
        memcpy((void *)ctx, &saved, sizeof saved);
        *restored = 1;
    }
    return rc;
}
