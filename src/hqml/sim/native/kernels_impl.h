/* One precision of the layer kernels; included by kernels.c with T, SUF and the vector types
 * defined. A state is B rows of N = 2^n interleaved complex numbers (re, im); "bit position" p
 * is the index bit of a wire (wire q of n has p = n - 1 - q). Lengths are in complex numbers.
 *
 * A 2x2 complex entry e acts on a vector v of interleaved complex numbers as
 *     e * v = R * v + S * swap(v),   R = (er, er, ...),  S = (-ei, ei, ...),
 * swap exchanging re and im of every number: gcc turns this into FMAs and one shuffle. */

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(name, SUF)
#define NC (VBYTES / (2 * (int)sizeof(T))) /* complex numbers per vector */
#define LOAD(p) (*(const VU *)(p))
#define STORE(p, v) (*(VU *)(p) = (v))

/* what a 2x2 matrix's zero parts allow gate2 to skip (see there) */
#ifndef KIND_GENERAL
enum { KIND_GENERAL = 0, KIND_DIAGONAL = 1, KIND_RX = 2, KIND_REAL = 3 };
#define KIND_GENERAL KIND_GENERAL
#endif

typedef struct {
    V r[4], s[4];   /* entries m00 m01 m10 m11 as R / S vectors */
    T m[8];         /* the same entries, scalar (re, im) */
    int kind;       /* KIND_*: which terms of gate2 are zero */
} FN(coef_t);

static void FN(make_coef)(FN(coef_t) *c, const T *m, int adjoint) {
    for (int e = 0; e < 4; e++) {
        int src = adjoint ? ((e & 1) << 1 | (e >> 1)) : e; /* H[i][j] = conj(F[j][i]) */
        T re = m[2 * src], im = adjoint ? -m[2 * src + 1] : m[2 * src + 1];
        c->m[2 * e] = re;
        c->m[2 * e + 1] = im;
        for (int l = 0; l < 2 * NC; l++) {
            c->r[e][l] = re;
            c->s[e][l] = (l & 1) ? im : -im;
        }
    }
    const T *e = c->m; /* (re, im) of m00 m01 m10 m11 at 0, 2, 4, 6 */
    if (e[2] == 0 && e[3] == 0 && e[4] == 0 && e[5] == 0)
        c->kind = KIND_DIAGONAL; /* RZ, phases */
    else if (e[1] == 0 && e[7] == 0 && e[2] == 0 && e[4] == 0)
        c->kind = KIND_RX; /* real diagonal, imaginary off-diagonal */
    else if (e[1] == 0 && e[3] == 0 && e[5] == 0 && e[7] == 0)
        c->kind = KIND_REAL; /* RY, H */
    else
        c->kind = KIND_GENERAL;
}

static inline V FN(swapri)(V v) { return __builtin_shuffle(v, SWAP_MASK); }

/* ---- forward: a 2x2 gate on rows a, b (len complex each, a multiple of NC) -------------- */
/* the arithmetic of a gate on two vectors x (bit 0) and y (bit 1), shared by every kernel that
 * applies it (one gate per pass or several), so all of them round alike */
/* The general form: x' = fma(s1, bs, fma(r1, b, fma(r0, a, s0 as))), likewise y' (the
 * contraction GCC made of r0 a + s0 as + r1 b + s1 bs in the earlier kernels, kept). Where a
 * kind's zero coefficients make terms vanish, the rest are the same operations on the same
 * rounded values (terms of +-0 change nothing but a zero's sign), in half the work. */
static inline __attribute__((always_inline)) void FN(gate2)(V *x, V *y, const FN(coef_t) *c) {
    V a = *x, b = *y;
    switch (c->kind) {
    case KIND_RX: {
        V as = FN(swapri)(a), bs = FN(swapri)(b);
        V p0 = c->r[0] * a, p1 = c->s[2] * as;
        *x = VFMA(c->s[1], bs, p0);
        *y = VFMA(c->r[3], b, p1);
        return;
    }
    case KIND_REAL: {
        V p0 = c->r[0] * a, p1 = c->r[2] * a;
        *x = VFMA(c->r[1], b, p0);
        *y = VFMA(c->r[3], b, p1);
        return;
    }
    case KIND_DIAGONAL: {
        V as = FN(swapri)(a), bs = FN(swapri)(b);
        V p0 = c->s[0] * as, p1 = c->r[3] * b;
        *x = VFMA(c->r[0], a, p0);
        *y = VFMA(c->s[3], bs, p1);
        return;
    }
    default: {
        V as = FN(swapri)(a), bs = FN(swapri)(b);
        V p0 = c->s[0] * as, p1 = c->s[2] * as;
        *x = VFMA(c->s[1], bs, VFMA(c->r[1], b, VFMA(c->r[0], a, p0)));
        *y = VFMA(c->s[3], bs, VFMA(c->r[3], b, VFMA(c->r[2], a, p1)));
    }
    }
}

static inline void FN(pair_apply)(T *a, T *b, const T *ia, const T *ib, int64_t len,
                                  const FN(coef_t) *c) {
    for (int64_t j = 0; j < 2 * len; j += 2 * NC) {
        V x = LOAD(ia + j), y = LOAD(ib + j);
        FN(gate2)(&x, &y, c);
        STORE(a + j, x);
        STORE(b + j, y);
    }
}

