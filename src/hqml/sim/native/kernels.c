/* Layers of single-qubit gates on a batched statevector, by cache blocking.
 *
 * A layer is a set of 2x2 factors on distinct wires (they commute). Gates on the low index bits
 * (below k, a block of 2^k amplitudes that stays in L2) are applied one after another inside
 * each block: one pass over the state. Gates on the high bits are applied in a second pass over
 * tiles: for fixed other bits, the 2^h rows (one per combination of the high bits) of a run of
 * 2^c contiguous amplitudes; each row is contiguous, the gates act across rows. So a whole layer
 * costs about two passes over memory, whatever the number of gates.
 *
 * Build: gcc -O3 -march=native -fopenmp -pthread -shared -fPIC -o _hqml_kernels-<cpu>.so kernels.c -lm
 * (hqml/sim/native/build.py does this, naming the file by the CPU's fingerprint).
 * Loaded with ctypes by hqml.sim.native. */

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX512F__) || (defined(__AVX__) && defined(__FMA__))
#include <immintrin.h>
#endif

/* Vector width in bytes, from the instruction sets the compiler targets (build.py passes
 * -march=native, or a variant's flags): 64 with AVX-512, 32 with AVX/AVX2, else 16 (SSE2 on any
 * x86-64, NEON on arm64; GCC lowers the vector types to scalar code where there is neither).
 * A width wider than the CPU's registers is split by GCC into pairs of instructions, which
 * costs registers and was measured 5x slower on an AVX2-only CPU, so it is never forced. */
#ifndef VBYTES
#if defined(__AVX512F__)
#define VBYTES 64
#elif defined(__AVX__)
#define VBYTES 32
#else
#define VBYTES 16
#endif
#endif
#if defined(__AVX512F__)
#define HQML_ISA "avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#define HQML_ISA "avx2"
#elif defined(__AVX__)
#define HQML_ISA "avx"
#elif defined(__ARM_NEON) || defined(__ARM_NEON__)
#define HQML_ISA "neon"
#elif defined(__SSE2__)
#define HQML_ISA "sse2"
#else
#define HQML_ISA "generic"
#endif
#define HMAX 10 /* high bits per tile pass: 2^h rows of 2^c amplitudes stay in L2 */
/* samples per block of the small-register interpreter: one vector of floats, so a block of
 * complex64 amplitudes is one register (two for complex128) whatever the width */
#ifndef SW
#define SW (VBYTES / 4)
#endif
#define PASS_MAX 3 /* gates across vectors per pass of the layer kernels: 2^3 vectors held */
/* the most gates across vectors per pass (hqml_set_pass_gates; 1: one gate per pass, the
 * reference the multi-gate passes equal bitwise) */
static int pass_gates = PASS_MAX;
#define MAX_THREADS 64
#define PARALLEL_MIN (1 << 15) /* amplitudes below which one thread does the whole layer */

enum { TRAJ_OP = 8, TRAJ_STEP = 4 }; /* int64 fields per operation / channel step of hqml_traj_run */
enum { OP_FIXED = 0, OP_PARAM = 1, OP_PERM = 2, OP_GIVEN = 3 }; /* ops of the small-register interpreter */

typedef struct {
    int h;
    int gates[HMAX];
    int64_t *rowoff;  /* 2^h offsets (complex) of the rows */
    int64_t free_mask;  /* index bits enumerating the tiles */
} group_t;

typedef struct {
    int k, colbits, nlow, nhigh, ngroups;
    int *low;
    group_t *groups;
} layout_t;

/* bits of t placed, lowest first, at the set bits of mask */
static inline int64_t deposit(int64_t t, int64_t mask) {
    int64_t out = 0;
    while (mask) {
        int64_t low = mask & -mask;
        if (t & 1) out |= low;
        t >>= 1;
        mask &= mask - 1;
    }
    return out;
}

static void free_layout(layout_t *L) {
    for (int g = 0; g < L->ngroups; g++) free(L->groups[g].rowoff);
    free(L->groups);
    free(L->low);
}

