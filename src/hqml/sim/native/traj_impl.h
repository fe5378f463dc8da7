/* One precision of the trajectory kernel; included by kernels.c after kernels_impl.h (T, SUF,
 * V, VU, NC's ingredients and the partner shuffles defined).
 *
 * hqml_traj_run runs whole noisy circuits, one trajectory per state row, each row from |0>
 * through every operation while it sits in cache (rows are independent: threads split them).
 * An operation is a gate on k = 1 or 2 wires and the channels after it on those wires. Per row,
 * its operator M = K_s ... K_1 U (d x d, d = 2^k) is drawn first, in double precision, exactly as
 * hqml.backends.trajectories._noisy_gate draws it: a mixture of unitaries picks its (scaled)
 * operator from its cumulative weights; any other channel picks K_i with probability
 * tr(K_i M rho K_i^H M^H) (rho the gate wires' reduced density matrix before the gate: one
 * read-only pass) and M becomes K_i M normalised; a draw below the least eigenvalue of
 * K_0^H K_0 picks K_0 without that pass (any state gives K_0 at least that probability; the
 * row is renormalised at the end). One-wire operators are deferred into the next two-wire
 * operation on their wire (all are applied before a reduced density matrix is taken). The
 * uniform draws come from the caller (the same draws the torch path takes), so both paths give
 * the same rows. See docs/native_kernels.md. */

#define NCT (VBYTES / (2 * (int)sizeof(T))) /* complex numbers per vector */

typedef struct {
    T *states;            /* (R, 2^n), or NULL: rows in a scratch buffer per thread */
    double *zs;           /* (R, n) every wire's <Z> per row, or NULL */
    int64_t R, per_sample, nops;
    int n;
    const int64_t *ops;    /* TRAJ_OP fields per operation */
    const int64_t *steps;  /* TRAJ_STEP fields per channel step */
    const double *cplx;    /* matrices and Kraus operators, complex as (re, im) doubles */
    const double *cdfs;    /* mixtures' cumulative weights */
    const double *uniform; /* (steps, R) */
} FN(traj_t);

/* lane l's matrix index over the gate's wires, its in-vector bits taken from l, the others
 * from the across combination a (bit j of a for the j-th across wire) */
static inline int FN(traj_cidx)(int k, const int *pos, int lognc, int a, int l) {
    int c = 0, j = 0;
    for (int i = 0; i < k; i++) {
        int bit;
        if (pos[i] < lognc)
            bit = (l >> pos[i]) & 1;
        else
            bit = (a >> j++) & 1;
        c |= bit << (k - 1 - i);
    }
    return c;
}

static inline V FN(traj_perm)(V v, int f) {
    /* lane l <- lane l ^ f, f a mask of in-vector bits (at most two of them) */
    for (int p = 0; p < 3; p++)
        if (f >> p & 1) v = FN(partner)(v, p);
    return v;
}

/* vector index t -> complex index of its first lane with zeros inserted at the across bits */
static inline int64_t FN(traj_base)(int64_t t, int lognc, int na, const int *apos_sorted) {
    int64_t idx = t << lognc;
    for (int j = 0; j < na; j++) {
        int p = apos_sorted[j];
        idx = ((idx >> p) << (p + 1)) | (idx & (((int64_t)1 << p) - 1));
    }
    return idx;
}

/* ---- scalar paths (rows shorter than a vector, and a reference) ------------------------- */
static void FN(traj_offsets)(int k, const int *pos, int64_t *off) {
    for (int c = 0; c < (1 << k); c++) {
        off[c] = 0;
        for (int i = 0; i < k; i++)
            if (c >> (k - 1 - i) & 1) off[c] |= (int64_t)1 << pos[i];
    }
}

static void FN(traj_reduce_scalar)(const T *row, int n, int k, const int *pos, double *rho) {
    int d = 1 << k;
    int64_t off[4], mask = 0, N = (int64_t)1 << n;
    FN(traj_offsets)(k, pos, off);
    for (int i = 0; i < k; i++) mask |= (int64_t)1 << pos[i];
    memset(rho, 0, sizeof(double) * 2 * (size_t)(d * d));
    for (int64_t g = 0; g < N; g++) {
        if (g & mask) continue;
        for (int a = 0; a < d; a++) {
            double ar = row[2 * (g + off[a])], ai = row[2 * (g + off[a]) + 1];
            for (int b = 0; b < d; b++) {
                double br = row[2 * (g + off[b])], bi = row[2 * (g + off[b]) + 1];
                rho[2 * (a * d + b)] += ar * br + ai * bi;
                rho[2 * (a * d + b) + 1] += ai * br - ar * bi;
            }
        }
    }
}