/* scalar gate on bit p over a run of len complex (any len, any p) */
static void FN(scalar_apply)(T *dst, const T *src, int64_t len, int p, const T *m) {
    int64_t s = (int64_t)1 << p;
    for (int64_t i = 0; i < len; i += 2 * s)
        for (int64_t j = i; j < i + s; j++) {
            T xr = src[2 * j], xi = src[2 * j + 1], yr = src[2 * (j + s)], yi = src[2 * (j + s) + 1];
            dst[2 * j] = m[0] * xr - m[1] * xi + m[2] * yr - m[3] * yi;
            dst[2 * j + 1] = m[0] * xi + m[1] * xr + m[2] * yi + m[3] * yr;
            dst[2 * (j + s)] = m[4] * xr - m[5] * xi + m[6] * yr - m[7] * yi;
            dst[2 * (j + s) + 1] = m[4] * xi + m[5] * xr + m[6] * yi + m[7] * yr;
        }
}

/* per-lane coefficients for a gate on a bit inside one vector: lane l with bit b gets
 * A = m[b][b] (on itself) and X = m[b][1-b] (on its partner l ^ (1 << p)) */
typedef struct {
    V ar, as, xr, xs;
    int kind; /* KIND_* of the matrix (gate_lane skips the terms that vanish) */
} FN(lane_t);

static void FN(make_lane)(FN(lane_t) *ln, const T *m, int p) {
    memset(ln, 0, sizeof(*ln));
    for (int l = 0; l < NC; l++) {
        int bit = (l >> p) & 1;
        const T *a = m + 2 * (bit ? 3 : 0), *x = m + 2 * (bit ? 2 : 1);
        ln->ar[2 * l] = ln->ar[2 * l + 1] = a[0];
        ln->as[2 * l] = -a[1];
        ln->as[2 * l + 1] = a[1];
        ln->xr[2 * l] = ln->xr[2 * l + 1] = x[0];
        ln->xs[2 * l] = -x[1];
        ln->xs[2 * l + 1] = x[1];
    }
    if (m[2] == 0 && m[3] == 0 && m[4] == 0 && m[5] == 0)
        ln->kind = KIND_DIAGONAL;
    else if (m[1] == 0 && m[7] == 0 && m[2] == 0 && m[4] == 0)
        ln->kind = KIND_RX;
    else if (m[1] == 0 && m[3] == 0 && m[5] == 0 && m[7] == 0)
        ln->kind = KIND_REAL;
    else
        ln->kind = KIND_GENERAL;
}

static inline V FN(partner)(V v, int p) {
#ifdef PARTNER2
    if (p == 2) return __builtin_shuffle(v, PARTNER2);
#endif
#ifdef PARTNER1
    if (p == 1) return __builtin_shuffle(v, PARTNER1);
#endif
    (void)p;
    return __builtin_shuffle(v, PARTNER0);
}

/* the arithmetic of a gate on bit p < log2(NC) inside one vector (shared, as gate2) */
static inline __attribute__((always_inline)) V FN(gate_lane)(V x, int p, const FN(lane_t) *ln) {
    /* fma(xs, swap(px), fma(xr, px, fma(ar, x, as swap(x)))), terms of zero left out (as in
     * gate2) */
    V px = FN(partner)(x, p);
    switch (ln->kind) {
    case KIND_DIAGONAL: return VFMA(ln->ar, x, ln->as * FN(swapri)(x));
    case KIND_RX: return VFMA(ln->xs, FN(swapri)(px), ln->ar * x);
    case KIND_REAL: return VFMA(ln->xr, px, ln->ar * x);
    default:
        return VFMA(ln->xs, FN(swapri)(px), VFMA(ln->xr, px, VFMA(ln->ar, x, ln->as * FN(swapri)(x))));
    }
}

static void FN(lane_apply)(T *dst, const T *src, int64_t len, int p, const FN(lane_t) *ln) {
    for (int64_t j = 0; j < 2 * len; j += 2 * NC) STORE(dst + j, FN(gate_lane)(LOAD(src + j), p, ln));
}

/* a gate on bit p of a contiguous block of blen complex */
static void FN(block_apply)(T *dst, const T *src, int64_t blen, int p, const FN(coef_t) *c) {
    if (blen < NC) {
        FN(scalar_apply)(dst, src, blen, p, c->m);
    } else if ((1 << p) >= NC) {
        int64_t s = (int64_t)1 << p;
        for (int64_t i = 0; i < blen; i += 2 * s)
            FN(pair_apply)(dst + 2 * i, dst + 2 * (i + s), src + 2 * i, src + 2 * (i + s), s, c);
    } else {
        FN(lane_t) ln;
        FN(make_lane)(&ln, c->m, p);
        FN(lane_apply)(dst, src, blen, p, &ln);
    }
}

/* ---- several gates per pass --------------------------------------------------------------
 * A pass over a block applies up to PASS_MAX gates on vector bits (bit q of the vector index:
 * the 2^nv vectors one apart in those bits stay in registers) after the gates on bits inside a
 * vector. Every amplitude goes through the same gates in the same order with the same
 * arithmetic (gate_lane, gate2) as one gate per pass, so the results are bitwise equal; the
 * block is read and written once per pass instead of once per gate. */
typedef struct {
    int nl, nv;
    int lp[8], lg[8];              /* gates inside a vector: bit positions, gate indices */
    int vq[PASS_MAX], vg[PASS_MAX]; /* gates across vectors: bit of the vector index, gate */
} FN(pass_t);

/* gates inside a vector only: one vector at a time */
static void FN(pass_lanes)(T *dst, const T *src, int64_t nvec, const FN(pass_t) *ps,
                           const FN(lane_t) *ln) {
    for (int64_t i = 0; i < nvec; i++) {
        V x = LOAD(src + 2 * NC * i);
        for (int l = 0; l < ps->nl; l++) x = FN(gate_lane)(x, ps->lp[l], &ln[l]);
        STORE(dst + 2 * NC * i, x);
    }
}

/* nv = 1, 2, 3 gates across vectors (bits vq, ascending, of the vector index): the 2^nv
 * vectors of each group in registers, the gates in order; written out so that the compiler
 * keeps them in registers */
