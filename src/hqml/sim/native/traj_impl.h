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
 * read-only pass, taken only when such a channel is there) and M becomes K_i M normalised.
 * Then M is applied: one pass. The uniform draws come from the caller (the same draws the
 * torch path takes), so both paths give the same rows. */

#define NCT (VBYTES / (2 * (int)sizeof(T))) /* complex numbers per vector */

typedef struct {
    T *states;
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
 * every lane of a group sees the other in-vector values at its partner lanes l ^ f. Specialised
 * by (na, ni) through always_inline so the small loops unroll. */
#define TRAJ_CHUNK 256 /* groups per float partial sum before it is added in double */

static inline __attribute__((always_inline)) void FN(traj_reduce_vec)(
    const T *row, int n, int k, const int *pos, int na, int ni, double *rho) {
    const int lognc = __builtin_ctz(NCT), d = 1 << k, da = 1 << na, nf = 1 << ni;
    int apos[2] = {0, 0}, asort[2] = {0, 0}, fm[4] = {0, 0, 0, 0}, j = 0, im[2] = {0, 0}, q = 0;
    for (int i = 0; i < k; i++) {
        if (pos[i] >= lognc)
            apos[j++] = pos[i];
        else
            im[q++] = 1 << pos[i];
    }
    for (int i = 0; i < na; i++) asort[i] = apos[i];
    if (na == 2 && asort[0] > asort[1]) asort[0] = apos[1], asort[1] = apos[0];
    int64_t aoff[4];
    for (int a = 0; a < da; a++) {
        aoff[a] = 0;
        for (int i = 0; i < na; i++)
            if (a >> i & 1) aoff[a] |= (int64_t)1 << apos[i];
    }
    for (int f = 0; f < nf; f++)
        for (int i = 0; i < ni; i++)
            if (f >> i & 1) fm[f] |= im[i];
    memset(rho, 0, sizeof(double) * 2 * (size_t)(d * d));
    int64_t groups = ((int64_t)1 << n) >> (lognc + na);
    for (int64_t g0 = 0; g0 < groups; g0 += TRAJ_CHUNK) {
        int64_t g1 = g0 + TRAJ_CHUNK < groups ? g0 + TRAJ_CHUNK : groups;
        V P[4][4][4], Q[4][4][4];
        for (int a = 0; a < da; a++)
            for (int b = 0; b < da; b++)
                for (int f = 0; f < nf; f++) P[a][b][f] = (V){0}, Q[a][b][f] = (V){0};
        for (int64_t g = g0; g < g1; g++) {
            int64_t base = FN(traj_base)(g, lognc, na, asort);
            V x[4];
            for (int a = 0; a < da; a++) x[a] = LOAD(row + 2 * (base + aoff[a]));
            for (int b = 0; b < da; b++)
                for (int f = 0; f < nf; f++) {
                    V y = FN(traj_perm)(x[b], fm[f]), ys = FN(swapri)(y);
                    for (int a = 0; a < da; a++) {
                        P[a][b][f] += x[a] * y;
                        Q[a][b][f] += x[a] * ys;
                    }
                }
        }
        for (int a = 0; a < da; a++)
            for (int b = 0; b < da; b++)
                for (int f = 0; f < nf; f++)
                    for (int l = 0; l < NCT; l++) {
                        int r = FN(traj_cidx)(k, pos, lognc, a, l);
                        int c = FN(traj_cidx)(k, pos, lognc, b, l ^ fm[f]);
                        rho[2 * (r * d + c)] += (double)P[a][b][f][2 * l] + (double)P[a][b][f][2 * l + 1];
                        rho[2 * (r * d + c) + 1] +=
                            (double)Q[a][b][f][2 * l + 1] - (double)Q[a][b][f][2 * l];
                    }
    }
}

static inline __attribute__((always_inline)) void FN(traj_apply_vec)(
    T *row, int n, int k, const int *pos, int na, int ni, const double *m) {
    const int lognc = __builtin_ctz(NCT), d = 1 << k, da = 1 << na, nf = 1 << ni;
    int apos[2] = {0, 0}, asort[2] = {0, 0}, fm[4] = {0, 0, 0, 0}, j = 0, im[2] = {0, 0}, q = 0;
    for (int i = 0; i < k; i++) {
        if (pos[i] >= lognc)
            apos[j++] = pos[i];
        else
            im[q++] = 1 << pos[i];
    }
    for (int i = 0; i < na; i++) asort[i] = apos[i];
    if (na == 2 && asort[0] > asort[1]) asort[0] = apos[1], asort[1] = apos[0];
    int64_t aoff[4];
    for (int a = 0; a < da; a++) {
        aoff[a] = 0;
        for (int i = 0; i < na; i++)
            if (a >> i & 1) aoff[a] |= (int64_t)1 << apos[i];
    }
    for (int f = 0; f < nf; f++)
        for (int i = 0; i < ni; i++)
            if (f >> i & 1) fm[f] |= im[i];
    /* per-lane coefficients: out[a] lane l = sum_{b,f} M[r][c] x[b][l ^ f] */
    V CR[4][4][4], CS[4][4][4];
    for (int a = 0; a < da; a++)
        for (int b = 0; b < da; b++)
            for (int f = 0; f < nf; f++)
                for (int l = 0; l < NCT; l++) {
                    int r = FN(traj_cidx)(k, pos, lognc, a, l);
                    int c = FN(traj_cidx)(k, pos, lognc, b, l ^ fm[f]);
                    T er = (T)m[2 * (r * d + c)], ei = (T)m[2 * (r * d + c) + 1];
                    CR[a][b][f][2 * l] = CR[a][b][f][2 * l + 1] = er;
                    CS[a][b][f][2 * l] = -ei;
                    CS[a][b][f][2 * l + 1] = ei;
                }
    int64_t groups = ((int64_t)1 << n) >> (lognc + na);
    for (int64_t g = 0; g < groups; g++) {
        int64_t base = FN(traj_base)(g, lognc, na, asort);
        V x[4], y[4][4], ys[4][4];
        for (int b = 0; b < da; b++) {
            x[b] = LOAD(row + 2 * (base + aoff[b]));
            for (int f = 0; f < nf; f++) {
                y[b][f] = FN(traj_perm)(x[b], fm[f]);
                ys[b][f] = FN(swapri)(y[b][f]);
            }
        }
        for (int a = 0; a < da; a++) {
            V o = (V){0};
            for (int b = 0; b < da; b++)
                for (int f = 0; f < nf; f++) o += CR[a][b][f] * y[b][f] + CS[a][b][f] * ys[b][f];
            STORE(row + 2 * (base + aoff[a]), o);
        }
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
    const int lognc = __builtin_ctz(NCT);
    int ni = 0;
    for (int i = 0; i < k; i++) ni += pos[i] < lognc;
    int na = k - ni;
    if (n < lognc) {
        FN(traj_apply_scalar)(row, n, k, pos, m);
    } else if (k == 1) {
        if (na) FN(traj_apply_vec)(row, n, 1, pos, 1, 0, m);
        else FN(traj_apply_vec)(row, n, 1, pos, 0, 1, m);
    } else if (na == 2) {
        FN(traj_apply_vec)(row, n, 2, pos, 2, 0, m);
    } else if (na == 1) {
        FN(traj_apply_vec)(row, n, 2, pos, 1, 1, m);
    } else {
        FN(traj_apply_vec)(row, n, 2, pos, 0, 2, m);
    }
}

/* c = a b for d x d complex (double) matrices */
static void FN(traj_matmul)(int d, const double *a, const double *b, double *c) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double re = 0, im = 0;
            for (int l = 0; l < d; l++) {
                double ar = a[2 * (i * d + l)], ai = a[2 * (i * d + l) + 1];
                double br = b[2 * (l * d + j)], bi = b[2 * (l * d + j) + 1];
                re += ar * br - ai * bi;
                im += ar * bi + ai * br;
            }
            c[2 * (i * d + j)] = re;
            c[2 * (i * d + j) + 1] = im;
        }
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

static void FN(traj_rows)(void *ctx, int64_t lo, int64_t hi, int tid) {
    const FN(traj_t) *J = ctx;
    (void)tid;
    int64_t N = (int64_t)1 << J->n;
    for (int64_t r = lo; r < hi; r++) {
        T *row = J->states + 2 * r * N;
        memset(row, 0, sizeof(T) * 2 * (size_t)N);
        row[0] = 1;
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
                    FN(traj_matmul)(d, kr + 2 * i * d * d, M, tmp);
                    memcpy(M, tmp, sizeof(double) * 2 * (size_t)(d * d));
                    continue;
                }
                if (!have_rho) FN(traj_reduce)(row, J->n, k, pos, rho), have_rho = 1;
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
            FN(traj_apply)(row, J->n, k, pos, M);
        }
    }
}

/* Every row of states (R x 2^n) from |0> through the operations (see the top of this file);
 * rows r take sample r / per_sample's matrices. Returns 1 on bad arguments. */
int FN(hqml_traj_run)(T *states, int64_t R, int n, int64_t per_sample, int64_t nops,
                      const int64_t *ops, const int64_t *steps, const double *cplx,
                      const double *cdfs, const double *uniform, int nthreads) {
    if (n < 1 || n > 40 || R < 0 || per_sample < 1) return 1;
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
    FN(traj_t) J = {states, R, per_sample, nops, n, ops, steps, cplx, cdfs, uniform};
    parallel_for(FN(traj_rows), &J, R, R > 1 ? nthreads : 1);
    return 0;
}

#undef NCT