static void FN(traj_apply_scalar)(T *row, int n, int k, const int *pos, const double *m) {
    int d = 1 << k;
    int64_t off[4], mask = 0, N = (int64_t)1 << n;
    FN(traj_offsets)(k, pos, off);
    for (int i = 0; i < k; i++) mask |= (int64_t)1 << pos[i];
    for (int64_t g = 0; g < N; g++) {
        if (g & mask) continue;
        double xr[4], xi[4];
        for (int a = 0; a < d; a++) xr[a] = row[2 * (g + off[a])], xi[a] = row[2 * (g + off[a]) + 1];
        for (int a = 0; a < d; a++) {
            double yr = 0, yi = 0;
            for (int b = 0; b < d; b++) {
                double mr = m[2 * (a * d + b)], mi = m[2 * (a * d + b) + 1];
                yr += mr * xr[b] - mi * xi[b];
                yi += mr * xi[b] + mi * xr[b];
            }
            row[2 * (g + off[a])] = (T)yr;
            row[2 * (g + off[a]) + 1] = (T)yi;
        }
    }
}

/* ---- vector paths ------------------------------------------------------------------------- */
/* The gate's wires split into "across" wires (bit position >= log2 NC: different vectors) and
 * in-vector wires (lanes of one vector). A group is the 2^na vectors at base + across offsets;
 * every lane of a group sees the other in-vector values at its partner lanes l ^ f. Groups come
 * in runs of contiguous bases (below the lowest across bit). Specialised by (na, ni) through
 * always_inline so the small loops unroll and the arrays stay in registers. */
#define TRAJ_CHUNK 256 /* vectors per float partial sum before it is added in double */

typedef struct {
    int asort[2], fm[4];
    int64_t aoff[4], groups, rv; /* rv: groups per run of contiguous bases */
} FN(traj_geo_t);

static inline __attribute__((always_inline)) void FN(traj_geo)(FN(traj_geo_t) *G, int n, int k,
                                                               const int *pos, int na, int ni) {
    const int lognc = __builtin_ctz(NCT), da = 1 << na, nf = 1 << ni;
    int apos[2] = {0, 0}, im[2] = {0, 0}, j = 0, q = 0;
    for (int i = 0; i < k; i++) {
        if (pos[i] >= lognc)
            apos[j++] = pos[i];
        else
            im[q++] = 1 << pos[i];
    }
    G->asort[0] = apos[0], G->asort[1] = apos[1];
    if (na == 2 && apos[0] > apos[1]) G->asort[0] = apos[1], G->asort[1] = apos[0];
    for (int a = 0; a < da; a++) {
        G->aoff[a] = 0;
        for (int i = 0; i < na; i++)
            if (a >> i & 1) G->aoff[a] |= (int64_t)1 << apos[i];
    }
    for (int f = 0; f < nf; f++) {
        G->fm[f] = 0;
        for (int i = 0; i < ni; i++)
            if (f >> i & 1) G->fm[f] |= im[i];
    }
    G->groups = ((int64_t)1 << n) >> (lognc + na);
    G->rv = na ? (int64_t)1 << (G->asort[0] - lognc) : G->groups;
}

/* lane-wise coefficient vectors of a complex entry per lane: R = (re, re), S = (-im, im) */
static inline void FN(traj_coef)(V *R, V *S, const T *re, const T *im) {
    T r[2 * NCT], s[2 * NCT];
    for (int l = 0; l < NCT; l++) {
        r[2 * l] = r[2 * l + 1] = re[l];
        s[2 * l] = -im[l];
        s[2 * l + 1] = im[l];
    }
    *R = LOAD(r);
    *S = LOAD(s);
}

