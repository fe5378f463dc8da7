/* One precision of the batched small-register interpreter; included by kernels.c with T, SUF
 * and SV (a vector of SW values of T) defined, after kernels_impl.h (whose FN macro it uses).
 *
 * A hybrid training step on a few qubits runs one circuit for a batch of samples; its cost is
 * dispatch, not arithmetic. Here the whole circuit runs in one call, with the samples as the
 * vector dimension: a block holds SW states as 2^n amplitudes of [SW real parts, SW imaginary
 * parts], and every gate is a loop over its amplitude groups doing whole-vector complex FMAs.
 * Blocks are independent: threads take whole blocks through the whole circuit.
 *
 * The program is an array of ops, SREC int64 each: {kind, k, pos0, pos1, pos2, col, cidx, m}
 *   OP_FIXED  a constant 2^k x 2^k matrix at consts[cidx] (interleaved re, im; row major),
 *   OP_PARAM  exp(-i theta G) = sum_e exp(-i theta ev_e) P_e for theta = column col of theta:
 *             consts[cidx] holds the m eigenvalues ev_e, then the m projectors P_e (complex),
 *   OP_PERM   amplitude i takes amplitude perms[cidx + i] (a whole-register permutation),
 *   OP_GIVEN  matrices the caller built for this call (gates given by a matrix function):
 *             given[goff[2 cidx] ...] holds (1 + m) complex d x d matrices per sample (U, then
 *             dU/dtheta for the m parameters in columns col ...), for every sample when
 *             goff[2 cidx + 1] is set, else once.
 * pos_t is the index bit of the op's wire t (wire 0 of the gate is its most significant bit).
 * Matrices that are the same for every sample are built once per call, the others per block.
 *
 * The backward sweep is the adjoint method per lane: from the final state psi and the cotangent
 * state lam it undoes each op on both and adds 2 Re <lam| dU/dtheta |psi> to grad[b, col]. */

/* SW (lanes: samples per block) is set by kernels.c from the vector width */
#define SREC 8
#define SDMAX 8
#define SEMAX 8
#define SPMAX 4 /* parameters per gate */
#ifndef SKMAX
#define SKMAX 64 /* measured diagonal columns (statevector/limits.py diag_max_terms) */
#endif

typedef struct {
    int64_t offs[SDMAX];
    int64_t mask;
    int k, d;
} FN(sgeom_t);

static void FN(s_geom)(FN(sgeom_t) *g, const int64_t *rec) {
    g->k = (int)rec[1];
    g->d = 1 << g->k;
    g->mask = 0;
    for (int t = 0; t < g->k; t++) g->mask |= (int64_t)1 << rec[2 + t];
    for (int j = 0; j < g->d; j++) {
        int64_t o = 0;
        for (int t = 0; t < g->k; t++)
            if ((j >> (g->k - 1 - t)) & 1) o |= (int64_t)1 << rec[2 + t];
        g->offs[j] = o;
    }
}

/* ---- matrices as lanes: M[2 x] (re) and M[2 x + 1] (im) for entry x = r d + c ------------- */

static inline SV FN(s_splat)(double v) { return (SV){0} + (T)v; }

static int FN(s_nparams)(const int64_t *rec) {
    return rec[0] == OP_PARAM ? 1 : rec[0] == OP_GIVEN ? (int)rec[7] : 0;
}

/* does the op's matrix differ between samples? */
static int FN(s_varies)(const int64_t *rec, const uint8_t *vary, const int64_t *goff) {
    if (rec[0] == OP_PARAM) return vary[rec[5]];
    if (rec[0] == OP_GIVEN) return (int)goff[2 * rec[6] + 1];
    return 0;
}

/* a fixed or given op's U (and with D, the derivatives: D + 2 p d^2 for parameter p) for lanes
 * l0 <= l < l1, sample b0 + l (lanes past B repeat the last sample) */