#define PASS_INDEX(nv)                                                                         \
    int64_t v = i;                                                                             \
    for (int t = 0; t < (nv); t++) v = ((v & ~(st[t] - 1)) << 1) | (v & (st[t] - 1));          \
    const T *s0 = src + 2 * NC * v;                                                            \
    T *d0 = dst + 2 * NC * v;

static void FN(pass_v1)(T *dst, const T *src, int64_t nvec, const int64_t *st,
                        const FN(coef_t) *const *vc) {
    const int64_t a = 2 * NC * st[0];
    for (int64_t i = 0; i < (nvec >> 1); i++) {
        PASS_INDEX(1)
        V x0 = LOAD(s0), x1 = LOAD(s0 + a);
        FN(gate2)(&x0, &x1, vc[0]);
        STORE(d0, x0), STORE(d0 + a, x1);
    }
}

static void FN(pass_v2)(T *dst, const T *src, int64_t nvec, const int64_t *st,
                        const FN(coef_t) *const *vc) {
    const int64_t a = 2 * NC * st[0], b = 2 * NC * st[1];
    for (int64_t i = 0; i < (nvec >> 2); i++) {
        PASS_INDEX(2)
        V x0 = LOAD(s0), x1 = LOAD(s0 + a), x2 = LOAD(s0 + b), x3 = LOAD(s0 + a + b);
        FN(gate2)(&x0, &x1, vc[0]), FN(gate2)(&x2, &x3, vc[0]);
        FN(gate2)(&x0, &x2, vc[1]), FN(gate2)(&x1, &x3, vc[1]);
        STORE(d0, x0), STORE(d0 + a, x1), STORE(d0 + b, x2), STORE(d0 + a + b, x3);
    }
}

static void FN(pass_v3)(T *dst, const T *src, int64_t nvec, const int64_t *st,
                        const FN(coef_t) *const *vc) {
    const int64_t a = 2 * NC * st[0], b = 2 * NC * st[1], c = 2 * NC * st[2];
    for (int64_t i = 0; i < (nvec >> 3); i++) {
        PASS_INDEX(3)
        V x0 = LOAD(s0), x1 = LOAD(s0 + a), x2 = LOAD(s0 + b), x3 = LOAD(s0 + a + b);
        V x4 = LOAD(s0 + c), x5 = LOAD(s0 + a + c), x6 = LOAD(s0 + b + c);
        V x7 = LOAD(s0 + a + b + c);
        FN(gate2)(&x0, &x1, vc[0]), FN(gate2)(&x2, &x3, vc[0]);
        FN(gate2)(&x4, &x5, vc[0]), FN(gate2)(&x6, &x7, vc[0]);
        FN(gate2)(&x0, &x2, vc[1]), FN(gate2)(&x1, &x3, vc[1]);
        FN(gate2)(&x4, &x6, vc[1]), FN(gate2)(&x5, &x7, vc[1]);
        FN(gate2)(&x0, &x4, vc[2]), FN(gate2)(&x1, &x5, vc[2]);
        FN(gate2)(&x2, &x6, vc[2]), FN(gate2)(&x3, &x7, vc[2]);
        STORE(d0, x0), STORE(d0 + a, x1), STORE(d0 + b, x2), STORE(d0 + a + b, x3);
        STORE(d0 + c, x4), STORE(d0 + a + c, x5), STORE(d0 + b + c, x6);
        STORE(d0 + a + b + c, x7);
    }
}

/* one pass of gates over a block of blen complex (blen >= NC << nv); coef[g]: gate g's */
static void FN(pass_apply)(T *dst, const T *src, int64_t blen, const FN(pass_t) *ps,
                           const FN(coef_t) *coef) {
    FN(lane_t) ln[8];
    const FN(coef_t) *vc[PASS_MAX + 1] = {0};
    for (int l = 0; l < ps->nl; l++) FN(make_lane)(&ln[l], coef[ps->lg[l]].m, ps->lp[l]);
    for (int t = 0; t < ps->nv; t++) vc[t] = &coef[ps->vg[t]];
    int64_t nvec = blen / NC, st[PASS_MAX];
    for (int t = 0; t < ps->nv; t++) st[t] = (int64_t)1 << ps->vq[t];
    if (ps->nl) FN(pass_lanes)(dst, src, nvec, ps, ln); /* then nv = 0 (make_passes) */
    else if (ps->nv == 1) FN(pass_v1)(dst, src, nvec, st, vc);
    else if (ps->nv == 2) FN(pass_v2)(dst, src, nvec, st, vc);
    else FN(pass_v3)(dst, src, nvec, st, vc);
}

/* gates (indices gates[i] at bit positions bits[i], ascending) split into passes of at most
 * `most` gates across vectors, the first also taking every gate inside a vector; returns the
 * number of passes, 0 where a block of blen complex is too short for whole vectors */
static int FN(make_passes)(FN(pass_t) *out, const int *gates, const int *bits, int ng, int most,
                           int64_t blen) {
    int lb = __builtin_ctz(NC), np = 0;
    if (blen < NC || most < 2) return 0;
    if (most > PASS_MAX) most = PASS_MAX;
    memset(out, 0, sizeof(FN(pass_t)));
    for (int i = 0; i < ng; i++) {
        if (bits[i] < lb) {
            FN(pass_t) *ps = &out[0];
            ps->lp[ps->nl] = bits[i], ps->lg[ps->nl++] = gates[i];
            np = 1;
            continue;
        }
        if (np == 0 || out[np - 1].nv == most || out[np - 1].nl)
            memset(&out[np++], 0, sizeof(FN(pass_t)));
        FN(pass_t) *ps = &out[np - 1];
        ps->vq[ps->nv] = bits[i] - lb, ps->vg[ps->nv++] = gates[i];
    }
    return np;
}