static inline __attribute__((always_inline)) void FN(traj_reduce_vec)(
    const T *row, int n, int k, const int *pos, int na, int ni, double *rho) {
    const int lognc = __builtin_ctz(NCT), d = 1 << k, da = 1 << na, nf = 1 << ni;
    FN(traj_geo_t) G;
    FN(traj_geo)(&G, n, k, pos, na, ni);
    memset(rho, 0, sizeof(double) * 2 * (size_t)(d * d));
    V P[4][4][4], Q[4][4][4];
    for (int a = 0; a < da; a++)
        for (int b = 0; b < da; b++)
            for (int f = 0; f < nf; f++) P[a][b][f] = (V){0}, Q[a][b][f] = (V){0};
#define TRAJ_FLUSH_RHO()                                                                        \
    for (int a = 0; a < da; a++)                                                                \
        for (int b = 0; b < da; b++)                                                            \
            for (int f = 0; f < nf; f++) {                                                      \
                for (int l = 0; l < NCT; l++) {                                                 \
                    int r = FN(traj_cidx)(k, pos, lognc, a, l);                                 \
                    int c = FN(traj_cidx)(k, pos, lognc, b, l ^ G.fm[f]);                       \
                    rho[2 * (r * d + c)] += (double)P[a][b][f][2 * l] + (double)P[a][b][f][2 * l + 1]; \
                    rho[2 * (r * d + c) + 1] +=                                                 \
                        (double)Q[a][b][f][2 * l + 1] - (double)Q[a][b][f][2 * l];              \
                }                                                                               \
                P[a][b][f] = (V){0}, Q[a][b][f] = (V){0};                                       \
            }
    int64_t since = 0;
    for (int64_t g = 0; g < G.groups; g += G.rv) {
        const T *start = row + 2 * FN(traj_base)(g, lognc, na, G.asort);
        for (int64_t v0 = 0; v0 < G.rv; v0 += TRAJ_CHUNK) {
            int64_t v1 = v0 + TRAJ_CHUNK < G.rv ? v0 + TRAJ_CHUNK : G.rv;
            for (int64_t v = v0; v < v1; v++) {
                const T *at = start + 2 * v * NCT;
                V x[4];
                for (int a = 0; a < da; a++) x[a] = LOAD(at + 2 * G.aoff[a]);
                for (int b = 0; b < da; b++)
                    for (int f = 0; f < nf; f++) {
                        V y = FN(traj_perm)(x[b], G.fm[f]), ys = FN(swapri)(y);
                        for (int a = 0; a < da; a++) {
                            P[a][b][f] += x[a] * y;
                            Q[a][b][f] += x[a] * ys;
                        }
                    }
            }
            since += v1 - v0;
            if (since >= TRAJ_CHUNK) {
                since = 0;
                TRAJ_FLUSH_RHO()
            }
        }
    }
    TRAJ_FLUSH_RHO()
#undef TRAJ_FLUSH_RHO
}

/* M block diagonal in one wire (no term between its two values: a controlled gate's structure)
 * skips half the terms: bda >= 0 for the across wire of that index, bdf >= 0 for the in-vector
 * one (its partner lanes); constants after inlining */
static inline __attribute__((always_inline)) void FN(traj_apply_vec)(
    T *row, int n, int k, const int *pos, int na, int ni, const double *m, int bda, int bdf) {
    const int lognc = __builtin_ctz(NCT), d = 1 << k, da = 1 << na, nf = 1 << ni;
    FN(traj_geo_t) G;
    FN(traj_geo)(&G, n, k, pos, na, ni);
    /* per-lane coefficients: out[a] lane l = sum_{b,f} M[r][c] x[b][l ^ f] */
    V CR[4][4][4], CS[4][4][4];
    for (int a = 0; a < da; a++)
        for (int b = 0; b < da; b++)
            for (int f = 0; f < nf; f++) {
                T re[NCT], im[NCT];
                for (int l = 0; l < NCT; l++) {
                    int r = FN(traj_cidx)(k, pos, lognc, a, l);
                    int c = FN(traj_cidx)(k, pos, lognc, b, l ^ G.fm[f]);
                    re[l] = (T)m[2 * (r * d + c)], im[l] = (T)m[2 * (r * d + c) + 1];
                }
                FN(traj_coef)(&CR[a][b][f], &CS[a][b][f], re, im);
            }
    for (int64_t g = 0; g < G.groups; g += G.rv) {
        T *start = row + 2 * FN(traj_base)(g, lognc, na, G.asort);
        for (int64_t v = 0; v < G.rv; v++) {
            T *at = start + 2 * v * NCT;
            V x[4], y[4][4], ys[4][4];
            for (int b = 0; b < da; b++) {
                x[b] = LOAD(at + 2 * G.aoff[b]);
                for (int f = 0; f < nf; f++) {
                    y[b][f] = FN(traj_perm)(x[b], G.fm[f]);
                    ys[b][f] = FN(swapri)(y[b][f]);
                }
            }
            for (int a = 0; a < da; a++) {
                V o = (V){0};
                for (int b = 0; b < da; b++) {
                    if (bda >= 0 && ((a ^ b) >> bda & 1)) continue;
                    for (int f = 0; f < nf; f++) {
                        if (bdf >= 0 && (f >> bdf & 1)) continue;
                        o += CR[a][b][f] * y[b][f] + CS[a][b][f] * ys[b][f];
                    }
                }
                STORE(at + 2 * G.aoff[a], o);
            }
        }
    }
}