static void FN(s_build)(const int64_t *rec, const double *consts, const double *given,
                        const int64_t *goff, int64_t b0, int64_t B, int l0, int l1, SV *U, SV *D) {
    int d = 1 << rec[1], dd = d * d;
    for (int l = l0; l < l1; l++) {
        int64_t b = b0 + l < B ? b0 + l : B - 1;
        if (rec[0] == OP_FIXED) {
            const double *c = consts + rec[6];
            for (int x = 0; x < dd; x++) {
                U[2 * x][l] = (T)c[2 * x];
                U[2 * x + 1][l] = (T)c[2 * x + 1];
            }
        } else if (rec[0] == OP_GIVEN) {
            int q = (int)rec[7], batched = (int)goff[2 * rec[6] + 1];
            const double *g = given + 2 * (goff[2 * rec[6]] + (batched ? b : 0) * (1 + q) * dd);
            for (int x = 0; x < dd; x++) {
                U[2 * x][l] = (T)g[2 * x];
                U[2 * x + 1][l] = (T)g[2 * x + 1];
            }
            if (D)
                for (int p = 0; p < q; p++)
                    for (int x = 0; x < dd; x++) {
                        D[2 * (p * dd + x)][l] = (T)g[2 * ((p + 1) * dd + x)];
                        D[2 * (p * dd + x) + 1][l] = (T)g[2 * ((p + 1) * dd + x) + 1];
                    }
        }
    }
}

/* exp(-i theta G) and its derivative for lanes [0, l1): phases per lane, then whole vectors */
static void FN(s_build_param)(const int64_t *rec, const double *consts, const T *theta, int64_t P,
                              int64_t b0, int64_t B, int l1, SV *U, SV *D) {
    int d = 1 << rec[1], dd = d * d, m = (int)rec[7];
    const double *ev = consts + rec[6], *proj = ev + m;
    int pauli = m == 2 && ev[1] == -ev[0]; /* exp(-i th ev_1) = conj(exp(-i th ev_0)) */
    SV pr[SEMAX], pi[SEMAX];
    for (int e = 0; e < m; e++) {
        pr[e] = (SV){0};
        pi[e] = (SV){0};
        if (e == 1 && pauli) {
            pr[1] = pr[0];
            pi[1] = -pi[0];
            continue;
        }
        for (int l = 0; l < l1; l++) {
            int64_t b = b0 + l < B ? b0 + l : B - 1;
            T a = theta[b * P + rec[5]] * (T)ev[e];
            pr[e][l] = sizeof(T) == 4 ? cosf((float)a) : cos((double)a);
            pi[e][l] = sizeof(T) == 4 ? -sinf((float)a) : -sin((double)a);
        }
    }
    for (int x = 0; x < dd; x++) {
        SV ur = {0}, ui = {0}, dr = {0}, di = {0};
        for (int e = 0; e < m; e++) {
            T qr = (T)proj[2 * (e * dd + x)], qi = (T)proj[2 * (e * dd + x) + 1], v = (T)ev[e];
            SV tr = qr * pr[e] - qi * pi[e], ti = qr * pi[e] + qi * pr[e];
            ur += tr;
            ui += ti;
            dr += v * ti; /* (-i ev) (tr + i ti) */
            di -= v * tr;
        }
        U[2 * x] = ur;
        U[2 * x + 1] = ui;
        if (D) {
            D[2 * x] = dr;
            D[2 * x + 1] = di;
        }
    }
}

/* U and D (= U + 2 d^2, or NULL) of one op for a block: lanes of a per-sample op, or one value
 * spread over the lanes */
static void FN(s_matrices)(const int64_t *rec, int varies, const double *consts,
                           const double *given, const int64_t *goff, const T *theta, int64_t P,
                           int64_t b0, int64_t B, SV *U, SV *D) {
    if (rec[0] == OP_PARAM)
        FN(s_build_param)(rec, consts, theta, P, b0, B, varies ? SW : 1, U, D);
    else
        FN(s_build)(rec, consts, given, goff, b0, B, 0, varies ? SW : 1, U, D);
    if (!varies) { /* D, where given, follows U */
        int n = 2 * (1 << (2 * rec[1])) * (D ? 1 + FN(s_nparams)(rec) : 1);
        for (int x = 0; x < n; x++) U[x] = FN(s_splat)(U[x][0]);
    }
}

/* ---- applying and undoing an op on a block ---------------------------------------------- */