/* ---- adjoint: psi <- H psi, cot += lam conj(psi'), lam <- H lam (H = F^H) --------------- */
/* accumulators: acc[2*(2i+j)] += l_i * p_j and acc[2*(2i+j)+1] += l_i * swap(p_j);
 * lam * conj(psi) = (sum of the pair of lanes of the first, odd - even lane of the second) */
static inline void FN(pair_adjoint)(T *pa, T *pb, T *la, T *lb, int64_t len, const FN(coef_t) *c,
                                    V *acc) {
    const V r0 = c->r[0], r1 = c->r[1], r2 = c->r[2], r3 = c->r[3];
    const V s0 = c->s[0], s1 = c->s[1], s2 = c->s[2], s3 = c->s[3];
    for (int64_t j = 0; j < 2 * len; j += 2 * NC) {
        V x = LOAD(pa + j), y = LOAD(pb + j);
        V xs = FN(swapri)(x), ys = FN(swapri)(y);
        V p0 = r0 * x + s0 * xs + r1 * y + s1 * ys;
        V p1 = r2 * x + s2 * xs + r3 * y + s3 * ys;
        STORE(pa + j, p0);
        STORE(pb + j, p1);
        V l0 = LOAD(la + j), l1 = LOAD(lb + j);
        V p0s = FN(swapri)(p0), p1s = FN(swapri)(p1);
        acc[0] += l0 * p0;
        acc[1] += l0 * p0s;
        acc[2] += l0 * p1;
        acc[3] += l0 * p1s;
        acc[4] += l1 * p0;
        acc[5] += l1 * p0s;
        acc[6] += l1 * p1;
        acc[7] += l1 * p1s;
        V l0s = FN(swapri)(l0), l1s = FN(swapri)(l1);
        STORE(la + j, r0 * l0 + s0 * l0s + r1 * l1 + s1 * l1s);
        STORE(lb + j, r2 * l0 + s2 * l0s + r3 * l1 + s3 * l1s);
    }
}

/* the accumulators of pair_adjoint added to cot (4 complex entries as doubles) */
static void FN(acc_reduce)(const V *acc, double *cot) {
    for (int e = 0; e < 4; e++) {
        double re = 0, im = 0;
        for (int l = 0; l < NC; l++) {
            re += (double)acc[2 * e][2 * l] + (double)acc[2 * e][2 * l + 1];
            im += (double)acc[2 * e + 1][2 * l + 1] - (double)acc[2 * e + 1][2 * l];
        }
        cot[2 * e] += re;
        cot[2 * e + 1] += im;
    }
}

static void FN(scalar_adjoint)(T *psi, T *lam, int64_t len, int p, const T *m, double *cot) {
    int64_t s = (int64_t)1 << p;
    for (int64_t i = 0; i < len; i += 2 * s)
        for (int64_t j = i; j < i + s; j++) {
            T *pv[2] = {psi + 2 * j, psi + 2 * (j + s)}, *lv[2] = {lam + 2 * j, lam + 2 * (j + s)};
            T x[4] = {pv[0][0], pv[0][1], pv[1][0], pv[1][1]};
            T y[4] = {lv[0][0], lv[0][1], lv[1][0], lv[1][1]};
            for (int r = 0; r < 2; r++) {
                const T *e0 = m + 4 * r, *e1 = m + 4 * r + 2;
                pv[r][0] = e0[0] * x[0] - e0[1] * x[1] + e1[0] * x[2] - e1[1] * x[3];
                pv[r][1] = e0[0] * x[1] + e0[1] * x[0] + e1[0] * x[3] + e1[1] * x[2];
            }
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    double lr = y[2 * a], li = y[2 * a + 1], pr = pv[b][0], pi = pv[b][1];
                    cot[2 * (2 * a + b)] += lr * pr + li * pi;
                    cot[2 * (2 * a + b) + 1] += li * pr - lr * pi;
                }
            for (int r = 0; r < 2; r++) {
                const T *e0 = m + 4 * r, *e1 = m + 4 * r + 2;
                lv[r][0] = e0[0] * y[0] - e0[1] * y[1] + e1[0] * y[2] - e1[1] * y[3];
                lv[r][1] = e0[0] * y[1] + e0[1] * y[0] + e1[0] * y[3] + e1[1] * y[2];
            }
        }
}

static void FN(lane_adjoint)(T *psi, T *lam, int64_t len, int p, const T *m, double *cot) {
    FN(lane_t) ln;
    FN(make_lane)(&ln, m, p);
    const V ar = ln.ar, as = ln.as, xr = ln.xr, xs = ln.xs;
    V same = {0}, sames = {0}, cross = {0}, crosss = {0};
    for (int64_t j = 0; j < 2 * len; j += 2 * NC) {
        V x = LOAD(psi + j);
        V px = FN(partner)(x, p);
        V q = ar * x + as * FN(swapri)(x) + xr * px + xs * FN(swapri)(px);
        STORE(psi + j, q);
        V l = LOAD(lam + j);
        V pq = FN(partner)(q, p);
        same += l * q;
        sames += l * FN(swapri)(q);
        cross += l * pq;
        crosss += l * FN(swapri)(pq);
        V pl = FN(partner)(l, p);
        STORE(lam + j, ar * l + as * FN(swapri)(l) + xr * pl + xs * FN(swapri)(pl));
    }
    for (int l = 0; l < NC; l++) {
        int bit = (l >> p) & 1;
        int es = 2 * bit + bit, ex = 2 * bit + (1 - bit); /* entries (bit,bit), (bit,1-bit) */
        cot[2 * es] += (double)same[2 * l] + (double)same[2 * l + 1];
        cot[2 * es + 1] += (double)sames[2 * l + 1] - (double)sames[2 * l];
        cot[2 * ex] += (double)cross[2 * l] + (double)cross[2 * l + 1];
        cot[2 * ex + 1] += (double)crosss[2 * l + 1] - (double)crosss[2 * l];
    }
}