/* only the diagonal of rho (the populations): enough where every branch operator B has at most
 * one nonzero per row and column, for then B^H B is diagonal (the plan says so per operation) */
static inline __attribute__((always_inline)) void FN(traj_pops_vec)(
    const T *row, int n, int k, const int *pos, int na, double *rho) {
    const int lognc = __builtin_ctz(NCT), d = 1 << k, da = 1 << na;
    FN(traj_geo_t) G;
    FN(traj_geo)(&G, n, k, pos, na, k - na);
    memset(rho, 0, sizeof(double) * 2 * (size_t)(d * d));
    V P[4];
    for (int a = 0; a < da; a++) P[a] = (V){0};
#define TRAJ_FLUSH_POPS()                                                                       \
    for (int a = 0; a < da; a++) {                                                              \
        for (int l = 0; l < NCT; l++) {                                                         \
            int r = FN(traj_cidx)(k, pos, lognc, a, l);                                         \
            rho[2 * (r * d + r)] += (double)P[a][2 * l] + (double)P[a][2 * l + 1];              \
        }                                                                                       \
        P[a] = (V){0};                                                                          \
    }
    int64_t since = 0;
    for (int64_t g = 0; g < G.groups; g += G.rv) {
        const T *start = row + 2 * FN(traj_base)(g, lognc, na, G.asort);
        for (int64_t v0 = 0; v0 < G.rv; v0 += TRAJ_CHUNK) {
            int64_t v1 = v0 + TRAJ_CHUNK < G.rv ? v0 + TRAJ_CHUNK : G.rv;
            for (int64_t v = v0; v < v1; v++) {
                const T *at = start + 2 * v * NCT;
                for (int a = 0; a < da; a++) {
                    V x = LOAD(at + 2 * G.aoff[a]);
                    P[a] += x * x;
                }
            }
            since += v1 - v0;
            if (since >= TRAJ_CHUNK) {
                since = 0;
                TRAJ_FLUSH_POPS()
            }
        }
    }
    TRAJ_FLUSH_POPS()
#undef TRAJ_FLUSH_POPS
}

/* M with at most one nonzero per row, all the gate's wires across vectors: out[a] = M[a][src[a]]
 * x[src[a]] (a zero row gives zeros) */
static inline __attribute__((always_inline)) void FN(traj_apply_mono)(
    T *row, int n, int k, const int *pos, const double *m, const int *src) {
    const int lognc = __builtin_ctz(NCT), d = 1 << k, da = 1 << k;
    FN(traj_geo_t) G;
    FN(traj_geo)(&G, n, k, pos, k, 0);
    V CR[4], CS[4];
    int64_t soff[4];
    for (int a = 0; a < da; a++) {
        int r = FN(traj_cidx)(k, pos, lognc, a, 0);
        int c = src[r], b = 0; /* the across combination of matrix index c */
        for (int i = 0; i < k; i++) b |= ((c >> (k - 1 - i)) & 1) << i;
        soff[a] = G.aoff[b];
        T re[NCT], im[NCT];
        for (int l = 0; l < NCT; l++) re[l] = (T)m[2 * (r * d + c)], im[l] = (T)m[2 * (r * d + c) + 1];
        FN(traj_coef)(&CR[a], &CS[a], re, im);
    }
    for (int64_t g = 0; g < G.groups; g += G.rv) {
        T *start = row + 2 * FN(traj_base)(g, lognc, k, G.asort);
        for (int64_t v = 0; v < G.rv; v++) {
            T *at = start + 2 * v * NCT;
            V y[4];
            for (int a = 0; a < da; a++) y[a] = LOAD(at + 2 * soff[a]);
            for (int a = 0; a < da; a++)
                STORE(at + 2 * G.aoff[a], CR[a] * y[a] + CS[a] * FN(swapri)(y[a]));
        }
    }
}