static inline __attribute__((always_inline)) void FN(s_apply_k)(SV *st, int n, const FN(sgeom_t) *g,
                                                                  const SV *U, const int d) {
    const int64_t N = (int64_t)1 << n;
    for (int64_t base = 0; base < N; base = ((base | g->mask) + 1) & ~g->mask) {
        SV vr[SDMAX], vi[SDMAX];
        for (int j = 0; j < d; j++) {
            vr[j] = st[2 * (base + g->offs[j])];
            vi[j] = st[2 * (base + g->offs[j]) + 1];
        }
        for (int r = 0; r < d; r++) {
            SV ar = {0}, ai = {0};
            for (int c = 0; c < d; c++) {
                SV ur = U[2 * (r * d + c)], ui = U[2 * (r * d + c) + 1];
                ar += ur * vr[c] - ui * vi[c];
                ai += ur * vi[c] + ui * vr[c];
            }
            st[2 * (base + g->offs[r])] = ar;
            st[2 * (base + g->offs[r]) + 1] = ai;
        }
    }
}

static void FN(s_apply)(SV *st, int n, const FN(sgeom_t) *g, const SV *U) {
    switch (g->d) {
    case 2: FN(s_apply_k)(st, n, g, U, 2); break;
    case 4: FN(s_apply_k)(st, n, g, U, 4); break;
    default: FN(s_apply_k)(st, n, g, U, 8); break;
    }
}

/* psi, lam <- U^H psi, U^H lam; acc[p] += Re <lam_after| D_p |psi_before> for p < nd */
static inline __attribute__((always_inline)) void FN(s_undo_k)(SV *psi, SV *lam, int n,
                                                                 const FN(sgeom_t) *g, const SV *U,
                                                                 const SV *D, int nd, SV *acc,
                                                                 const int d) {
    const int64_t N = (int64_t)1 << n;
    for (int64_t base = 0; base < N; base = ((base | g->mask) + 1) & ~g->mask) {
        SV pr[SDMAX], pi[SDMAX], lr[SDMAX], li[SDMAX], qr[SDMAX], qi[SDMAX];
        for (int j = 0; j < d; j++) {
            int64_t a = 2 * (base + g->offs[j]);
            pr[j] = psi[a];
            pi[j] = psi[a + 1];
            lr[j] = lam[a];
            li[j] = lam[a + 1];
        }
        for (int c = 0; c < d; c++) {
            SV ar = {0}, ai = {0}, br = {0}, bi = {0};
            for (int r = 0; r < d; r++) { /* conj(U[r][c]) */
                SV ur = U[2 * (r * d + c)], ui = U[2 * (r * d + c) + 1];
                ar += ur * pr[r] + ui * pi[r];
                ai += ur * pi[r] - ui * pr[r];
                br += ur * lr[r] + ui * li[r];
                bi += ur * li[r] - ui * lr[r];
            }
            int64_t a = 2 * (base + g->offs[c]);
            qr[c] = ar;
            qi[c] = ai;
            psi[a] = ar;
            psi[a + 1] = ai;
            lam[a] = br;
            lam[a + 1] = bi;
        }
        for (int p = 0; p < nd; p++) {
            const SV *Dp = D + 2 * p * d * d;
            SV s = {0};
            for (int r = 0; r < d; r++) {
                SV wr = {0}, wi = {0};
                for (int c = 0; c < d; c++) {
                    SV dr = Dp[2 * (r * d + c)], di = Dp[2 * (r * d + c) + 1];
                    wr += dr * qr[c] - di * qi[c];
                    wi += dr * qi[c] + di * qr[c];
                }
                s += lr[r] * wr + li[r] * wi;
            }
            acc[p] += s;
        }
    }
}

static void FN(s_undo)(SV *psi, SV *lam, int n, const FN(sgeom_t) *g, const SV *U, const SV *D,
                       int nd, SV *acc) {
    switch (g->d) {
    case 2: FN(s_undo_k)(psi, lam, n, g, U, D, nd, acc, 2); break;
    case 4: FN(s_undo_k)(psi, lam, n, g, U, D, nd, acc, 4); break;
    default: FN(s_undo_k)(psi, lam, n, g, U, D, nd, acc, 8); break;
    }
}

/* ---- the calls ----------------------------------------------------------------------------- */