static void FN(block_adjoint)(T *psi, T *lam, int64_t blen, int p, const FN(coef_t) *c,
                              double *cot) {
    if (blen < NC) {
        FN(scalar_adjoint)(psi, lam, blen, p, c->m, cot);
    } else if ((1 << p) >= NC) {
        int64_t s = (int64_t)1 << p;
        V acc[8];
        memset(acc, 0, sizeof(acc));
        for (int64_t i = 0; i < blen; i += 2 * s)
            FN(pair_adjoint)(psi + 2 * i, psi + 2 * (i + s), lam + 2 * i, lam + 2 * (i + s), s, c,
                             acc);
        FN(acc_reduce)(acc, cot);
    } else {
        FN(lane_adjoint)(psi, lam, blen, p, c->m, cot);
    }
}

/* ---- drivers ------------------------------------------------------------------------------ */

typedef struct {
    const T *in;
    T *out, *psi, *lam;
    int64_t N, nblocks, blen, ntiles, in_bstride;
    int w, per_sample, first_reads_in;
    const int *pos;
    const layout_t *L;
    const group_t *G;
    const FN(coef_t) *coef;
    double *acc; /* adjoint: per-thread partial cotangents */
    size_t ncot;
    T *bufs;      /* tile buffers, bufelems per thread (two per thread in the adjoint) */
    size_t bufelems;
    /* forward: the gates' passes (none: one gate per pass), low and per high group */
    int nlowpass, nhighpass[(40 + HMAX - 1) / HMAX];
    FN(pass_t) lowpass[64], highpass[(40 + HMAX - 1) / HMAX][HMAX];
    /* forward with a permutation first: the input index of output index y is the XOR of
     * cols[p] over y's set bits p; within a block, tlo[y & amask] ^ thi[(y >> abits) & ...] */
    const int64_t *cols;
    int64_t *tlo, *thi;
    int abits;
    /* whole vectors: when M maps the bits inside a vector into themselves, an output vector is
     * one input vector (index s >> log2 NC) with its lanes permuted by gmask[s & (NC - 1)];
     * the tables then hold M of the vector-index bits */
    int vgather;
    M gmask[NC];
    /* in place: the cycles of the block permutation, cycle c = cycles[cycstart[c] ..] */
    int64_t *cycles, *cycstart, ncycles, nbatch;
    int *owner; /* the thread of each (sample, cycle): cycles differ in length, so they are
                 * dealt longest first to the least loaded thread */
    T *saves; /* one block per thread */
} FN(job_t);

#define COEF(j, b, g) (&(j)->coef[((j)->per_sample ? (b) : 0) * (j)->w + (g)])

/* the input offset (complex) whose block the output block at offset off comes from, with
 * M of its low bits (the XOR applied inside the block) */
static inline int64_t FN(perm_base)(int64_t off, const FN(job_t) *j) {
    int64_t base = 0;
    for (int p = j->L->k; p < 40 && (off >> p); p++)
        if (off >> p & 1) base ^= j->cols[p];
    return base;
}

/* an output block of the permutation: dst[l] = in[M(off + l)], read from sblk, the input block
 * that holds them (offsets within a block: the low k bits of M(off + l)) */
static void FN(gather_block)(T *dst, const T *sblk, int64_t off, const FN(job_t) *j) {
    int64_t base = FN(perm_base)(off, j) & (j->blen - 1), na = (int64_t)1 << j->abits;
    if (j->vgather) {
        int64_t nh = (j->blen / NC) >> j->abits;
        for (int64_t h = 0; h < nh; h++) {
            int64_t bh = base ^ j->thi[h];
            T *d = dst + 2 * NC * (h << j->abits);
            for (int64_t l = 0; l < na; l++) {
                int64_t s = (bh ^ j->tlo[l]) & (j->blen - 1);
                V x = LOAD(sblk + 2 * (s & ~(int64_t)(NC - 1)));
                STORE(d + 2 * NC * l, __builtin_shuffle(x, j->gmask[s & (NC - 1)]));
            }
        }
        return;
    }
    int64_t nh = j->blen >> j->abits;
    for (int64_t h = 0; h < nh; h++) {
        int64_t bh = base ^ j->thi[h];
        T *d = dst + 2 * (h << j->abits);
        for (int64_t l = 0; l < na; l++)
            memcpy(d + 2 * l, sblk + 2 * ((bh ^ j->tlo[l]) & (j->blen - 1)), 2 * sizeof(T));
    }
}

/* the low gates on one block, src (the input, or dst itself) to dst */
static void FN(low_gates)(T *dst, const T *src, int64_t b, const FN(job_t) *j) {
    if (j->nlowpass) {
        for (int i = 0; i < j->nlowpass; i++)
            FN(pass_apply)(dst, i == 0 ? src : dst, j->blen, &j->lowpass[i], COEF(j, b, 0));
        return;
    }
    if (j->L->nlow == 0 && dst != src) memcpy(dst, src, sizeof(T) * 2 * (size_t)j->blen);
    for (int i = 0; i < j->L->nlow; i++) {
        int g = j->L->low[i];
        FN(block_apply)(dst, i == 0 ? src : dst, j->blen, j->pos[g], COEF(j, b, g));
    }
}