static void FN(traj_pops)(const T *row, int n, int k, const int *pos, double *rho) {
    const int lognc = __builtin_ctz(NCT);
    int na = 0;
    for (int i = 0; i < k; i++) na += pos[i] >= lognc;
    if (n < lognc) {
        FN(traj_reduce_scalar)(row, n, k, pos, rho);
    } else if (na == 0) {
        FN(traj_pops_vec)(row, n, k, pos, 0, rho);
    } else if (na == 1) {
        FN(traj_pops_vec)(row, n, k, pos, 1, rho);
    } else {
        FN(traj_pops_vec)(row, n, k, pos, 2, rho);
    }
}

/* the vector path wherever the row holds a whole vector (then every gate bit below log2 NC is
 * in a vector and the rest are across); the scalar one for shorter rows */
static void FN(traj_reduce)(const T *row, int n, int k, const int *pos, double *rho) {
    const int lognc = __builtin_ctz(NCT);
    int ni = 0;
    for (int i = 0; i < k; i++) ni += pos[i] < lognc;
    int na = k - ni;
    if (n < lognc) {
        FN(traj_reduce_scalar)(row, n, k, pos, rho);
    } else if (k == 1) {
        if (na) FN(traj_reduce_vec)(row, n, 1, pos, 1, 0, rho);
        else FN(traj_reduce_vec)(row, n, 1, pos, 0, 1, rho);
    } else if (na == 2) {
        FN(traj_reduce_vec)(row, n, 2, pos, 2, 0, rho);
    } else if (na == 1) {
        FN(traj_reduce_vec)(row, n, 2, pos, 1, 1, rho);
    } else {
        FN(traj_reduce_vec)(row, n, 2, pos, 0, 2, rho);
    }
}

static void FN(traj_apply)(T *row, int n, int k, const int *pos, const double *m) {
    const int lognc = __builtin_ctz(NCT), d = 1 << k;
    int ni = 0;
    for (int i = 0; i < k; i++) ni += pos[i] < lognc;
    int na = k - ni;
    if (n < lognc) {
        FN(traj_apply_scalar)(row, n, k, pos, m);
        return;
    }
    if (ni == 0) { /* at most one nonzero per row (permutations, diagonals, damping): 1 term */
        int src[4], mono = 1;
        for (int r = 0; r < d && mono; r++) {
            src[r] = 0;
            int nz = 0;
            for (int c = 0; c < d; c++)
                if (m[2 * (r * d + c)] != 0 || m[2 * (r * d + c) + 1] != 0) src[r] = c, nz++;
            mono = nz <= 1;
        }
        if (mono) {
            if (k == 1) FN(traj_apply_mono)(row, n, 1, pos, m, src);
            else FN(traj_apply_mono)(row, n, 2, pos, m, src);
            return;
        }
    }
    if (k == 2) { /* block diagonal in a wire (wire i: matrix bit 1 - i)? */
        int bd = -1;
        for (int i = 0; i < 2 && bd < 0; i++) {
            int zero = 1, bit = 1 - i;
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++)
                    if (((r ^ c) >> bit & 1) && (m[2 * (r * 4 + c)] != 0 || m[2 * (r * 4 + c) + 1] != 0))
                        zero = 0;
            if (zero) bd = i;
        }
        /* its index among the across wires or the in-vector ones (each counted in wire order) */
        int across = bd >= 0 && pos[bd] >= lognc, idx = 0;
        for (int i = 0; i < bd; i++) idx += (pos[i] >= lognc) == across;
        if (na == 2) {
            if (bd < 0) FN(traj_apply_vec)(row, n, 2, pos, 2, 0, m, -1, -1);
            else if (idx == 0) FN(traj_apply_vec)(row, n, 2, pos, 2, 0, m, 0, -1);
            else FN(traj_apply_vec)(row, n, 2, pos, 2, 0, m, 1, -1);
        } else if (na == 1) {
            if (bd < 0) FN(traj_apply_vec)(row, n, 2, pos, 1, 1, m, -1, -1);
            else if (across) FN(traj_apply_vec)(row, n, 2, pos, 1, 1, m, 0, -1);
            else FN(traj_apply_vec)(row, n, 2, pos, 1, 1, m, -1, 0);
        } else {
            if (bd < 0) FN(traj_apply_vec)(row, n, 2, pos, 0, 2, m, -1, -1);
            else if (idx == 0) FN(traj_apply_vec)(row, n, 2, pos, 0, 2, m, -1, 0);
            else FN(traj_apply_vec)(row, n, 2, pos, 0, 2, m, -1, 1);
        }
        return;
    }
    if (na) FN(traj_apply_vec)(row, n, 1, pos, 1, 0, m, -1, -1);
    else FN(traj_apply_vec)(row, n, 1, pos, 0, 1, m, -1, -1);
}

