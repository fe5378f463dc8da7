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

typedef struct {
    V r[4], s[4];   /* entries m00 m01 m10 m11 as R / S vectors */
    T m[8];         /* the same entries, scalar (re, im) */
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
}

static inline V FN(swapri)(V v) { return __builtin_shuffle(v, SWAP_MASK); }

/* ---- forward: a 2x2 gate on rows a, b (len complex each, a multiple of NC) -------------- */
static inline void FN(pair_apply)(T *a, T *b, const T *ia, const T *ib, int64_t len,
                                  const FN(coef_t) *c) {
    const V r0 = c->r[0], r1 = c->r[1], r2 = c->r[2], r3 = c->r[3];
    const V s0 = c->s[0], s1 = c->s[1], s2 = c->s[2], s3 = c->s[3];
    for (int64_t j = 0; j < 2 * len; j += 2 * NC) {
        V x = LOAD(ia + j), y = LOAD(ib + j);
        V xs = FN(swapri)(x), ys = FN(swapri)(y);
        V o0 = r0 * x + s0 * xs + r1 * y + s1 * ys;
        V o1 = r2 * x + s2 * xs + r3 * y + s3 * ys;
        STORE(a + j, o0);
        STORE(b + j, o1);
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
typedef struct { V ar, as, xr, xs; } FN(lane_t);

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

static void FN(lane_apply)(T *dst, const T *src, int64_t len, int p, const FN(lane_t) *ln) {
    const V ar = ln->ar, as = ln->as, xr = ln->xr, xs = ln->xs;
    for (int64_t j = 0; j < 2 * len; j += 2 * NC) {
        V x = LOAD(src + j);
        V px = FN(partner)(x, p);
        STORE(dst + j, ar * x + as * FN(swapri)(x) + xr * px + xs * FN(swapri)(px));
    }
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
} FN(job_t);

#define COEF(j, b, g) (&(j)->coef[((j)->per_sample ? (b) : 0) * (j)->w + (g)])

/* pass 1: blocks of 2^k amplitudes, every low gate in turn */
static void FN(apply_low)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(job_t) *j = ctx;
    (void)tid;
    for (int64_t it = lo; it < hi; it++) {
        int64_t b = it / j->nblocks, off = (it % j->nblocks) * j->blen;
        const T *src = j->in + 2 * (b * j->in_bstride + off);
        T *dst = j->out + 2 * (b * j->N + off);
        if (j->L->nlow == 0) memcpy(dst, src, sizeof(T) * 2 * (size_t)j->blen);
        for (int i = 0; i < j->L->nlow; i++) {
            int g = j->L->low[i];
            FN(block_apply)(dst, i == 0 ? src : dst, j->blen, j->pos[g], COEF(j, b, g));
        }
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

/* out[b] = (prod_g F_g) in[b]; in's batch stride (complex) is 0 (broadcast) or N */
int FN(hqml_layer_apply)(const T *in, T *out, int64_t B, int n, int w, const int *pos,
                         const T *factors, int per_sample, int64_t in_bstride, int nthreads) {
    layout_t L;
    if (make_layout(&L, n, w, pos, LOW_BITS, COL_BITS)) return 1;
    FN(job_t) j;
    memset(&j, 0, sizeof(j));
    j.in = in, j.out = out, j.N = (int64_t)1 << n, j.in_bstride = in_bstride;
    j.w = w, j.per_sample = per_sample, j.pos = pos, j.L = &L;
    j.blen = (int64_t)1 << L.k, j.nblocks = j.N >> L.k;
    j.coef = FN(make_coefs)(factors, per_sample ? B : 1, w, 0);
    if (!j.coef) {
        free_layout(&L);
        return 2;
    }
    int threads = B * j.N >= PARALLEL_MIN ? nthreads : 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads < 1) threads = 1;
    if (FN(alloc_bufs)(&j, threads, 1)) {
        free((void *)j.coef);
        free_layout(&L);
        return 2;
    }
    if (L.nlow > 0 || L.nhigh == 0) parallel_for(FN(apply_low), &j, B * j.nblocks, threads);
    for (int grp = 0; grp < L.ngroups; grp++) {
        j.G = &L.groups[grp];
        j.first_reads_in = L.nlow == 0 && grp == 0;
        j.ntiles = j.N >> (L.colbits + j.G->h);
        parallel_for(FN(apply_high), &j, B * j.ntiles, threads);
    }
    free(j.bufs);
    free((void *)j.coef);
    free_layout(&L);
    return 0;
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
#undef NC