/* pass 1 in place with the permutation: the output blocks along each cycle of the block
 * permutation (output block c[i] comes from input block c[i + 1], the last from c[0], saved
 * first in the thread's buffer), each gathered and put through the low gates while in cache */
static void FN(apply_low_cycles)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(job_t) *j = ctx;
    T *save = j->saves + (size_t)tid * 2 * (size_t)j->blen;
    /* tasks lo .. hi - 1 are the shares of the (sample, cycle) pairs that owner[] deals */
    for (int64_t it = 0; it < j->ncycles * j->nbatch; it++) {
        if (j->owner[it] < lo || j->owner[it] >= hi) continue;
        int64_t b = it / j->ncycles, c = it % j->ncycles;
        const int64_t *cyc = j->cycles + j->cycstart[c];
        int64_t len = j->cycstart[c + 1] - j->cycstart[c];
        T *state = j->out + 2 * b * j->N;
        memcpy(save, state + 2 * cyc[0] * j->blen, sizeof(T) * 2 * (size_t)j->blen);
        for (int64_t i = 0; i < len; i++) {
            T *dst = state + 2 * cyc[i] * j->blen;
            const T *sblk = i + 1 < len ? state + 2 * cyc[i + 1] * j->blen : save;
            FN(gather_block)(dst, sblk, cyc[i] * j->blen, j);
            FN(low_gates)(dst, dst, b, j);
        }
    }
}

/* pass 1: blocks of 2^k amplitudes, every low gate in turn (in passes of several gates) */
static void FN(apply_low)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(job_t) *j = ctx;
    (void)tid;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / j->nblocks, off = (it % j->nblocks) * j->blen;
        const T *src = j->in + 2 * (b * j->in_bstride + off);
        T *dst = j->out + 2 * (b * j->N + off);
        if (j->cols) {
            int64_t sb = FN(perm_base)(off, j) & ~(j->blen - 1);
            FN(gather_block)(dst, j->in + 2 * (b * j->in_bstride + sb), off, j);
            src = dst;
        }
        FN(low_gates)(dst, src, b, j);
    }
}

/* pass 2: tiles copied into a contiguous buffer: rows 2^k amplitudes apart would all fall into
 * the same cache sets, and in the buffer a gate on tile bit i is a gate on bit c + i */
static void FN(apply_high)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(job_t) *j = ctx;
    const group_t *G = j->G;
    int64_t W = (int64_t)1 << j->L->colbits, rows = (int64_t)1 << G->h;
    size_t rowbytes = sizeof(T) * 2 * (size_t)W;
    T *buf = j->bufs + (size_t)tid * j->bufelems;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / j->ntiles, base = deposit(it % j->ntiles, G->free_mask);
        const T *src = j->first_reads_in ? j->in + 2 * b * j->in_bstride : j->out + 2 * b * j->N;
        T *dst = j->out + 2 * b * j->N;
        for (int64_t r = 0; r < rows; r++)
            memcpy(buf + 2 * r * W, src + 2 * (base + G->rowoff[r]), rowbytes);
        int gi = (int)(G - j->L->groups);
        if (j->nhighpass[gi])
            for (int i = 0; i < j->nhighpass[gi]; i++)
                FN(pass_apply)(buf, buf, rows * W, &j->highpass[gi][i], COEF(j, b, 0));
        else
            for (int i = 0; i < G->h; i++)
                FN(block_apply)(buf, buf, rows * W, j->L->colbits + i, COEF(j, b, G->gates[i]));
        for (int64_t r = 0; r < rows; r++)
            memcpy(dst + 2 * (base + G->rowoff[r]), buf + 2 * r * W, rowbytes);
    }
}

static void FN(adjoint_low)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(job_t) *j = ctx;
    double *mine = j->acc + (size_t)tid * j->ncot;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / j->nblocks, off = 2 * (b * j->N + (it % j->nblocks) * j->blen);
        for (int i = 0; i < j->L->nlow; i++) {
            int g = j->L->low[i];
            FN(block_adjoint)(j->psi + off, j->lam + off, j->blen, j->pos[g], COEF(j, b, g),
                              mine + 8 * (b * j->w + g));
        }
    }
}

static void FN(adjoint_high)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(job_t) *j = ctx;
    const group_t *G = j->G;
    double *mine = j->acc + (size_t)tid * j->ncot;
    int64_t W = (int64_t)1 << j->L->colbits, rows = (int64_t)1 << G->h;
    size_t rowbytes = sizeof(T) * 2 * (size_t)W;
    T *pbuf = j->bufs + (size_t)(2 * tid) * j->bufelems;
    T *lbuf = pbuf + j->bufelems;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / j->ntiles, base = 2 * b * j->N + 2 * deposit(it % j->ntiles, G->free_mask);
        for (int64_t r = 0; r < rows; r++) {
            memcpy(pbuf + 2 * r * W, j->psi + base + 2 * G->rowoff[r], rowbytes);
            memcpy(lbuf + 2 * r * W, j->lam + base + 2 * G->rowoff[r], rowbytes);
        }
        for (int i = 0; i < G->h; i++) {
            int g = G->gates[i];
            FN(block_adjoint)(pbuf, lbuf, rows * W, j->L->colbits + i, COEF(j, b, g),
                              mine + 8 * (b * j->w + g));
        }
        for (int64_t r = 0; r < rows; r++) {
            memcpy(j->psi + base + 2 * G->rowoff[r], pbuf + 2 * r * W, rowbytes);
            memcpy(j->lam + base + 2 * G->rowoff[r], lbuf + 2 * r * W, rowbytes);
        }
    }
}

/* tile buffers for every thread, allocated here (in the calling thread, so the allocator
 * reuses its memory from call to call rather than each new thread mapping fresh pages) */