/* c = a b for d x d complex (double) matrices; the Kraus operators and gates here are mostly
 * zeros (Paulis, damping, permutations), so zero entries of a are skipped */
static void FN(traj_matmul)(int d, const double *a, const double *b, double *c) {
    memset(c, 0, sizeof(double) * 2 * (size_t)(d * d));
    for (int i = 0; i < d; i++)
        for (int l = 0; l < d; l++) {
            double ar = a[2 * (i * d + l)], ai = a[2 * (i * d + l) + 1];
            if (ar == 0 && ai == 0) continue;
            for (int j = 0; j < d; j++) {
                double br = b[2 * (l * d + j)], bi = b[2 * (l * d + j) + 1];
                c[2 * (i * d + j)] += ar * br - ai * bi;
                c[2 * (i * d + j) + 1] += ar * bi + ai * br;
            }
        }
}

/* the identity to rounding (a mixture's scaled identity K / sqrt(w) is 1 - 1e-16 at worst) */
static int FN(traj_is_identity)(int d, const double *a) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++)
            if (fabs(a[2 * (i * d + j)] - (i == j)) > 1e-14 || fabs(a[2 * (i * d + j) + 1]) > 1e-14)
                return 0;
    return 1;
}

/* Re tr(B rho B^H) = sum_ab (B rho)_ab conj(B_ab) */
static double FN(traj_weight)(int d, const double *b, const double *rho) {
    double t[32], s = 0;
    FN(traj_matmul)(d, b, rho, t);
    for (int e = 0; e < d * d; e++) s += t[2 * e] * b[2 * e] + t[2 * e + 1] * b[2 * e + 1];
    return s;
}

/* the index drawn by u from cumulative sums (the count of sums <= u * total, at most K - 1):
 * torch.searchsorted(cdf, u * cdf[-1], right=True).clamp_max(K - 1) */
static int FN(traj_pick)(const double *cdf, int K, double u) {
    double x = u * cdf[K - 1];
    int i = 0;
    while (i < K && cdf[i] <= x) i++;
    return i < K ? i : K - 1;
}

/* kp = x (x) y for 2 x 2 complex (double) matrices (x on the more significant index bit) */
static void FN(traj_kron2)(const double *x, const double *y, double *kp) {
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            const double *e = x + 2 * ((a >> 1) * 2 + (b >> 1)), *f = y + 2 * ((a & 1) * 2 + (b & 1));
            kp[2 * (a * 4 + b)] = e[0] * f[0] - e[1] * f[1];
            kp[2 * (a * 4 + b) + 1] = e[0] * f[1] + e[1] * f[0];
        }
}

/* apply and clear every deferred one-wire operator of a row, two wires per pass */
static void FN(traj_flush)(T *row, int n, double (*pend)[8], int *has) {
    int waiting = -1;
    for (int p = 0; p < n; p++) {
        if (!has[p]) continue;
        has[p] = 0;
        if (waiting < 0) {
            waiting = p;
            continue;
        }
        double kp[32];
        int pos[2] = {waiting, p};
        FN(traj_kron2)(pend[waiting], pend[p], kp);
        FN(traj_apply)(row, n, 2, pos, kp);
        waiting = -1;
    }
    if (waiting >= 0) FN(traj_apply)(row, n, 1, &waiting, pend[waiting]);
}