static int make_layout(layout_t *L, int n, int w, const int *pos, int lowbits, int colbits) {
    memset(L, 0, sizeof(*L));
    if (n < 0 || n > 40 || w < 0 || w > n) return 1;
    int64_t seen = 0;
    for (int g = 0; g < w; g++) {
        if (pos[g] < 0 || pos[g] >= n || (seen >> pos[g] & 1)) return 1;
        seen |= (int64_t)1 << pos[g];
    }
    L->k = n < lowbits ? n : lowbits;
    L->colbits = colbits < L->k ? colbits : L->k;
    L->low = malloc(sizeof(int) * (size_t)(w + 1));
    int high[64];
    for (int p = 0; p < n; p++) /* gates ordered by bit position */
        for (int g = 0; g < w; g++)
            if (pos[g] == p) {
                if (p < L->k)
                    L->low[L->nlow++] = g;
                else
                    high[L->nhigh++] = g;
            }
    L->ngroups = (L->nhigh + HMAX - 1) / HMAX;
    L->groups = calloc((size_t)(L->ngroups + 1), sizeof(group_t));
    for (int gi = 0; gi < L->ngroups; gi++) {
        group_t *G = &L->groups[gi];
        int64_t mask = 0;
        for (int i = gi * HMAX; i < L->nhigh && i < (gi + 1) * HMAX; i++) {
            G->gates[G->h++] = high[i];
            mask |= (int64_t)1 << pos[high[i]];
        }
        G->rowoff = malloc(sizeof(int64_t) << G->h);
        for (int64_t r = 0; r < ((int64_t)1 << G->h); r++) G->rowoff[r] = deposit(r, mask);
        int64_t all = (((int64_t)1 << n) - 1) & ~(((int64_t)1 << L->colbits) - 1);
        G->free_mask = all & ~mask;
    }
    return 0;
}

/* qsort order of (length, index) pairs of int64: longest first, then by index */
static int longest_first(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? 1 : -1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* A static-schedule parallel loop: contiguous chunks, so per-thread partial sums are
 * deterministic for a given thread count. On OpenMP's thread pool, except in a process forked
 * after OpenMP ran in its parent: GNU OpenMP's pool does not survive fork() (the child would
 * deadlock), and hqml's process pools fork, so there the threads are started per call. */
static volatile int forked_child = 0;

static void mark_forked_child(void) { forked_child = 1; }

__attribute__((constructor)) static void register_fork_handler(void) {
    pthread_atfork(NULL, NULL, mark_forked_child);
}

typedef struct {
    void (*fn)(void *, int64_t, int64_t, int);
    void *ctx;
    int64_t lo, hi;
    int tid;
} task_t;

static void *run_task(void *p) {
    task_t *t = p;
    t->fn(t->ctx, t->lo, t->hi, t->tid);
    return NULL;
}

static void parallel_for(void (*fn)(void *, int64_t, int64_t, int), void *ctx, int64_t n,
                         int nthreads) {
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    if (nthreads > n) nthreads = (int)n;
    if (nthreads <= 1) {
        if (n > 0) fn(ctx, 0, n, 0);
        return;
    }
    if (!forked_child) {
#pragma omp parallel num_threads(nthreads)
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            fn(ctx, n * t / nt, n * (t + 1) / nt, t);
        }
        return;
    }
    task_t tasks[MAX_THREADS];
    pthread_t th[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < nthreads; t++)
        tasks[t] = (task_t){fn, ctx, n * t / nthreads, n * (t + 1) / nthreads, t};
    for (int t = 1; t < nthreads; t++)
        started[t] = pthread_create(&th[t], NULL, run_task, &tasks[t]) == 0;
    run_task(&tasks[0]);
    for (int t = 1; t < nthreads; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            run_task(&tasks[t]); /* could not start a thread: do its share here */
    }
}

/* ---- complex128 --------------------------------------------------------------------------- */
#define T double
#define SUF _c128
typedef double V __attribute__((vector_size(VBYTES)));
typedef double VU __attribute__((vector_size(VBYTES), aligned(8)));
typedef long long M __attribute__((vector_size(VBYTES)));
#if VBYTES == 64
#define SWAP_MASK ((M){1, 0, 3, 2, 5, 4, 7, 6})
#define PARTNER0 ((M){2, 3, 0, 1, 6, 7, 4, 5})
#define PARTNER1 ((M){4, 5, 6, 7, 0, 1, 2, 3})
#elif VBYTES == 32
#define SWAP_MASK ((M){1, 0, 3, 2})
#define PARTNER0 ((M){2, 3, 0, 1})
#else /* one complex number per vector: no gate acts inside a vector, PARTNER0 is never used */
#define SWAP_MASK ((M){1, 0})
#define PARTNER0 ((M){0, 1})
#endif
/* VFMA(a, b, c) = a * b + c rounded once where the CPU has FMA, spelled out so that the layer
 * kernels' rounding is the same in every kernel that inlines them (the compiler's own
 * contraction of a * b + c * d may fuse either product, depending on the context) */
