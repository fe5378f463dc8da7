/* Layers of single-qubit gates on a batched statevector, by cache blocking.
 *
 * A layer is a set of 2x2 factors on distinct wires (they commute). Gates on the low index bits
 * (below k, a block of 2^k amplitudes that stays in L2) are applied one after another inside
 * each block: one pass over the state. Gates on the high bits are applied in a second pass over
 * tiles: for fixed other bits, the 2^h rows (one per combination of the high bits) of a run of
 * 2^c contiguous amplitudes; each row is contiguous, the gates act across rows. So a whole layer
 * costs about two passes over memory, whatever the number of gates.
 *
 * Build: gcc -O3 -march=native -fopenmp -shared -fPIC -o _hqml_kernels.so kernels.c
 * (hqml/sim/native/build.py does this). Loaded with ctypes by hqml.sim.native. */

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef VBYTES
#define VBYTES 64 /* vector width in bytes (gcc splits it where the CPU has narrower ones) */
#endif
#define HMAX 10 /* high bits per tile pass: 2^h rows of 2^c amplitudes stay in L2 */

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
#else
#define SWAP_MASK ((M){1, 0, 3, 2})
#define PARTNER0 ((M){2, 3, 0, 1})
#endif
#define LOW_BITS 14 /* 256 KiB blocks */
#define COL_BITS 5  /* 512-byte rows */
#include "kernels_impl.h"
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
#else
#define SWAP_MASK ((M){1, 0, 3, 2, 5, 4, 7, 6})
#define PARTNER0 ((M){2, 3, 0, 1, 6, 7, 4, 5})
#define PARTNER1 ((M){4, 5, 6, 7, 0, 1, 2, 3})
#endif
#define LOW_BITS 15
#define COL_BITS 6
#include "kernels_impl.h"

typedef struct { int64_t re, im; } pair64;

/* ---- whole-register gather: out[b, i] = in[b, index[i]] ----------------------------------- */
int hqml_gather(const void *in, void *out, const int64_t *index, int64_t B, int64_t N,
                int64_t in_bstride, int itemsize, int nthreads) {
    if (itemsize != 8 && itemsize != 16) return 1;
    const int64_t chunk = 1 << 14;
    int64_t nchunks = (N + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (int64_t it = 0; it < B * nchunks; it++) {
        int64_t b = it / nchunks, lo = (it % nchunks) * chunk;
        int64_t hi = lo + chunk < N ? lo + chunk : N;
        if (itemsize == 16) {
            const pair64 *src = (const pair64 *)in + b * in_bstride;
            pair64 *dst = (pair64 *)out + b * N;
            for (int64_t i = lo; i < hi; i++) dst[i] = src[index[i]];
        } else {
            const int64_t *src = (const int64_t *)in + b * in_bstride;
            int64_t *dst = (int64_t *)out + b * N;
            for (int64_t i = lo; i < hi; i++) dst[i] = src[index[i]];
        }
    }
    return 0;
}

int hqml_abi_version(void) { return 1; }