typedef struct {
    const int64_t *code;
    int nops;
    const double *consts;
    const int64_t *perms;
    int n;
    const T *theta;
    int64_t P, B;
    const uint8_t *vary;
    const double *given;
    const int64_t *goff;
    const T *psi, *lam; /* backward: (B, 2^n) complex */
    const uint8_t *needs;
    int stop;
    T *out; /* forward: states (B, 2^n) complex; backward: grad (B, P) */
    const T *diag; /* diagonal observables (2^n, K), or NULL */
    int64_t K;
    T *values;     /* forward with diag: (B, K) expectation values */
    const T *cot;  /* backward with diag: (B, K) cotangents; lam = psi * (diag cot) */
    SV *shared;       /* matrices built once per call (per op: at shared + soff[op]) */
    int64_t *soff;    /* -1: built per block */
    int64_t scratch;  /* SV per block for the per-sample matrices */
    int status;
} FN(sjob_t);

/* offsets of the per-call matrices; builds them; the size of the per-block scratch */
static int FN(s_prepare)(FN(sjob_t) *j, int with_derivatives) {
    int64_t total = 0, scratch = 0;
    j->soff = malloc(sizeof(int64_t) * (size_t)(j->nops + 1));
    if (!j->soff) return 2;
    for (int o = 0; o < j->nops; o++) {
        const int64_t *rec = j->code + SREC * o;
        int64_t size = rec[0] == OP_PERM ? 0
                       : 2 * ((int64_t)1 << (2 * rec[1])) *
                             (1 + (with_derivatives ? FN(s_nparams)(rec) : 0));
        if (rec[0] != OP_PERM && !FN(s_varies)(rec, j->vary, j->goff)) {
            j->soff[o] = total;
            total += size;
        } else {
            j->soff[o] = -1;
            if (size > scratch) scratch = size;
        }
    }
    j->scratch = scratch;
    j->shared = aligned_alloc(sizeof(SV), sizeof(SV) * (size_t)(total + 1));
    if (!j->shared) return 2;
    for (int o = 0; o < j->nops; o++) {
        const int64_t *rec = j->code + SREC * o;
        if (j->soff[o] < 0) continue;
        SV *U = j->shared + j->soff[o];
        SV *D = with_derivatives && FN(s_nparams)(rec) ? U + 2 * (1 << (2 * rec[1])) : NULL;
        FN(s_matrices)(rec, 0, j->consts, j->given, j->goff, j->theta, j->P, 0, j->B, U, D);
    }
    return 0;
}

static void FN(s_release)(FN(sjob_t) *j) {
    free(j->soff);
    free(j->shared);
}

static void FN(s_forward_body)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(sjob_t) *j = ctx;
    (void)tid;
    int64_t N = (int64_t)1 << j->n;
    SV *mem = aligned_alloc(sizeof(SV), sizeof(SV) * (size_t)(4 * N + j->scratch + 1));
    if (!mem) {
        j->status = 2;
        return;
    }
    SV *st = mem, *tmp = mem + 2 * N, *scratch = mem + 4 * N;
    for (int64_t blk = lo; blk < hi; blk++) {
        int64_t b0 = blk * SW;
        memset(st, 0, sizeof(SV) * (size_t)(2 * N));
        st[0] = FN(s_splat)(1.0); /* |0...0> */
        for (int o = 0; o < j->nops; o++) {
            const int64_t *rec = j->code + SREC * o;
            if (rec[0] == OP_PERM) {
                const int64_t *index = j->perms + rec[6];
                for (int64_t i = 0; i < N; i++) {
                    tmp[2 * i] = st[2 * index[i]];
                    tmp[2 * i + 1] = st[2 * index[i] + 1];
                }
                SV *x = st;
                st = tmp;
                tmp = x;
                continue;
            }
            FN(sgeom_t) g;
            FN(s_geom)(&g, rec);
            const SV *U = scratch;
            if (j->soff[o] >= 0)
                U = j->shared + j->soff[o];
            else
                FN(s_matrices)(rec, 1, j->consts, j->given, j->goff, j->theta, j->P, b0, j->B,
                               scratch, NULL);
            FN(s_apply)(st, j->n, &g, U);
        }
        for (int l = 0; l < SW && b0 + l < j->B; l++) {
            T *row = j->out + 2 * (b0 + l) * N;
            for (int64_t i = 0; i < N; i++) {
                row[2 * i] = st[2 * i][l];
                row[2 * i + 1] = st[2 * i + 1][l];
            }
        }
        if (j->diag) {
            for (int64_t k = 0; k < j->K; k++) {
                SV v = {0};
                for (int64_t i = 0; i < N; i++)
                    v += (st[2 * i] * st[2 * i] + st[2 * i + 1] * st[2 * i + 1]) * j->diag[i * j->K + k];
                for (int l = 0; l < SW && b0 + l < j->B; l++) j->values[(b0 + l) * j->K + k] = v[l];
            }
        }
    }
    free(mem);
}