#if VBYTES == 64 && defined(__AVX512F__)
#define VFMA(a, b, c) ((V)_mm512_fmadd_pd((__m512d)(a), (__m512d)(b), (__m512d)(c)))
#elif VBYTES == 32 && defined(__AVX__) && defined(__FMA__)
#define VFMA(a, b, c) ((V)_mm256_fmadd_pd((__m256d)(a), (__m256d)(b), (__m256d)(c)))
#else
#define VFMA(a, b, c) ((a) * (b) + (c))
#endif
#define LOW_BITS 14 /* 256 KiB blocks */
#define COL_BITS 5  /* 512-byte rows */
#include "kernels_impl.h"
#include "traj_impl.h"
typedef double SV64 __attribute__((vector_size(SW * sizeof(double))));
#define SV SV64
#include "small_impl.h"
#undef SV
#undef T
#undef SUF
#undef SWAP_MASK
#undef PARTNER0
#undef PARTNER1
#undef LOW_BITS
#undef COL_BITS
#define V V32
#define VU VU32
#define M M32

/* ---- complex64 ---------------------------------------------------------------------------- */
#define T float
#define SUF _c64
typedef float V32 __attribute__((vector_size(VBYTES)));
typedef float VU32 __attribute__((vector_size(VBYTES), aligned(4)));
typedef int M32 __attribute__((vector_size(VBYTES)));
#if VBYTES == 64
#define SWAP_MASK ((M){1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14})
#define PARTNER0 ((M){2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13})
#define PARTNER1 ((M){4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11})
#define PARTNER2 ((M){8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7})
#elif VBYTES == 32
#define SWAP_MASK ((M){1, 0, 3, 2, 5, 4, 7, 6})
#define PARTNER0 ((M){2, 3, 0, 1, 6, 7, 4, 5})
#define PARTNER1 ((M){4, 5, 6, 7, 0, 1, 2, 3})
#else
#define SWAP_MASK ((M){1, 0, 3, 2})
#define PARTNER0 ((M){2, 3, 0, 1})
#endif
#undef VFMA
#if VBYTES == 64 && defined(__AVX512F__)
#define VFMA(a, b, c) ((V)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#elif VBYTES == 32 && defined(__AVX__) && defined(__FMA__)
#define VFMA(a, b, c) ((V)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#else
#define VFMA(a, b, c) ((a) * (b) + (c))
#endif
#define LOW_BITS 15
#define COL_BITS 6
#include "kernels_impl.h"
#include "traj_impl.h"
typedef float SV32 __attribute__((vector_size(SW * sizeof(float))));
#define SV SV32
#include "small_impl.h"
#undef SV

typedef struct { int64_t re, im; } pair64;

/* ---- whole-register gather: out[b, i] = in[b, index[i]] ----------------------------------- */
typedef struct {
    const void *in;
    void *out;
    const int64_t *index;
    int64_t N, in_bstride, nchunks;
    int itemsize;
} gather_t;

#define GATHER_CHUNK ((int64_t)1 << 14)

static void gather_body(void *ctx, int64_t lo, int64_t hi, int tid) {
    const gather_t *g = ctx;
    (void)tid;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / g->nchunks, a = (it % g->nchunks) * GATHER_CHUNK;
        int64_t e = a + GATHER_CHUNK < g->N ? a + GATHER_CHUNK : g->N;
        if (g->itemsize == 16) {
            const pair64 *src = (const pair64 *)g->in + b * g->in_bstride;
            pair64 *dst = (pair64 *)g->out + b * g->N;
            for (int64_t i = a; i < e; i++) dst[i] = src[g->index[i]];
        } else {
            const int64_t *src = (const int64_t *)g->in + b * g->in_bstride;
            int64_t *dst = (int64_t *)g->out + b * g->N;
            for (int64_t i = a; i < e; i++) dst[i] = src[g->index[i]];
        }
    }
}

int hqml_gather(const void *in, void *out, const int64_t *index, int64_t B, int64_t N,
                int64_t in_bstride, int itemsize, int nthreads) {
    if (itemsize != 8 && itemsize != 16) return 1;
    gather_t g = {in, out, index, N, in_bstride, (N + GATHER_CHUNK - 1) / GATHER_CHUNK, itemsize};
    parallel_for(gather_body, &g, B * g.nchunks, B * N >= PARALLEL_MIN ? nthreads : 1);
    return 0;
}

int hqml_abi_version(void) { return 6; }

/* gates across vectors per pass of the forward layer kernels (1 to PASS_MAX; 1 applies one
 * gate per pass); returns the previous value. For tests and benchmarks: not thread-safe with
 * kernels running. */
int hqml_set_pass_gates(int g) {
    int old = pass_gates;
    if (g >= 1 && g <= PASS_MAX) pass_gates = g;
    return old;
}

/* what this build targets: the instruction set its vectors use, their width, the interpreter's
 * lanes */
const char *hqml_isa(void) { return HQML_ISA; }

int hqml_vector_bytes(void) { return VBYTES; }

int hqml_small_lanes(void) { return SW; }