static int FN(alloc_bufs)(FN(job_t) *j, int nthreads, int per_thread) {
    int hmax = 0;
    for (int g = 0; g < j->L->ngroups; g++)
        if (j->L->groups[g].h > hmax) hmax = j->L->groups[g].h;
    if (j->L->ngroups == 0) return 0;
    j->bufelems = (size_t)2 << (j->L->colbits + hmax);
    size_t bytes = sizeof(T) * j->bufelems * (size_t)(nthreads * per_thread);
    j->bufs = aligned_alloc(64, (bytes + 63) / 64 * 64);
    return j->bufs == NULL;
}

static FN(coef_t) *FN(make_coefs)(const T *factors, int64_t nf, int w, int adjoint) {
    FN(coef_t) *coef = aligned_alloc(64, sizeof(FN(coef_t)) * (size_t)(nf * (w ? w : 1)));
    if (coef)
        for (int64_t f = 0; f < nf; f++)
            for (int g = 0; g < w; g++)
                FN(make_coef)(&coef[f * w + g], factors + 8 * (f * w + g), adjoint);
    return coef;
}

/* out[b] = (prod_g F_g) P in[b], P the permutation out[y] = in[M y] with M linear over GF(2)
 * given by cols (cols[p] = M e_p, cols NULL: no permutation); in's batch stride (complex) is 0
 * (broadcast) or N. With a permutation, in and out must not overlap, and M must map the
 * low bits of a block into themselves (cols[p] < 2^k for p < k; else code 3): then each output
 * block is one input block permuted, gathered in the first pass. */
static int FN(layer_run)(const T *in, T *out, int64_t B, int n, int w, const int *pos,
                         const T *factors, int per_sample, int64_t in_bstride, int nthreads,
                         const int64_t *cols) {
    layout_t L;
    if (make_layout(&L, n, w, pos, LOW_BITS, COL_BITS)) return 1;
    FN(job_t) j;
    memset(&j, 0, sizeof(j));
    int rc = 0;
    j.in = in, j.out = out, j.N = (int64_t)1 << n, j.in_bstride = in_bstride;
    j.w = w, j.per_sample = per_sample, j.pos = pos, j.L = &L;
    j.blen = (int64_t)1 << L.k, j.nblocks = j.N >> L.k;
    if (cols) {
        for (int p = 0; p < n && !rc; p++)
            if (cols[p] < 0 || cols[p] >= j.N || (p < L.k && cols[p] >= j.blen)) rc = 3;
        if ((const T *)out == in && B > 1 && in_bstride != j.N) rc = 1;
        /* whole vectors where the lane bits map into themselves (and a block has vectors) */
        int lb = __builtin_ctz(NC);
        j.vgather = L.k >= lb;
        for (int p = 0; p < lb && p < n; p++) j.vgather = j.vgather && cols[p] < NC;
        int sh = j.vgather ? lb : 0, kb = L.k - sh; /* the tables: M of bits sh .. k - 1 */
        j.cols = cols, j.abits = (kb + 1) / 2;
        j.tlo = malloc(sizeof(int64_t) << j.abits);
        j.thi = malloc(sizeof(int64_t) << (kb - j.abits));
        if (!rc && (!j.tlo || !j.thi)) rc = 2;
        for (int64_t t = 0; !rc && t < ((int64_t)1 << j.abits); t++) {
            int64_t v = 0;
            for (int p = 0; p < j.abits; p++)
                if (t >> p & 1) v ^= cols[p + sh];
            j.tlo[t] = v;
        }
        for (int64_t t = 0; !rc && t < ((int64_t)1 << (kb - j.abits)); t++) {
            int64_t v = 0;
            for (int p = 0; p < kb - j.abits; p++)
                if (t >> p & 1) v ^= cols[p + j.abits + sh];
            j.thi[t] = v;
        }
        for (int c = 0; j.vgather && c < NC; c++) /* output lane l <- input lane c ^ M l */
            for (int l = 0; l < NC; l++) {
                int64_t src = c;
                for (int p = 0; p < lb; p++)
                    if (l >> p & 1) src ^= cols[p];
                j.gmask[c][2 * l] = 2 * src;
                j.gmask[c][2 * l + 1] = 2 * src + 1;
            }
    }
    if (!rc) {
        int bits[64];
        for (int i = 0; i < L.nlow; i++) bits[i] = pos[L.low[i]];
        j.nlowpass = FN(make_passes)(j.lowpass, L.low, bits, L.nlow, pass_gates, j.blen);
        for (int grp = 0; grp < L.ngroups; grp++) {
            const group_t *G = &L.groups[grp];
            for (int i = 0; i < G->h; i++) bits[i] = L.colbits + i;
            j.nhighpass[grp] = FN(make_passes)(j.highpass[grp], G->gates, bits, G->h, pass_gates,
                                               (int64_t)1 << (L.colbits + G->h));
        }
        j.coef = FN(make_coefs)(factors, per_sample ? B : 1, w, 0);
        if (!j.coef) rc = 2;
    }
    int threads = B * j.N >= PARALLEL_MIN ? nthreads : 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads < 1) threads = 1;
    int inplace = cols && (const T *)out == in;
    if (!rc && inplace) { /* the cycles of the block permutation Y -> block of M(Y << k) */
        j.cycles = malloc(sizeof(int64_t) * (size_t)j.nblocks);
        j.cycstart = malloc(sizeof(int64_t) * (size_t)(j.nblocks + 1));
        char *seen = calloc((size_t)j.nblocks, 1);
        j.saves = aligned_alloc(64, sizeof(T) * 2 * (size_t)(j.blen * threads));
        if (!j.cycles || !j.cycstart || !seen || !j.saves) rc = 2;
        int64_t used = 0;
        for (int64_t y0 = 0; !rc && y0 < j.nblocks; y0++) {
            if (seen[y0]) continue;
            j.cycstart[j.ncycles++] = used;
            int64_t y = y0;
            do {
                if (seen[y]) { /* not a permutation of blocks */
                    rc = 3;
                    break;
                }
                seen[y] = 1;
                j.cycles[used++] = y;
                y = FN(perm_base)(y << L.k, &j) >> L.k;
            } while (y != y0);
        }
        if (j.cycstart) j.cycstart[j.ncycles] = used;
        free(seen);
        j.nbatch = B;
        j.owner = malloc(sizeof(int) * (size_t)(B * j.ncycles + 1));
        if (!rc && !j.owner) rc = 2;
        int64_t *order = rc ? NULL : malloc(sizeof(int64_t) * 2 * (size_t)j.ncycles);
        if (!rc && !order) rc = 2;
        if (!rc) { /* longest cycle first, each to the least loaded share */
            for (int64_t c = 0; c < j.ncycles; c++)
                order[2 * c] = j.cycstart[c + 1] - j.cycstart[c], order[2 * c + 1] = c;
            qsort(order, (size_t)j.ncycles, 2 * sizeof(int64_t), longest_first);
            int64_t load[MAX_THREADS] = {0};
            for (int64_t b = 0; b < B; b++)
                for (int64_t i = 0; i < j.ncycles; i++) {
                    int best = 0;
                    for (int t = 1; t < threads; t++)
                        if (load[t] < load[best]) best = t;
                    j.owner[b * j.ncycles + order[2 * i + 1]] = best;
                    load[best] += order[2 * i];
                }
        }
        free(order);
    }
    if (!rc && FN(alloc_bufs)(&j, threads, 1)) rc = 2;
    if (!rc) {
        if (inplace)
            parallel_for(FN(apply_low_cycles), &j, threads, threads);
        else if (cols || L.nlow > 0 || L.nhigh == 0)
            parallel_for(FN(apply_low), &j, B * j.nblocks, threads);
        for (int grp = 0; grp < L.ngroups; grp++) {
            j.G = &L.groups[grp];
            j.first_reads_in = !cols && L.nlow == 0 && grp == 0;
            j.ntiles = j.N >> (L.colbits + j.G->h);
            parallel_for(FN(apply_high), &j, B * j.ntiles, threads);
        }
    }
    free(j.bufs);
    free((void *)j.coef);
    free(j.tlo);
    free(j.thi);
    free(j.cycles);
    free(j.cycstart);
    free(j.owner);
    free(j.saves);
    free_layout(&L);
    return rc;
}