/* every wire's <Z> of a row (zs[w], wire w at bit n - 1 - w) by halving the register one wire at
 * a time into buf (2^(n-1) numbers), and the squared norm */
static double FN(traj_single_z)(const T *row, int n, T *buf, double *zs) {
    int64_t h = (int64_t)1 << (n - 1);
    double total = 0, ones = 0;
    for (int64_t j = 0; j < h; j++) {
        T a = row[2 * j] * row[2 * j] + row[2 * j + 1] * row[2 * j + 1];
        T b = row[2 * (j + h)] * row[2 * (j + h)] + row[2 * (j + h) + 1] * row[2 * (j + h) + 1];
        buf[j] = a + b;
        total += (double)a + (double)b;
        ones += b;
    }
    zs[0] = ones;
    for (int w = 1; w < n; w++) {
        h >>= 1;
        ones = 0;
        for (int64_t j = 0; j < h; j++) {
            ones += buf[j + h];
            buf[j] += buf[j + h];
        }
        zs[w] = ones;
    }
    for (int w = 0; w < n; w++) zs[w] = total > 0 ? 1 - 2 * zs[w] / total : 0;
    return total;
}

static void FN(traj_rows)(void *ctx, int64_t lo, int64_t hi, int tid) {
    const FN(traj_t) *J = ctx;
    (void)tid;
    const int n = J->n;
    int64_t N = (int64_t)1 << n;
    double pend[64][8]; /* deferred one-wire operators by bit position */
    int has[64];
    T *scratch = NULL, *buf = NULL;
    if (!J->states) scratch = aligned_alloc(64, (sizeof(T) * 2 * (size_t)N + 63) / 64 * 64);
    if (J->zs) buf = malloc(sizeof(T) * (size_t)(N / 2 + 1));
    if ((!J->states && !scratch) || (J->zs && !buf)) { /* no memory: NaN rows, never wrong ones */
        for (int64_t r = lo; r < hi && J->zs; r++)
            for (int w = 0; w < n; w++) J->zs[r * n + w] = NAN;
        free(scratch);
        free(buf);
        return;
    }
    for (int64_t r = lo; r < hi; r++) {
        T *row = J->states ? J->states + 2 * r * N : scratch;
        memset(row, 0, sizeof(T) * 2 * (size_t)N);
        row[0] = 1;
        memset(has, 0, sizeof(has));
        int64_t sample = r / J->per_sample;
        for (int64_t o = 0; o < J->nops; o++) {
            const int64_t *op = J->ops + TRAJ_OP * o;
            int k = (int)op[0], d = 1 << k, pos[2] = {(int)op[1], (int)op[2]};
            double M[32], tmp[32], rho[32], br[4][32], w[4], cdf[4];
            const double *u0 = J->cplx + 2 * (op[3] + (op[4] ? sample * d * d : 0));
            memcpy(M, u0, sizeof(double) * 2 * (size_t)(d * d));
            int have_rho = 0;
            for (int64_t s = op[5]; s < op[6]; s++) {
                const int64_t *st = J->steps + TRAJ_STEP * s;
                int K = (int)st[1];
                const double *kr = J->cplx + 2 * st[2];
                double u = J->uniform[s * J->R + r];
                if (st[0]) { /* a mixture of unitaries: its operators come scaled */
                    int i = FN(traj_pick)(J->cdfs + st[3], K, u);
                    if (FN(traj_is_identity)(d, kr + 2 * i * d * d)) continue;
                    FN(traj_matmul)(d, kr + 2 * i * d * d, M, tmp);
                    memcpy(M, tmp, sizeof(double) * 2 * (size_t)(d * d));
                    continue;
                }
                /* K_0 is drawn with probability w_0 / total >= lambda_min(K_0^H K_0) whatever
                 * the state: below that bound the draw needs no pass over it (and the row is
                 * renormalised at the end; the draws only use ratios) */
                if (u < J->cdfs[st[3]] * (1 - 1e-9)) {
                    FN(traj_matmul)(d, kr, M, tmp);
                    memcpy(M, tmp, sizeof(double) * 2 * (size_t)(d * d));
                    continue;
                }
                if (!have_rho) { /* the true state: every deferred operator applied first */
                    FN(traj_flush)(row, n, pend, has);
                    if (op[7])
                        FN(traj_pops)(row, n, k, pos, rho);
                    else
                        FN(traj_reduce)(row, n, k, pos, rho);
                    have_rho = 1;
                }
                double acc = 0;
                for (int i = 0; i < K && i < 4; i++) {
                    FN(traj_matmul)(d, kr + 2 * i * d * d, M, br[i]);
                    w[i] = FN(traj_weight)(d, br[i], rho);
                    cdf[i] = acc += w[i];
                }
                int i = FN(traj_pick)(cdf, K, u);
                double scale = 1.0 / sqrt(w[i] > 1e-300 ? w[i] : 1e-300);
                for (int e = 0; e < 2 * d * d; e++) M[e] = br[i][e] * scale;
            }
            if (k == 1) { /* deferred: fused with what follows on the wire */
                if (has[pos[0]]) {
                    FN(traj_matmul)(2, M, pend[pos[0]], tmp);
                    memcpy(pend[pos[0]], tmp, sizeof(double) * 8);
                } else {
                    memcpy(pend[pos[0]], M, sizeof(double) * 8);
                    has[pos[0]] = 1;
                }
                continue;
            }
            if (has[pos[0]] || has[pos[1]]) { /* M (P0 (x) P1): the wires' deferred operators */
                static const double eye[8] = {1, 0, 0, 0, 0, 0, 1, 0};
                const double *p0 = has[pos[0]] ? pend[pos[0]] : eye;
                const double *p1 = has[pos[1]] ? pend[pos[1]] : eye;
                double kp[32];
                FN(traj_kron2)(p0, p1, kp);
                FN(traj_matmul)(4, M, kp, tmp);
                memcpy(M, tmp, sizeof(double) * 32);
                has[pos[0]] = has[pos[1]] = 0;
            }
            FN(traj_apply)(row, n, k, pos, M);
        }
        FN(traj_flush)(row, n, pend, has);
        /* renormalise (draws below their bounds leave the norm unchanged) */
        double norm = 0;
        if (J->zs) {
            norm = FN(traj_single_z)(row, n, buf, J->zs + r * n);
        } else {
            for (int64_t e = 0; e < 2 * N; e++) norm += (double)row[e] * (double)row[e];
        }
        if (J->states) {
            T scale = (T)(1.0 / sqrt(norm > 1e-300 ? norm : 1e-300));
            for (int64_t e = 0; e < 2 * N; e++) row[e] *= scale;
        }
    }
    free(scratch);
    free(buf);
}