static void FN(s_load)(SV *st, const T *src, int64_t N, int64_t b0, int64_t B) {
    memset(st, 0, sizeof(SV) * (size_t)(2 * N));
    for (int l = 0; l < SW && b0 + l < B; l++) {
        const T *row = src + 2 * (b0 + l) * N;
        for (int64_t i = 0; i < N; i++) {
            st[2 * i][l] = row[2 * i];
            st[2 * i + 1][l] = row[2 * i + 1];
        }
    }
}

static void FN(s_backward_body)(void *ctx, int64_t lo, int64_t hi, int tid) {
    FN(sjob_t) *j = ctx;
    (void)tid;
    int64_t N = (int64_t)1 << j->n;
    SV *mem = aligned_alloc(sizeof(SV), sizeof(SV) * (size_t)(8 * N + j->scratch + SPMAX + 1));
    if (!mem) {
        j->status = 2;
        return;
    }
    SV *psi = mem, *lam = psi + 2 * N, *tp = lam + 2 * N, *tl = tp + 2 * N;
    SV *acc = tl + 2 * N, *scratch = acc + SPMAX;
    for (int64_t blk = lo; blk < hi; blk++) {
        int64_t b0 = blk * SW;
        FN(s_load)(psi, j->psi, N, b0, j->B);
        if (j->diag) { /* lam = O psi for O = sum_k cot_k diag_k */
            SV c[SKMAX];
            for (int64_t k = 0; k < j->K && k < SKMAX; k++)
                for (int l = 0; l < SW; l++)
                    c[k][l] = b0 + l < j->B ? j->cot[(b0 + l) * j->K + k] : 0;
            for (int64_t i = 0; i < N; i++) {
                SV w = {0};
                for (int64_t k = 0; k < j->K; k++) w += c[k] * j->diag[i * j->K + k];
                lam[2 * i] = psi[2 * i] * w;
                lam[2 * i + 1] = psi[2 * i + 1] * w;
            }
        } else {
            FN(s_load)(lam, j->lam, N, b0, j->B);
        }
        for (int o = j->nops - 1; o >= j->stop; o--) {
            const int64_t *rec = j->code + SREC * o;
            if (rec[0] == OP_PERM) { /* amplitude perms[i] takes amplitude i back */
                const int64_t *index = j->perms + rec[6];
                for (int64_t i = 0; i < N; i++) {
                    tp[2 * index[i]] = psi[2 * i];
                    tp[2 * index[i] + 1] = psi[2 * i + 1];
                    tl[2 * index[i]] = lam[2 * i];
                    tl[2 * index[i] + 1] = lam[2 * i + 1];
                }
                SV *x = psi;
                psi = tp;
                tp = x;
                x = lam;
                lam = tl;
                tl = x;
                continue;
            }
            FN(sgeom_t) g;
            FN(s_geom)(&g, rec);
            int np = FN(s_nparams)(rec), want = 0;
            for (int p = 0; p < np; p++) want |= j->needs[rec[5] + p];
            const SV *U = scratch;
            if (j->soff[o] >= 0)
                U = j->shared + j->soff[o];
            else
                FN(s_matrices)(rec, 1, j->consts, j->given, j->goff, j->theta, j->P, b0, j->B,
                               scratch, np ? scratch + 2 * g.d * g.d : NULL);
            const SV *D = U + 2 * g.d * g.d;
            if (!want) np = 0;
            for (int p = 0; p < np; p++) acc[p] = (SV){0};
            FN(s_undo)(psi, lam, j->n, &g, U, D, np, acc);
            for (int p = 0; p < np; p++)
                for (int l = 0; l < SW && b0 + l < j->B; l++)
                    j->out[(b0 + l) * j->P + rec[5] + p] += 2 * acc[p][l];
        }
    }
    free(mem);
}