int FN(hqml_layer_apply)(const T *in, T *out, int64_t B, int n, int w, const int *pos,
                         const T *factors, int per_sample, int64_t in_bstride, int nthreads) {
    return FN(layer_run)(in, out, B, n, w, pos, factors, per_sample, in_bstride, nthreads, NULL);
}

int FN(hqml_layer_apply_perm)(const T *in, T *out, int64_t B, int n, int w, const int *pos,
                              const T *factors, int per_sample, int64_t in_bstride, int nthreads,
                              const int64_t *cols) {
    if (!cols) return 1;
    return FN(layer_run)(in, out, B, n, w, pos, factors, per_sample, in_bstride, nthreads, cols);
}

/* psi <- U^H psi, lam <- U^H lam (in place), cot[b][g] = sum lam_g conj(psi'_g), by the
 * sequential definition (see the Python wrapper); cot is (B, w, 2, 2) complex as doubles */
int FN(hqml_layer_adjoint)(T *psi, T *lam, int64_t B, int n, int w, const int *pos,
                           const T *factors, int per_sample, double *cot, int nthreads) {
    layout_t L;
    if (make_layout(&L, n, w, pos, LOW_BITS, COL_BITS)) return 1;
    if (nthreads > MAX_THREADS) nthreads = MAX_THREADS;
    if (nthreads < 1) nthreads = 1;
    FN(job_t) j;
    memset(&j, 0, sizeof(j));
    j.psi = psi, j.lam = lam, j.N = (int64_t)1 << n;
    j.w = w, j.per_sample = per_sample, j.pos = pos, j.L = &L;
    j.blen = (int64_t)1 << L.k, j.nblocks = j.N >> L.k;
    j.ncot = (size_t)(B * w * 8);
    j.coef = FN(make_coefs)(factors, per_sample ? B : 1, w, 1);
    j.acc = calloc((size_t)nthreads * j.ncot + 1, sizeof(double));
    if (!j.coef || !j.acc) {
        free((void *)j.coef);
        free(j.acc);
        free_layout(&L);
        return 2;
    }
    int threads = B * j.N >= PARALLEL_MIN ? nthreads : 1;
    if (FN(alloc_bufs)(&j, threads, 2)) {
        free((void *)j.coef);
        free(j.acc);
        free_layout(&L);
        return 2;
    }
    if (L.nlow > 0) parallel_for(FN(adjoint_low), &j, B * j.nblocks, threads);
    for (int grp = 0; grp < L.ngroups; grp++) {
        j.G = &L.groups[grp];
        j.ntiles = j.N >> (L.colbits + j.G->h);
        parallel_for(FN(adjoint_high), &j, B * j.ntiles, threads);
    }
    /* threads' partial sums in a fixed order: deterministic for a given thread count */
    for (size_t e = 0; e < j.ncot; e++) {
        double s = 0;
        for (int t = 0; t < nthreads; t++) s += j.acc[(size_t)t * j.ncot + e];
        cot[e] = s;
    }
    free(j.bufs);
    free(j.acc);
    free((void *)j.coef);
    free_layout(&L);
    return 0;
}

#undef COEF
#undef PASS_INDEX
#undef NC