/* Every row (R x 2^n) from |0> through the operations (see the top of this file); rows r take
 * sample r / per_sample's matrices. The normalised rows go to states and/or every wire's <Z>
 * per row to zs (either may be NULL, not both). Returns 1 on bad arguments. */
int FN(hqml_traj_run)(T *states, double *zs, int64_t R, int n, int64_t per_sample, int64_t nops,
                      const int64_t *ops, const int64_t *steps, const double *cplx,
                      const double *cdfs, const double *uniform, int nthreads) {
    if (n < 1 || n > 40 || R < 0 || per_sample < 1 || (!states && !zs)) return 1;
    for (int64_t o = 0; o < nops; o++) {
        const int64_t *op = ops + TRAJ_OP * o;
        if (op[0] < 1 || op[0] > 2) return 1;
        for (int i = 0; i < op[0]; i++)
            if (op[1 + i] < 0 || op[1 + i] >= n) return 1;
        if (op[0] == 2 && op[1] == op[2]) return 1;
        for (int64_t s = op[5]; s < op[6]; s++) { /* up to 4 Kraus operators (16 if a mixture) */
            int64_t K = steps[TRAJ_STEP * s + 1];
            if (K < 1 || K > (steps[TRAJ_STEP * s] ? 16 : 4)) return 1;
        }
    }
    FN(traj_t) J = {states, zs, R, per_sample, nops, n, ops, steps, cplx, cdfs, uniform};
    parallel_for(FN(traj_rows), &J, R, R > 1 ? nthreads : 1);
    return 0;
}

#undef NCT