static int FN(s_threads)(int64_t N, int64_t nblk, int nops, int nthreads) {
    /* below about 2^18 lane-amplitude updates a second thread costs more than it saves */
    return (double)N * (double)nblk * SW * (nops + 1) >= (double)(1 << 18) ? nthreads : 1;
}

int FN(hqml_small_forward)(const int64_t *code, int nops, const double *consts,
                           const int64_t *perms, int n, const T *theta, int64_t P, int64_t B,
                           const uint8_t *vary, const double *given, const int64_t *goff,
                           T *out, const T *diag, int64_t K, T *values, int nthreads) {
    if (n < 0 || n > 24 || B < 1) return 1;
    FN(sjob_t) j = {0};
    j.code = code, j.nops = nops, j.consts = consts, j.perms = perms, j.n = n, j.theta = theta;
    j.P = P, j.B = B, j.vary = vary, j.given = given, j.goff = goff, j.out = out;
    j.diag = diag, j.K = K, j.values = values;
    int rc = FN(s_prepare)(&j, 0);
    if (!rc) {
        int64_t nblk = (B + SW - 1) / SW;
        parallel_for(FN(s_forward_body), &j, nblk,
                     FN(s_threads)((int64_t)1 << n, nblk, nops, nthreads));
        rc = j.status;
    }
    FN(s_release)(&j);
    return rc;
}

int FN(hqml_small_backward)(const int64_t *code, int nops, const double *consts,
                            const int64_t *perms, int n, const T *theta, int64_t P, int64_t B,
                            const uint8_t *vary, const double *given, const int64_t *goff,
                            const T *psi, const T *lam, const T *diag, int64_t K, const T *cot,
                            const uint8_t *needs, int stop, T *grad, int nthreads) {
    if (n < 0 || n > 24 || B < 1 || (diag && K > SKMAX)) return 1;
    FN(sjob_t) j = {0};
    j.code = code, j.nops = nops, j.consts = consts, j.perms = perms, j.n = n, j.theta = theta;
    j.P = P, j.B = B, j.vary = vary, j.given = given, j.goff = goff, j.out = grad;
    j.psi = psi, j.lam = lam, j.needs = needs, j.stop = stop, j.diag = diag, j.K = K, j.cot = cot;
    int rc = FN(s_prepare)(&j, 1);
    if (!rc) {
        int64_t nblk = (B + SW - 1) / SW;
        parallel_for(FN(s_backward_body), &j, nblk,
                     FN(s_threads)((int64_t)1 << n, nblk, 3 * (nops - stop), nthreads));
        rc = j.status;
    }
    FN(s_release)(&j);
    return rc;
}

/* ---- the parameter table and its gradient, for the prepared calls ------------------------------
 * put: theta[b, off + j] = src[(rows > 1 ? b : 0) * size + j], one given tensor into the (B, P)
 * table (a tensor given once is repeated on every row); take: out = grad[:, off : off + size]
 * (B x size), or with sum its sum over the rows (size). */

void FN(hqml_small_put)(const T *src, int64_t rows, int64_t size, int64_t B, int64_t P,
                        int64_t off, T *theta) {
    for (int64_t b = 0; b < B; b++)
        memcpy(theta + b * P + off, src + (rows > 1 ? b : 0) * size, sizeof(T) * (size_t)size);
}

void FN(hqml_small_take)(const T *grad, int64_t B, int64_t P, int64_t off, int64_t size, int sum,
                         T *out) {
    if (!sum) {
        for (int64_t b = 0; b < B; b++)
            memcpy(out + b * size, grad + b * P + off, sizeof(T) * (size_t)size);
        return;
    }
    /* in double, blockwise: float rows added one by one lose digits on large batches */
    double acc[64];
    for (int64_t j0 = 0; j0 < size; j0 += 64) {
        int64_t m = size - j0 < 64 ? size - j0 : 64;
        for (int64_t j = 0; j < m; j++) acc[j] = 0;
        for (int64_t b = 0; b < B; b++)
            for (int64_t j = 0; j < m; j++) acc[j] += (double)grad[b * P + off + j0 + j];
        for (int64_t j = 0; j < m; j++) out[j0 + j] = (T)acc[j];
    }
}
