/*
 * The kernels of one instruction set. This file is compiled three times (see build-native.sh):
 *   RK_ISA_AVX512  -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma   -> rk_ops_avx512
 *   RK_ISA_AVX2    -mavx2 -mfma                                   -> rk_ops_avx2
 *   (neither)      the x86-64 baseline (SSE2), no FMA             -> rk_ops_generic
 * and rk_jni.c picks one at load time with __builtin_cpu_supports. The code is written once with GCC's
 * generic vector types; only the lane count, the register block and the multiply-add differ (and the
 * activations: compensated float with FMA, in double without).
 *
 * Compiled with -ffp-contract=off: every multiply-add that is fused is fused on purpose (the products'
 * FMA intrinsics); the gate equations keep the rounding order of the scalar reference.
 */
#include <math.h>
#include <string.h>
#include "rk.h"

#if defined(RK_ISA_AVX512)
#include <immintrin.h>
#define VL 16
#define RB 6 /* 6 rows x 4 vectors: 24 accumulators of the 32 zmm, 4 for W, 1 for the broadcast */
#define VB 4
/* k steps unrolled in the products: the loop's own instructions (two adds, a compare and a branch a step)
   share the two ports that run the 512-bit multiply-adds, so even at 24 multiply-adds a step they cost
   FMA slots; unrolled 2 or 8 measured no better than 4 (rnn-bench/RESULTS.md, "Native: the k loop
   unrolled on AVX-512") */
#define K_UNROLL _Pragma("GCC unroll 4")
#define OPS rk_ops_avx512
#define ISA_NAME "avx512"
#elif defined(RK_ISA_AVX2)
#include <immintrin.h>
#define VL 8
#define RB 6 /* 6 x 2: 12 accumulators of the 16 ymm */
#define VB 2
/* k steps unrolled in the products: a step is only 12 multiply-adds here, and the loop's own instructions
   (two adds, a compare and a branch a step) hold the kernel well below the FMA peak (measured:
   rnn-bench/RESULTS.md, "The table at `2a7d8ef`") */
#define K_UNROLL _Pragma("GCC unroll 4")
#define OPS rk_ops_avx2
#define ISA_NAME "avx2"
#else
#include <emmintrin.h>
#define VL 4
#define RB 3
#define VB 4
#define K_UNROLL
#define OPS rk_ops_generic
#define ISA_NAME "generic"
#endif
/* k-chunk of the products: a sub-panel's chunk (SPW x KC floats, 16 to 64 KB) stays in L1/L2 while
   every row group of a call passes over it */
#define KC 256

/* outputs per register block (a "sub-panel" of a packed panel), vectors per panel */
#define SPW (VL * VB)
#define PV (RK_PANEL / VL)

_Static_assert(RK_PANEL % SPW == 0, "register blocks must tile a panel");

typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4), may_alias));
#define LD(p) (*(const vfu *)(p))
#define ST(p, v) (*(vfu *)(p) = (v))

/* BCAST: a true broadcast (0 + s would turn -0 into +0, and cost an add) */
#if defined(RK_ISA_AVX512)
#define FMADD(a, b, c) ((vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#define BCAST(s) ((vf)_mm512_set1_ps(s))
#elif defined(RK_ISA_AVX2)
#define FMADD(a, b, c) ((vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#define BCAST(s) ((vf)_mm256_set1_ps(s))
#else
#define FMADD(a, b, c) ((a) * (b) + (c))
#define BCAST(s) ((vf)_mm_set1_ps(s))
#endif

/* ---- products --------------------------------------------------------------------------------------- */

/*
 * nr rows x SPW outputs over K terms (a k-chunk), then K2 terms of a second product (a2 times the panel
 * at wp2; K2 = 0: none): each output is one lane that starts at its init value (or its partial sum from
 * the chunks before) and adds kk in order, one multiply-add per term.
 * No reduction across lanes, so a row's result never depends on which rows share its block, nor on how
 * many rows a call has.
 */
static inline __attribute__((always_inline)) void micro(const float *wp, int K, const float *wp2, int K2,
        const int nr, const float *const *a, const float *const *a2, const float *const *ip, float *const *cp)
{
    vf acc[RB][VB];
#pragma GCC unroll 16
    for (int r = 0; r < nr; r++) {
#pragma GCC unroll 16
        for (int v = 0; v < VB; v++) {
            acc[r][v] = ip ? (vf)LD(ip[r] + v * VL) : (vf){0};
        }
    }
    K_UNROLL
    for (int kk = 0; kk < K; kk++) {
        vf w[VB];
#pragma GCC unroll 16
        for (int v = 0; v < VB; v++) {
            w[v] = LD(wp + (size_t)kk * RK_PANEL + v * VL);
        }
#pragma GCC unroll 16
        for (int r = 0; r < nr; r++) {
            vf x = BCAST(a[r][kk]);
#pragma GCC unroll 16
            for (int v = 0; v < VB; v++) {
                acc[r][v] = FMADD(w[v], x, acc[r][v]);
            }
        }
    }
    K_UNROLL
    for (int kk = 0; kk < K2; kk++) { /* the second product's terms go on in the same chains */
        vf w[VB];
#pragma GCC unroll 16
        for (int v = 0; v < VB; v++) {
            w[v] = LD(wp2 + (size_t)kk * RK_PANEL + v * VL);
        }
#pragma GCC unroll 16
        for (int r = 0; r < nr; r++) {
            vf x = BCAST(a2[r][kk]);
#pragma GCC unroll 16
            for (int v = 0; v < VB; v++) {
                acc[r][v] = FMADD(w[v], x, acc[r][v]);
            }
        }
    }
#pragma GCC unroll 16
    for (int r = 0; r < nr; r++) {
#pragma GCC unroll 16
        for (int v = 0; v < VB; v++) {
            ST(cp[r] + v * VL, acc[r][v]);
        }
    }
}

static void micro_n(const float *wp, int K, const float *wp2, int K2, int nr, const float *const *a,
        const float *const *a2, const float *const *ip, float *const *cp)
{
    switch (nr) {
#if RB >= 6
    case 6: micro(wp, K, wp2, K2, 6, a, a2, ip, cp); break;
    case 5: micro(wp, K, wp2, K2, 5, a, a2, ip, cp); break;
    case 4: micro(wp, K, wp2, K2, 4, a, a2, ip, cp); break;
#endif
    case 3: micro(wp, K, wp2, K2, 3, a, a2, ip, cp); break;
    case 2: micro(wp, K, wp2, K2, 2, a, a2, ip, cp); break;
    default: micro(wp, K, wp2, K2, 1, a, a2, ip, cp); break;
    }
}

/*
 * One row (batch 1): W is read once per call, so the product is bound by the rate W comes in at. A panel
 * at a time walks W in address order, with PV independent chains to keep the loads in flight (two panels
 * at once measured slower at batch 1).
 */
static void mv(const float *wp, int K, const float *a, const float *ip, float *cp)
{
    vf acc[PV];
#pragma GCC unroll 16
    for (int v = 0; v < PV; v++) {
        acc[v] = ip ? (vf)LD(ip + v * VL) : (vf){0};
    }
    for (int kk = 0; kk < K; kk++, wp += RK_PANEL) {
        vf x = BCAST(a[kk]);
#pragma GCC unroll 16
        for (int v = 0; v < PV; v++) {
            acc[v] = FMADD(LD(wp + v * VL), x, acc[v]);
        }
    }
#pragma GCC unroll 16
    for (int v = 0; v < PV; v++) {
        ST(cp + v * VL, acc[v]);
    }
}

static void gemv(const rk_pk *w, const float *a, const float *init, float *c)
{
    const int K = w->k, N = w->n;
    for (int p = 0; p < w->panels; p++) {
        const int o = p * RK_PANEL;
        const float *wp = w->data + (size_t)p * RK_PANEL * K;
        if (o + RK_PANEL <= N) {
            mv(wp, K, a, init ? init + o : NULL, c + o);
        } else { /* the last, partial panel: through a local row (same arithmetic per lane) */
            const int n = N - o;
            float ti[RK_PANEL], tc[RK_PANEL];
            if (init) {
                memcpy(ti, init + o, sizeof(float) * n);
                memset(ti + n, 0, sizeof(float) * (RK_PANEL - n));
            }
            mv(wp, K, a, init ? ti : NULL, tc);
            memcpy(c + o, tc, sizeof(float) * n);
        }
    }
}

/*
 * The init and result lines of the block after (o, group g), fetched while this block computes. Where init
 * is a row's own earlier sums (the recurrence: gx, written by the input projection megabytes ago), every
 * block otherwise starts with 24 loads from memory, and nothing prefetches them: rows are 4 KB apart.
 * (Measured: rnn-bench/RESULTS.md, "Native S3: where the time goes, and what was tried".)
 */
static inline void prefetch_next(int nrows, int groups, int g, int o, int N, const float *const *src,
        float *const *c)
{
    const int last = g + 1 == groups, next = last ? o + SPW : o;
    if (next + SPW > N) {
        return; /* the last, partial block goes through local rows */
    }
    const int q0 = last ? 0 : nrows * (g + 1) / groups, q1 = last ? nrows / groups : nrows * (g + 2) / groups;
    for (int r = q0; r < q1; r++) {
        for (int l = 0; l < SPW; l += 64 / (int)sizeof(float)) {
            __builtin_prefetch(src[r] + next + l, 0, 3);
            if (c[r] != src[r]) {
                __builtin_prefetch(c[r] + next + l, 1, 3);
            }
        }
    }
}

/*
 * Several rows: in k-chunks of KC, and within a chunk every row group passes over a sub-panel while it is
 * in cache, so W comes from memory once per call, not once per row group. Between chunks a row's partial
 * sums wait in c (storing a float is exact: the chain goes on unchanged).
 */
static void gemm_rows(const rk_pk *w, int nrows, const float *const *a, const float *const *init, float *const *c)
{
    if (nrows == 1) {
        gemv(w, a[0], init ? init[0] : NULL, c[0]);
        return;
    }
    const int K = w->k, N = w->n, groups = (nrows + RB - 1) / RB;
    for (int k0 = 0; k0 < K; k0 += KC) {
        const int kc = K - k0 < KC ? K - k0 : KC;
        const float *const *src = k0 == 0 ? init : (const float *const *)c;
        for (int o = 0; o < N; o += SPW) {
            const int p = o / RK_PANEL;
            const float *wp = w->data + (size_t)p * RK_PANEL * K + (size_t)k0 * RK_PANEL + (o - p * RK_PANEL);
            for (int g = 0; g < groups; g++) { /* rows split evenly: 7 rows are 4 + 3, not 6 + 1 */
                const int r0 = nrows * g / groups, nr = nrows * (g + 1) / groups - r0;
                if (k0 == 0 && src) {
                    prefetch_next(nrows, groups, g, o, N, src, c);
                }
                const float *ar[RB], *ip[RB];
                float *cp[RB];
                for (int r = 0; r < nr; r++) {
                    ar[r] = a[r0 + r] + k0;
                }
                if (o + SPW <= N) {
                    for (int r = 0; r < nr; r++) {
                        ip[r] = src ? src[r0 + r] + o : NULL;
                        cp[r] = c[r0 + r] + o;
                    }
                    micro_n(wp, kc, NULL, 0, nr, ar, NULL, src ? ip : NULL, cp);
                } else { /* the last, partial block: through local rows (same arithmetic per lane) */
                    const int nv = N - o;
                    float ti[RB][SPW], tc[RB][SPW];
                    for (int r = 0; r < nr; r++) {
                        if (src) {
                            memcpy(ti[r], src[r0 + r] + o, sizeof(float) * nv);
                            memset(ti[r] + nv, 0, sizeof(float) * (SPW - nv));
                        }
                        ip[r] = ti[r];
                        cp[r] = tc[r];
                    }
                    micro_n(wp, kc, NULL, 0, nr, ar, NULL, src ? ip : NULL, cp);
                    for (int r = 0; r < nr; r++) {
                        memcpy(c[r0 + r] + o, tc[r], sizeof(float) * nv);
                    }
                }
            }
        }
    }
}

/*
 * c = init + a W^T + a2 W2^T over W2's outputs (o < w2->n <= w->n), init + a W^T past them: the bits of
 * gemm_rows(w) then gemm_rows(w2) in place, in one pass whose chains stay in registers from the first
 * product's terms to the second's, not stored and loaded again between two passes (measured:
 * rnn-bench/RESULTS.md, "Native S3: where the time goes, and what was tried"). Both
 * products must fit one k-chunk; otherwise, and on blocks that straddle w2->n, the two passes run.
 */
static void gemm_rows2(const rk_pk *w, const float *const *a, const rk_pk *w2, const float *const *a2, int nrows,
        const float *const *init, float *const *c)
{
    const int N = w->n, N2 = w2->n;
    if (nrows == 1 || w->k > KC || w2->k > KC || N2 > N) {
        gemm_rows(w, nrows, a, init, c);
        gemm_rows(w2, nrows, a2, (const float *const *)c, c);
        return;
    }
    const int groups = (nrows + RB - 1) / RB;
    for (int o = 0; o < N; o += SPW) {
        const int p = o / RK_PANEL, both = o + SPW <= N2, one = o >= N2 && o + SPW <= N;
        const float *wp = w->data + (size_t)p * RK_PANEL * w->k + (o - p * RK_PANEL);
        const float *wp2 = both ? w2->data + (size_t)p * RK_PANEL * w2->k + (o - p * RK_PANEL) : NULL;
        for (int g = 0; g < groups; g++) {
            const int r0 = nrows * g / groups, nr = nrows * (g + 1) / groups - r0;
            const float *ar[RB], *ar2[RB], *ip[RB];
            float *cp[RB];
            for (int r = 0; r < nr; r++) {
                ar[r] = a[r0 + r];
                ar2[r] = a2[r0 + r];
            }
            if (both || one) {
                if (init) {
                    prefetch_next(nrows, groups, g, o, N, init, c);
                }
                for (int r = 0; r < nr; r++) {
                    ip[r] = init ? init[r0 + r] + o : NULL;
                    cp[r] = c[r0 + r] + o;
                }
                micro_n(wp, w->k, wp2, both ? w2->k : 0, nr, ar, ar2, init ? ip : NULL, cp);
            } else { /* a block past N or across N2: both passes, through local rows, lanes past each n dropped */
                const int nv = N - o < SPW ? N - o : SPW, nv2 = N2 - o < 0 ? 0 : N2 - o < nv ? N2 - o : nv;
                float ti[RB][SPW], t1[RB][SPW], t2[RB][SPW];
                const float *ip1[RB];
                float *cp1[RB], *cp2[RB];
                for (int r = 0; r < nr; r++) {
                    if (init) {
                        memcpy(ti[r], init[r0 + r] + o, sizeof(float) * nv);
                        memset(ti[r] + nv, 0, sizeof(float) * (SPW - nv));
                    }
                    ip[r] = ti[r];
                    cp1[r] = t1[r];
                    ip1[r] = t1[r];
                    cp2[r] = t2[r];
                }
                micro_n(wp, w->k, NULL, 0, nr, ar, NULL, init ? ip : NULL, cp1);
                if (nv2 > 0) {
                    const int p2 = o / RK_PANEL;
                    const float *w2p = w2->data + (size_t)p2 * RK_PANEL * w2->k + (o - p2 * RK_PANEL);
                    micro_n(w2p, w2->k, NULL, 0, nr, ar2, NULL, ip1, cp2);
                }
                for (int r = 0; r < nr; r++) {
                    memcpy(c[r0 + r] + o, t2[r], sizeof(float) * nv2);
                    memcpy(c[r0 + r] + o + nv2, t1[r] + nv2, sizeof(float) * (nv - nv2));
                }
            }
        }
    }
}

/* ---- activations ------------------------------------------------------------------------------------ */

#if defined(RK_ISA_AVX512) || defined(RK_ISA_AVX2)
/*
 * Evaluated in float, compensated so that the one rounding that matters is the last: within one ulp of
 * the exact value everywhere, and as often too high as too low (no bias), which trained models need.
 *
 * e^y, y <= 0: k = round(y log2 e); r = y - k ln2 with ln2 = L2H + L2L, L2H of 16 bits, so k*L2H is exact
 * for |k| <= 150 and r1 = y - k*L2H is exact (Sterbenz); e^r = 1 + r1 + rest with rest = c + t^2 P(t),
 * c = -k*L2L, t = r1 + c, P(t) ~ (e^t - 1 - t)/t^2 (degree 6, fitted near-minimax: relative error 3e-9
 * with these float coefficients on |t| <= 0.347; degree 5's 1.1e-8 left a measurable bias). rest is at
 * most 0.07, so its roundings cost a few 1e-9 against the 1.
 * Sums are kept as (hi, lo) pairs (Fast2Sum), and the quotient is corrected once with its remainder
 * (y0 = n/d to ~2^-23; rho = n - y0 d, exact by FMA; y = y0 + rho/d): about 0.5 ulp plus 1e-9.
 * NativeActivationsTest measures it: never more than 1 ulp off; 0.7 % (sigmoid) and 0.08 % (tanh) of gate
 * values one ulp off, either way. Faster than evaluating in double, which holds half the lanes per
 * register and divides in double (measured: rnn-bench/RESULTS.md, "Native S3: where the time goes, and
 * what was tried").
 */
typedef int vi __attribute__((vector_size(VL * 4)));
#if defined(RK_ISA_AVX512)
#define AW 6 /* vectors evaluated side by side (see below): 4 leave more latency exposed, 8 spill */
#define MINF(a, b) ((vf)_mm512_min_ps((__m512)(a), (__m512)(b)))
#define MAXF(a, b) ((vf)_mm512_max_ps((__m512)(a), (__m512)(b)))
#define RCP(a) ((vf)_mm512_rcp14_ps((__m512)(a)))
#define KEEP(x) __asm__("" : "+v"(x))
#else
#define AW 4 /* 16 registers: 2 leave more latency exposed */
#define MINF(a, b) ((vf)_mm256_min_ps((__m256)(a), (__m256)(b)))
#define MAXF(a, b) ((vf)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define RCP(a) ((vf)_mm256_rcp_ps((__m256)(a)))
#define KEEP(x) __asm__("" : "+x"(x))
#endif
#define FC(s) BCAST(s)
#define IC(s) ((vi){0} + (s))
/*
 * One evaluation is a chain of about 90 cycles of latency: AW vectors go through it step by step side by
 * side, so the core has AW independent chains in its window rather than the long tail of one. KEEP pins a
 * value to a register at that point: without it GCC rebuilds each chain as one expression and emits the
 * chains one after the other.
 */
#define EACH(j) _Pragma("GCC unroll 8") for (int j = 0; j < na; j++)
#define SET(v, e) EACH(j) { v[j] = (e); KEEP(v[j]); }

static const float MAGIC = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer, kept in the low bits */
static const float LOG2E_F = 1.44269504f, L2H = 0.693145751953125f, L2L = 1.42860682e-6f;
static const float P0 = 0.5f, P1 = 0.166666672f, P2 = 0.0416666679f, P3 = 0.00833329838f, P4 = 0.00138889241f,
        P5 = 0.000198993657f, P6 = 2.48209399e-05f;

/*
 * e^y = 2^k (1 + u + ue) for -150 ln2 <= y <= 0 (NaN goes through): k an integer-valued float, |u| < 0.42,
 * ue the rounding error of u = r1 + rest (|rest| <= |r1| but where both are under 3e-4, then negligible)
 */
static inline __attribute__((always_inline)) void exp_split(const vf *y, vf *k, vf *u, vf *ue, const int na)
{
    vf r1[AW], c[AW], t[AW], p[AW], t2[AW], rest[AW];
    SET(k, FMADD(y[j], FC(LOG2E_F), FC(MAGIC)) - FC(MAGIC));
    SET(r1, FMADD(k[j], FC(-L2H), y[j]));
    SET(c, k[j] * FC(-L2L));
    SET(t, r1[j] + c[j]);
    SET(t2, t[j] * t[j]);
    SET(p, FMADD(FC(P6), t[j], FC(P5)));
    SET(p, FMADD(p[j], t[j], FC(P4)));
    SET(p, FMADD(p[j], t[j], FC(P3)));
    SET(p, FMADD(p[j], t[j], FC(P2)));
    SET(p, FMADD(p[j], t[j], FC(P1)));
    SET(p, FMADD(p[j], t[j], FC(P0)));
    SET(rest, FMADD(t2[j], p[j], c[j]));
    SET(u, r1[j] + rest[j]);
    SET(ue, (r1[j] - u[j]) + rest[j]);
}

/* v 2^k for an integer-valued float k >= -150: rounded once, where the result is subnormal */
#if defined(RK_ISA_AVX512)
#define SCALE(v, k) ((vf)_mm512_scalef_ps((__m512)(v), (__m512)(k)))
#else
static inline __attribute__((always_inline)) vf pow2(vf k) /* 2^k for k in [-126, 127] */
{
    return (vf)(((vi)(k + FC(MAGIC)) - IC(0x4B400000 - 127)) << 23);
}

static inline __attribute__((always_inline)) vf SCALE(vf v, vf k)
{
    vf k1 = MAXF(k, FC(-100.0f));
    return (v * pow2(k1)) * pow2(k - k1);
}
#endif

/*
 * Where k >= -100, SCALE(v, k) is v * 2^k with 2^k a normal float: one product, rounded once, the bits of
 * SCALE. AVX2 builds 2^k from integer ops (two of them per SCALE), so the activations share one 2^k among
 * their products when every lane's k allows it (tanh's always does: k >= -29; sigmoid's unless |x| > 69).
 */
#if defined(RK_ISA_AVX512)
#define POW2_NORMAL(k) SCALE(FC(1.0f), (k))
#else
#define POW2_NORMAL(k) pow2(k)
#endif

/* y = n/d for n = nh + nl, d = dh + dl, the lo parts small against the hi parts */
static inline __attribute__((always_inline)) void div_pair(const vf *nh, const vf *nl, const vf *dh, const vf *dl,
        vf *y, const int na)
{
    vf q[AW], e[AW], y0[AW], rho[AW];
    SET(q, RCP(dh[j]));
    SET(e, FMADD(-dh[j], q[j], FC(1.0f)));
    SET(q, FMADD(e[j], q[j], q[j])); /* one Newton step: 2^-23 (AVX2) or 2^-28 (AVX-512) */
    SET(y0, nh[j] * q[j]);
    SET(rho, FMADD(-y0[j], dh[j], nh[j]));
    SET(rho, rho[j] + nl[j]);
    SET(rho, FMADD(-y0[j], dl[j], rho[j]));
    SET(y, FMADD(rho[j], q[j], y0[j]));
}

/* sigmoid(x) = n/(1 + e) with e = e^-|x|, n = 1 (x >= 0) or e (x < 0); |x| capped at 104 (e^-104 is under
   half the least subnormal) */
static inline __attribute__((always_inline)) void sigmoid_w(const float *src, float *dst, const int na)
{
    vf x[AW], y[AW], k[AW], u[AW], ue[AW], h[AW], l[AW], eh[AW], el[AW], dh[AW], dl[AW], nh[AW], nl[AW];
    vi neg[AW];
    EACH(j) x[j] = LD(src + j * VL);
    SET(y, MAXF(FC(-104.0f), (vf)((vi)x[j] | IC((int)0x80000000)))); /* -|x|; NaN kept (x86 max returns its 2nd on NaN) */
    exp_split(y, k, u, ue, na);
    SET(h, FC(1.0f) + u[j]);
    SET(l, (FC(1.0f) - h[j]) + u[j]);
    SET(l, l[j] + ue[j]);
#if defined(RK_ISA_AVX512)
    SET(eh, SCALE(h[j], k[j]));
    SET(el, SCALE(l[j], k[j]));
#else
    vi small = IC(0);
    EACH(j) small |= (vi)(k[j] < FC(-100.0f)); /* lanes whose e^-|x| needs SCALE's two steps (NaN: no) */
    if (__builtin_expect(_mm256_movemask_ps((__m256)small) != 0, 0)) {
        SET(eh, SCALE(h[j], k[j]));
        SET(el, SCALE(l[j], k[j]));
    } else {
        vf p2[AW];
        SET(p2, pow2(k[j]));
        SET(eh, h[j] * p2[j]);
        SET(el, l[j] * p2[j]);
    }
#endif
    SET(dh, FC(1.0f) + eh[j]);
    SET(dl, (FC(1.0f) - dh[j]) + eh[j]);
    SET(dl, dl[j] + el[j]);
    SET(neg, (vi)x[j] >> 31);
    SET(nh, (vf)(((vi)eh[j] & neg[j]) | ((vi)FC(1.0f) & ~neg[j])));
    SET(nl, (vf)((vi)el[j] & neg[j]));
    div_pair(nh, nl, dh, dl, y, na);
    EACH(j) ST(dst + j * VL, y[j]);
}

/*
 * tanh(|x|) = -m/(2 + m) with m = e^-2|x| - 1 = (2^k - 1) + 2^k (u + ue) as a pair (no cancellation near
 * 0): m/(2 + m) <= 0, so its magnitude with the sign of x put back. |x| capped at 10 (tanh rounds to 1
 * from 9.01 on).
 */
static inline __attribute__((always_inline)) void tanh_w(const float *src, float *dst, const int na)
{
    vf y[AW], k[AW], u[AW], ue[AW], s[AW], h0[AW], l0[AW], su[AW], mh[AW], ml[AW], dh[AW], dl[AW];
    vi sign[AW];
    EACH(j) sign[j] = (vi)LD(src + j * VL) & IC((int)0x80000000);
    SET(y, FC(-2.0f) * MINF(FC(10.0f), (vf)((vi)LD(src + j * VL) ^ sign[j])));
    exp_split(y, k, u, ue, na);
    SET(s, POW2_NORMAL(k[j])); /* k >= -29: 2^k is normal */
    SET(h0, FC(-1.0f) + s[j]);
    SET(l0, (FC(-1.0f) - h0[j]) + s[j]); /* exact: |-1| >= s */
#if defined(RK_ISA_AVX512)
    SET(su, SCALE(u[j], k[j]));
#else
    SET(su, u[j] * s[j]);
#endif
    SET(mh, h0[j] + su[j]); /* exact pair: h0 is 0, or at least 0.5 > |su| */
    SET(ml, (h0[j] - mh[j]) + su[j]);
    SET(ml, ml[j] + l0[j]);
    SET(ml, FMADD(s[j], ue[j], ml[j]));
    SET(dh, FC(2.0f) + mh[j]);
    SET(dl, (FC(2.0f) - dh[j]) + mh[j]);
    SET(dl, dl[j] + ml[j]);
    div_pair(mh, ml, dh, dl, y, na);
    EACH(j) ST(dst + j * VL, (vf)(((vi)y[j] & IC(0x7fffffff)) | sign[j]));
}

/* blocks of AW vectors, then single vectors (a short row, e.g. H = 128, is mostly tail), then the last
   floats through a local vector (zeros past n) */
#define ACT_N(name, f)                                                                                      \
    static void name(const float *src, float *dst, int n)                                                   \
    {                                                                                                       \
        int i = 0;                                                                                          \
        for (; i + VL * AW <= n; i += VL * AW) {                                                            \
            f(src + i, dst + i, AW);                                                                        \
        }                                                                                                   \
        for (; i + VL <= n; i += VL) {                                                                      \
            f(src + i, dst + i, 1);                                                                         \
        }                                                                                                   \
        if (i < n) {                                                                                        \
            float t[VL] = {0};                                                                              \
            memcpy(t, src + i, sizeof(float) * (n - i));                                                    \
            f(t, t, 1);                                                                                     \
            memcpy(dst + i, t, sizeof(float) * (n - i));                                                    \
        }                                                                                                   \
    }

ACT_N(sigmoid_n, sigmoid_w)
ACT_N(tanh_n, tanh_w)

/*
 * dst = e^(src - shift) for src <= shift (softmax: shift is the row's maximum), through exp_split: 2^k times
 * 1 + u + ue summed as a pair and rounded once, so within about half an ulp (a subnormal result rounded once
 * more by SCALE). The difference y = src - shift is taken exactly, as y + ylo (TwoSum): rounded, its error
 * (up to |y| half-ulps of 1) would be a relative error of e^y, large for the small terms of a row with a
 * wide range. e^(y + ylo) = e^y (1 + ylo) to far below an ulp, as |ylo| <= 2^-17. Capped below at -104,
 * where e^y rounds to 0; NaN goes through.
 */
static inline __attribute__((always_inline)) void exp_shifted_w(const float *src, float shift, float *dst,
        const int na)
{
    vf x[AW], y[AW], bv[AW], ylo[AW], k[AW], u[AW], ue[AW], h[AW], l[AW];
    EACH(j) x[j] = LD(src + j * VL);
    SET(y, x[j] - FC(shift));
    SET(bv, y[j] - x[j]);
    SET(ylo, (x[j] - (y[j] - bv[j])) + (FC(-shift) - bv[j]));
    SET(y, MAXF(FC(-104.0f), y[j]));
    exp_split(y, k, u, ue, na);
    SET(h, FC(1.0f) + u[j]);
    SET(l, (FC(1.0f) - h[j]) + u[j]); /* exact: |u| < 0.42 */
    SET(l, l[j] + FMADD(ylo[j], h[j], ue[j]));
    EACH(j) ST(dst + j * VL, SCALE(h[j] + l[j], k[j]));
}

#define EXP_CHUNK (VL * AW)
#define EXP_STEP VL
#define EXP_W exp_shifted_w

#else /* the x86-64 baseline has no FMA, so no exact remainders: evaluated in double instead */
/*
 * Evaluated in double and rounded once to float, as the vector backend does: exp(y) = 2^k exp(r) with
 * k = round(y log2 e), r = y - k ln2 (Cody-Waite, ln2 in two parts: k*LN2_HI is exact), and
 * exp(r) - 1 = r (1 + r (C2 + ... + C8 r^6)) with relative error about 1e-12 on |r| <= ln2/2: the correctly
 * rounded float except at rare near-ties (then one ulp off, either way: no bias).
 *
 * Lane by lane, so each build takes a full register of doubles at a time (DL floats widened, one rounding
 * back). AT_LEAST/AT_MOST return y when it is NaN (x86 max/min return the second operand on NaN). KEEP
 * pins a value to a register at that point: without it GCC rebuilds each chain of the lock-step code
 * below as one expression and emits the chains one after the other.
 */
#define DL 2
#define ACT_W 8 /* registers of doubles evaluated side by side */
typedef double vd __attribute__((vector_size(16)));
#define TO_D(p) ((vd)_mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64((const __m128i *)(const void *)(p)))))
#define TO_F(p, v) _mm_storel_epi64((__m128i *)(void *)(p), _mm_castps_si128(_mm_cvtpd_ps((__m128d)(v))))
#define AT_LEAST(y, lo) ((vd)_mm_max_pd((__m128d)BC(lo), (__m128d)(y)))
#define AT_MOST(y, hi) ((vd)_mm_min_pd((__m128d)BC(hi), (__m128d)(y)))
#define KEEP(x) __asm__("" : "+x"(x))
typedef long long vl __attribute__((vector_size(DL * 8)));

#define BC(s) ((vd){0} + (s))

static const double LOG2E = 1.4426950408889634, LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10,
        ROUND = 6755399441055744.0;
static const double C2 = 0.5000000000426876, C3 = 0.16666666784452708, C4 = 0.041666664404814334,
        C5 = 0.00833328180564373, C6 = 0.0013889197161142085, C7 = 0.00019908940244287157,
        C8 = 2.4708277504257744e-05;

/*
 * One evaluation is a chain of about 100 cycles of latency: na registers go through it step by step side
 * by side, so the core has na independent chains in its window rather than the long tail of one.
 */
#define EACH(v) _Pragma("GCC unroll 16") for (int v = 0; v < na; v++)

/* exp(y) - 1 = scale*pm1 + (scale - 1) and exp(y) = scale*pm1 + scale, for |y| <= 700 (or NaN) */
static inline __attribute__((always_inline)) void exp_parts(const vd *y, vd *scale, vd *pm1, const int na)
{
    vd kr[ACT_W], k[ACT_W], r[ACT_W], q[ACT_W];
    EACH(v) { kr[v] = y[v] * BC(LOG2E) + BC(ROUND); KEEP(kr[v]); }
    EACH(v) { k[v] = kr[v] - BC(ROUND); KEEP(k[v]); }
    EACH(v) { r[v] = y[v] - k[v] * BC(LN2_HI); KEEP(r[v]); }
    EACH(v) { r[v] = r[v] - k[v] * BC(LN2_LO); KEEP(r[v]); }
    EACH(v) { q[v] = BC(C8) * r[v] + BC(C7); KEEP(q[v]); }
    EACH(v) { q[v] = q[v] * r[v] + BC(C6); KEEP(q[v]); }
    EACH(v) { q[v] = q[v] * r[v] + BC(C5); KEEP(q[v]); }
    EACH(v) { q[v] = q[v] * r[v] + BC(C4); KEEP(q[v]); }
    EACH(v) { q[v] = q[v] * r[v] + BC(C3); KEEP(q[v]); }
    EACH(v) { q[v] = q[v] * r[v] + BC(C2); KEEP(q[v]); }
    EACH(v) { q[v] = q[v] * r[v] + BC(1.0); KEEP(q[v]); }
    EACH(v) scale[v] = (vd)(((vl)kr[v] + 1023) << 52);
    EACH(v) pm1[v] = q[v] * r[v];
}

/* na * DL floats */
static inline __attribute__((always_inline)) void sigmoid_v(const float *src, float *dst, const int na)
{
    vd y[ACT_W], sc[ACT_W], e[ACT_W];
    EACH(v) y[v] = AT_MOST(AT_LEAST(-TO_D(src + DL * v), -700.0), 700.0);
    exp_parts(y, sc, e, na);
    EACH(v) { e[v] = e[v] * sc[v] + sc[v]; KEEP(e[v]); } /* exp(-x) */
    EACH(v) { e[v] = BC(1.0) / (BC(1.0) + e[v]); KEEP(e[v]); }
    EACH(v) TO_F(dst + DL * v, e[v]);
}

static inline __attribute__((always_inline)) void tanh_v(const float *src, float *dst, const int na)
{
    vd y[ACT_W], sc[ACT_W], m[ACT_W];
    vl sign[ACT_W];
    EACH(v) {
        vd x = TO_D(src + DL * v);
        sign[v] = (vl)x & ((vl){0} + (long long)0x8000000000000000ULL);
        vd ax = (vd)((vl)x & ((vl){0} + 0x7fffffffffffffffLL));
        y[v] = BC(-2.0) * AT_MOST(ax, 10.0); /* tanh rounds to 1 in float from 9.01 on */
    }
    exp_parts(y, sc, m, na);
    EACH(v) { m[v] = m[v] * sc[v] + (sc[v] - BC(1.0)); KEEP(m[v]); } /* expm1(-2|x|): no cancellation near 0 */
    EACH(v) { m[v] = m[v] / (m[v] + BC(2.0)); KEEP(m[v]); }           /* -tanh(|x|), or -0 */
    EACH(v) TO_F(dst + DL * v, (vd)(((vl)m[v] & ((vl){0} + 0x7fffffffffffffffLL)) | sign[v]));
}

#define ACT_N(name, f)                                                                                      \
    static void name(const float *src, float *dst, int n)                                                   \
    {                                                                                                       \
        int i = 0;                                                                                          \
        for (; i + DL * ACT_W <= n; i += DL * ACT_W) {                                                      \
            f(src + i, dst + i, ACT_W);                                                                     \
        }                                                                                                   \
        for (; i + DL <= n; i += DL) {                                                                      \
            f(src + i, dst + i, 1);                                                                         \
        }                                                                                                   \
        if (i < n) { /* the last floats through a local row (zeros past n) */                               \
            float t[DL] = {0};                                                                              \
            memcpy(t, src + i, sizeof(float) * (n - i));                                                    \
            f(t, t, 1);                                                                                     \
            memcpy(dst + i, t, sizeof(float) * (n - i));                                                    \
        }                                                                                                   \
    }

ACT_N(sigmoid_n, sigmoid_v)
ACT_N(tanh_n, tanh_v)

/* dst = e^(src - shift) for src <= shift, the difference and e^ in double, rounded once; NaN goes through */
static inline __attribute__((always_inline)) void exp_shifted_v(const float *src, float shift, float *dst,
        const int na)
{
    vd y[ACT_W], sc[ACT_W], e[ACT_W];
    EACH(v) y[v] = AT_LEAST(TO_D(src + DL * v) - BC((double)shift), -700.0);
    exp_parts(y, sc, e, na);
    EACH(v) { e[v] = e[v] * sc[v] + sc[v]; KEEP(e[v]); }
    EACH(v) TO_F(dst + DL * v, e[v]);
}

#define EXP_CHUNK (DL * ACT_W)
#define EXP_STEP DL
#define EXP_W exp_shifted_v
#endif

/* dst[j] = e^(src[j] - shift), j < n: blocks, single steps, then the last floats through a local row */
static void exp_shifted_n(const float *src, float shift, float *dst, int n)
{
    int i = 0;
    for (; i + EXP_CHUNK <= n; i += EXP_CHUNK) {
        EXP_W(src + i, shift, dst + i, EXP_CHUNK / EXP_STEP);
    }
    for (; i + EXP_STEP <= n; i += EXP_STEP) {
        EXP_W(src + i, shift, dst + i, 1);
    }
    if (i < n) {
        float t[EXP_STEP] = {0};
        memcpy(t, src + i, sizeof(float) * (n - i));
        EXP_W(t, shift, t, 1);
        memcpy(dst + i, t, sizeof(float) * (n - i));
    }
}

/*
 * Softmax of one row: the maximum, e_j = e^(z_j - max) into p, their float sum, then p_j = e_j / sum as a
 * product with the reciprocal, and lse = max + log(sum) in double, rounded once. Every sum and the order of
 * its terms depend on n only, so p = z (in place) gives the same bits as a separate p.
 */
typedef int vmask __attribute__((vector_size(VL * 4)));

static void softmax_row(const float *z, float *p, int n, float *lse)
{
    /* the maximum is exact in any order: lanes first, then across them */
    float mx = z[0];
    int j = 0;
    if (n >= VL) {
        vf m = LD(z);
        for (j = VL; j + VL <= n; j += VL) {
            vf v = LD(z + j);
            vmask gt = (vmask)(v > m);
            m = (vf)(((vmask)v & gt) | ((vmask)m & ~gt));
        }
        for (int l = 0; l < VL; l++) {
            mx = m[l] > mx ? m[l] : mx;
        }
    }
    for (; j < n; j++) {
        mx = z[j] > mx ? z[j] : mx;
    }
    exp_shifted_n(z, mx, p, n);
    /* four chains of lanes, then the lanes in order, then the last floats */
    vf acc[4] = {{0}, {0}, {0}, {0}};
    j = 0;
    for (; j + 4 * VL <= n; j += 4 * VL) {
#pragma GCC unroll 4
        for (int v = 0; v < 4; v++) {
            acc[v] += LD(p + j + v * VL);
        }
    }
    for (; j + VL <= n; j += VL) {
        acc[0] += LD(p + j);
    }
    vf s4 = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    float sum = 0.0f;
    for (int l = 0; l < VL; l++) {
        sum += s4[l];
    }
    for (; j < n; j++) {
        sum += p[j];
    }
    /* sum >= 1 (the maximum's own term), unless NaN */
    *lse = (float)((double)mx + log((double)sum));
    const float inv = (float)(1.0 / (double)sum);
    const vf vinv = BCAST(inv);
    for (j = 0; j + VL <= n; j += VL) {
        ST(p + j, LD(p + j) * vinv);
    }
    for (; j < n; j++) {
        p[j] *= inv;
    }
}

typedef float vf8 __attribute__((vector_size(32)));
typedef float vf8u __attribute__((vector_size(32), aligned(4), may_alias));

/* ---- gate equations --------------------------------------------------------------------------------- */

/* n units of one row, whose gates lie gs floats apart (gs = n = H: the whole row; a part of the units when
   a step is split between threads: every value is computed lane by lane, so the bits are the same) */
static void lstm_row(float *g, int gs, float *c, float *tc, float *hfull, int n)
{
    if (gs == n) {
        sigmoid_n(g, g, 2 * n);
    } else {
        sigmoid_n(g, g, n);
        sigmoid_n(g + gs, g + gs, n);
    }
    tanh_n(g + 2 * gs, g + 2 * gs, n);
    sigmoid_n(g + 3 * gs, g + 3 * gs, n);
    const float *gi = g, *gf = g + gs, *gg = g + 2 * gs, *go = g + 3 * gs;
    int j = 0;
    for (; j + 8 <= n; j += 8) { /* the reference's rounding: no FMA */
        vf8 f = *(const vf8u *)(gf + j), i = *(const vf8u *)(gi + j), gv = *(const vf8u *)(gg + j);
        *(vf8u *)(c + j) = f * *(vf8u *)(c + j) + i * gv;
    }
    for (; j < n; j++) {
        c[j] = gf[j] * c[j] + gi[j] * gg[j];
    }
    tanh_n(c, tc, n);
    for (j = 0; j + 8 <= n; j += 8) {
        *(vf8u *)(hfull + j) = *(const vf8u *)(go + j) * *(const vf8u *)(tc + j);
    }
    for (; j < n; j++) {
        hfull[j] = go[j] * tc[j];
    }
}

static void gru_row(float *g, int gs, const float *hn, float *h, int n)
{
    if (gs == n) {
        sigmoid_n(g, g, 2 * n);
    } else {
        sigmoid_n(g, g, n);
        sigmoid_n(g + gs, g + gs, n);
    }
    float *gr = g, *gz = g + gs, *gn = g + 2 * gs;
    for (int j = 0; j < n; j++) {
        gn[j] = gn[j] + gr[j] * hn[j];
    }
    tanh_n(gn, gn, n);
    for (int j = 0; j < n; j++) {
        float v = gn[j];
        h[j] = (h[j] - v) * gz[j] + v;
    }
}

static void rnn_row(const float *g, float *h, int H, int relu)
{
    if (relu) {
        for (int j = 0; j < H; j++) {
            float v = g[j];
            h[j] = (v > 0.0f || v != v) ? v : 0.0f; /* max(v, 0), NaN kept */
        }
    } else {
        tanh_n(g, h, H);
    }
}

/* The backward rows in explicit vectors (gcc -O2 leaves such loops scalar), each lane the scalar tail's
   expression in the same order: the same bits. */
static void lstm_back_row(const float *gates, const float *cprev, const float *tc, const float *d, float *dc,
        float *dG, int H)
{
    const float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    const vf one = BCAST(1.0f);
    int j = 0;
    for (; j + VL <= H; j += VL) {
        vf i = LD(gi + j), f = LD(gf + j), g = LD(gg + j), o = LD(go + j), t = LD(tc + j), dj = LD(d + j);
        vf dct = LD(dc + j) + dj * o * (one - t * t);
        ST(dc + j, dct * f);
        ST(dG + j, dct * g * i * (one - i));
        ST(dG + H + j, dct * LD(cprev + j) * f * (one - f));
        ST(dG + 2 * H + j, dct * i * (one - g * g));
        ST(dG + 3 * H + j, dj * t * o * (one - o));
    }
    for (; j < H; j++) {
        float i = gi[j], f = gf[j], g = gg[j], o = go[j], t = tc[j], dj = d[j];
        float dct = dc[j] + dj * o * (1.0f - t * t);
        dc[j] = dct * f;
        dG[j] = dct * g * i * (1.0f - i);
        dG[H + j] = dct * cprev[j] * f * (1.0f - f);
        dG[2 * H + j] = dct * i * (1.0f - g * g);
        dG[3 * H + j] = dj * t * o * (1.0f - o);
    }
}

static void gru_back_row(const float *slot, float *dh, float *dG, int H)
{
    const float *hp = slot, *gr = slot + H, *gz = slot + 2 * H, *gn = slot + 3 * H, *hn = slot + 4 * H;
    const vf one = BCAST(1.0f);
    int j = 0;
    for (; j + VL <= H; j += VL) {
        vf r = LD(gr + j), z = LD(gz + j), n = LD(gn + j), d = LD(dh + j);
        vf dn = d * (one - z), dz = d * (LD(hp + j) - n);
        vf dan = dn * (one - n * n);
        ST(dG + j, dan * LD(hn + j) * r * (one - r));
        ST(dG + H + j, dz * z * (one - z));
        ST(dG + 2 * H + j, dan * r);
        ST(dG + 3 * H + j, dan);
        ST(dh + j, d * z);
    }
    for (; j < H; j++) {
        float r = gr[j], z = gz[j], n = gn[j], d = dh[j];
        float dn = d * (1.0f - z), dz = d * (hp[j] - n);
        float dan = dn * (1.0f - n * n);
        dG[j] = dan * hn[j] * r * (1.0f - r);
        dG[H + j] = dz * z * (1.0f - z);
        dG[2 * H + j] = dan * r; /* b_hn and W_hn h sit inside r*(...) */
        dG[3 * H + j] = dan;
        dh[j] = d * z;
    }
}

static void rnn_back_row(const float *hnew, const float *dh, float *dG, int H, int relu)
{
    int j = 0;
    if (!relu) {
        const vf one = BCAST(1.0f);
        for (; j + VL <= H; j += VL) {
            vf y = LD(hnew + j);
            ST(dG + j, LD(dh + j) * (one - y * y));
        }
    }
    for (; j < H; j++) {
        float y = hnew[j];
        /* relu'(x) = 1 where the output is positive; tanh'(x) = 1 - tanh(x)^2 */
        dG[j] = relu ? (y > 0.0f ? dh[j] : 0.0f) : dh[j] * (1.0f - y * y);
    }
}

/* explicit vectors: at -O2 gcc leaves these loops scalar (it cannot rule out overlap cheaply) */
static void add(const float *src, float *dst, int n)
{
    int j = 0;
    for (; j + VL <= n; j += VL) {
        ST(dst + j, LD(dst + j) + LD(src + j));
    }
    for (; j < n; j++) {
        dst[j] += src[j];
    }
}

static void sum(const float *a, const float *b, float *dst, int n)
{
    int j = 0;
    for (; j + VL <= n; j += VL) {
        ST(dst + j, LD(a + j) + LD(b + j));
    }
    for (; j < n; j++) {
        dst[j] = a[j] + b[j];
    }
}

/* ---- cell variants ---------------------------------------------------------------------------------- */

/*
 * The variants' activations are array functions, one per ONNX function, each one vector loop (or the
 * sigmoid/tanh above): a slot's function is chosen once per call (act, slope), never per element, so a
 * variant costs what its own arithmetic costs. Sigmoid and tanh without a clip are exactly the calls of
 * PyTorch's form; Elu and Softplus are evaluated in double vectors and rounded once (as the scalar
 * reference does); every other function is plain float vector arithmetic.
 */
#define SEL(m, a, b) ((vf)(((vmask)(a) & (m)) | ((vmask)(b) & ~(m)))) /* per lane: m ? a : b */
#define ABSV(x) ((vf)((vmask)(x) & ((vmask){0} + 0x7fffffff)))

/*
 * EW(name, body): dst[j] = body of x = src[j] with vf a, b, c (alpha, beta, and 0 or a third constant),
 * vector by vector, the last floats through a local vector (zeros past n). dst may be src.
 */
#define EW(name, body)                                                                                      \
    static void name(const float *src, float *dst, int n, float sa, float sb)                              \
    {                                                                                                       \
        const vf a = BCAST(sa), b = BCAST(sb), zero = BCAST(0.0f), one = BCAST(1.0f);                       \
        (void)a;                                                                                            \
        (void)b;                                                                                            \
        (void)zero;                                                                                         \
        (void)one;                                                                                          \
        int j = 0;                                                                                          \
        for (; j + VL <= n; j += VL) {                                                                      \
            vf x = LD(src + j);                                                                             \
            ST(dst + j, body);                                                                              \
        }                                                                                                   \
        if (j < n) {                                                                                        \
            float t[VL] = {0};                                                                              \
            memcpy(t, src + j, sizeof(float) * (n - j));                                                    \
            vf x = LD(t);                                                                                   \
            ST(t, body);                                                                                    \
            memcpy(dst + j, t, sizeof(float) * (n - j));                                                    \
        }                                                                                                   \
    }

/* clamp(x, -b, b) with a = -b; NaN kept (its comparisons are false) */
EW(clamp_n, SEL((vmask)(x > b), b, SEL((vmask)(x < a), a, x)))
/* max(x, 0) with NaN kept */
EW(relu_n, SEL((vmask)(x > zero) | (vmask)(x != x), x, zero))
/* min(1, max(0, a*x + b)); NaN kept */
static inline __attribute__((always_inline)) vf hard_sigmoid_v(vf x, vf a, vf b, vf zero, vf one)
{
    vf v = a * x + b;
    v = SEL((vmask)(v < zero), zero, v);
    return SEL((vmask)(v > one), one, v);
}
EW(hard_sigmoid_n, hard_sigmoid_v(x, a, b, zero, one))
EW(affine_n, a * x + b)
EW(leaky_relu_n, SEL((vmask)(x >= zero), x, a * x))
EW(thresholded_relu_n, SEL((vmask)(x > a), x, zero))
EW(softsign_n, x / (one + ABSV(x)))
EW(scale_n, a * x)
EW(one_minus_n, one - x)

/*
 * Elu and Softplus in double vectors of VL/2 lanes, rounded once to float (the scalar reference's values
 * to within its own rounding): e^y = 2^k (1 + p), k = round(y log2 e), r = y - k ln2 (Cody-Waite, ln2 in
 * two parts), p = e^r - 1 = r (1 + r (C2 + ... + C8 r^6)), relative error about 1e-12 on |r| <= ln2/2 (the
 * generic build's evaluation); log(1 + u) for 0 < u <= 1 as 2 atanh(s), s = u/(2 + u) <= 1/3, by its series
 * to s^19 (relative error below 2e-11).
 */
#define DN (VL / 2)
typedef double vdv __attribute__((vector_size(DN * 8)));
typedef long long vlv __attribute__((vector_size(DN * 8)));
typedef float vfh __attribute__((vector_size(DN * 4)));
typedef float vfhu __attribute__((vector_size(DN * 4), aligned(4), may_alias));
#define DB(s) ((vdv){0} + (s))
#define LDH(p) __builtin_convertvector(*(const vfhu *)(p), vdv)
#define STH(p, v) (*(vfhu *)(p) = __builtin_convertvector((v), vfh))
#define SELD(m, a, b) ((vdv)(((vlv)(a) & (m)) | ((vlv)(b) & ~(m))))

static const double D_LOG2E = 1.4426950408889634, D_LN2_HI = 0.6931471803691238, D_LN2_LO = 1.9082149292705877e-10,
        D_ROUND = 6755399441055744.0;
static const double D_C2 = 0.5000000000426876, D_C3 = 0.16666666784452708, D_C4 = 0.041666664404814334,
        D_C5 = 0.00833328180564373, D_C6 = 0.0013889197161142085, D_C7 = 0.00019908940244287157,
        D_C8 = 2.4708277504257744e-05;

/* e^y = scale * (1 + pm1) for -700 <= y <= 0 (NaN goes through pm1) */
static inline __attribute__((always_inline)) void exp_d(vdv y, vdv *scale, vdv *pm1)
{
    vdv kr = y * DB(D_LOG2E) + DB(D_ROUND);
    vdv k = kr - DB(D_ROUND);
    vdv r = y - k * DB(D_LN2_HI);
    r = r - k * DB(D_LN2_LO);
    vdv q = DB(D_C8) * r + DB(D_C7);
    q = q * r + DB(D_C6);
    q = q * r + DB(D_C5);
    q = q * r + DB(D_C4);
    q = q * r + DB(D_C3);
    q = q * r + DB(D_C2);
    q = q * r + DB(1.0);
    *scale = (vdv)(((vlv)kr + 1023) << 52);
    *pm1 = q * r;
}

/* min(x, 0), at least -700; NaN -> 0 (the callers keep NaN through their own selection) */
static inline __attribute__((always_inline)) vdv neg_part(vdv x)
{
    vdv y = SELD((vlv)(x < DB(0.0)), x, DB(0.0));
    return SELD((vlv)(y < DB(-700.0)), DB(-700.0), y);
}

/* EWD(name, body): dst[j] = body of the double vector x = src[j] and vdv a (alpha), vector by vector, the
   last floats through a local vector */
#define EWD(name, body)                                                                                     \
    static void name(const float *src, float *dst, int n, float sa)                                        \
    {                                                                                                       \
        const vdv a = DB((double)sa);                                                                       \
        (void)a;                                                                                            \
        int j = 0;                                                                                          \
        for (; j + DN <= n; j += DN) {                                                                      \
            vdv x = LDH(src + j);                                                                           \
            STH(dst + j, body);                                                                             \
        }                                                                                                   \
        if (j < n) {                                                                                        \
            float t[DN] = {0};                                                                              \
            memcpy(t, src + j, sizeof(float) * (n - j));                                                    \
            vdv x = LDH(t);                                                                                 \
            STH(t, body);                                                                                   \
            memcpy(dst + j, t, sizeof(float) * (n - j));                                                    \
        }                                                                                                   \
    }

/* x >= 0 ? x : alpha (e^x - 1); NaN kept */
static inline __attribute__((always_inline)) vdv elu_d(vdv x, vdv a)
{
    vdv sc, p;
    exp_d(neg_part(x), &sc, &p);
    return SELD((vlv)(x < DB(0.0)), a * (sc * p + (sc - DB(1.0))), x);
}
EWD(elu_n, elu_d(x, a))

/* log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow */
static inline __attribute__((always_inline)) vdv softplus_d(vdv x)
{
    vdv ax = (vdv)((vlv)x & ((vlv){0} + 0x7fffffffffffffffLL)), sc, p;
    exp_d(SELD((vlv)(ax > DB(700.0)), DB(-700.0), -ax), &sc, &p);
    vdv u = sc * p + sc, s = u / (DB(2.0) + u), s2 = s * s;
    vdv q = DB(1.0 / 19);
    q = q * s2 + DB(1.0 / 17);
    q = q * s2 + DB(1.0 / 15);
    q = q * s2 + DB(1.0 / 13);
    q = q * s2 + DB(1.0 / 11);
    q = q * s2 + DB(1.0 / 9);
    q = q * s2 + DB(1.0 / 7);
    q = q * s2 + DB(1.0 / 5);
    q = q * s2 + DB(1.0 / 3);
    q = q * s2 + DB(1.0);
    return SELD((vlv)(x > DB(0.0)), x, DB(0.0)) + DB(2.0) * s * q;
}
EWD(softplus_n, softplus_d(x))

/* d Elu / dx = x >= 0 ? 1 : alpha e^x */
static inline __attribute__((always_inline)) vdv d_elu_d(vdv x, vdv a)
{
    vdv sc, p;
    exp_d(neg_part(x), &sc, &p);
    return SELD((vlv)(x >= DB(0.0)), DB(1.0), a * (sc * p + sc));
}
EWD(d_elu_n, d_elu_d(x, a))

/* dst = fn(clamp(src)) of slot a; dst may be src */
static void act(const rk_act *a, const float *src, float *dst, int n)
{
    if (a->clip != INFINITY) {
        clamp_n(src, dst, n, -a->clip, a->clip);
        src = dst;
    }
    switch (a->fn) {
    case RK_SIGMOID: sigmoid_n(src, dst, n); break;
    case RK_TANH: tanh_n(src, dst, n); break;
    case RK_RELU: relu_n(src, dst, n, 0, 0); break;
    case RK_HARD_SIGMOID: hard_sigmoid_n(src, dst, n, a->alpha, a->beta); break;
    case RK_AFFINE: affine_n(src, dst, n, a->alpha, a->beta); break;
    case RK_LEAKY_RELU: leaky_relu_n(src, dst, n, a->alpha, 0); break;
    case RK_THRESHOLDED_RELU: thresholded_relu_n(src, dst, n, a->alpha, 0); break;
    case RK_SCALED_TANH:
        scale_n(src, dst, n, a->beta, 0);
        tanh_n(dst, dst, n);
        scale_n(dst, dst, n, a->alpha, 0);
        break;
    case RK_ELU: elu_n(src, dst, n, a->alpha); break;
    case RK_SOFTSIGN: softsign_n(src, dst, n, 0, 0); break;
    default: softplus_n(src, dst, n, 0); break;
    }
}

/* the derivatives from the clamped pre-activation x and (some functions) the value y = fn(x) */
EW(d_sigmoid_n, x * (one - x)) /* x = y */
EW(d_tanh_n, one - x * x)      /* x = y */
EW(d_relu_n, SEL((vmask)(x > zero), one, zero))
static inline __attribute__((always_inline)) vf d_hard_sigmoid_v(vf x, vf a, vf b, vf zero, vf one)
{
    vf v = a * x + b;
    return SEL((vmask)(v > zero) & (vmask)(v < one), a, zero);
}
EW(d_hard_sigmoid_n, d_hard_sigmoid_v(x, a, b, zero, one))
EW(d_leaky_relu_n, SEL((vmask)(x >= zero), one, a))
EW(d_thresholded_relu_n, SEL((vmask)(x > a), one, zero))
EW(d_scaled_tanh_n, a * (one - x * x)) /* x = tanh(beta*x), a = alpha*beta */
static inline __attribute__((always_inline)) vf d_softsign_v(vf x, vf one)
{
    vf q = one + ABSV(x);
    return one / (q * q);
}
EW(d_softsign_n, d_softsign_v(x, one))
/* |pre| <= clip ? d : 0 (torch.clamp's gradient: the bounds let it through) */
static void clip_mask_n(const float *pre, float *d, int n, float clip)
{
    const vf c = BCAST(clip);
    int j = 0;
    for (; j + VL <= n; j += VL) {
        ST(d + j, SEL((vmask)(ABSV(LD(pre + j)) <= c), LD(d + j), BCAST(0.0f)));
    }
    for (; j < n; j++) {
        d[j] = fabsf(pre[j]) <= clip ? d[j] : 0.0f;
    }
}

/*
 * dst = d fn(clamp(pre)) / d pre for slot a, 0 where |pre| > clip; y = fn(clamp(pre)) (what the forward
 * kept). dst overlaps neither pre nor y.
 */
static void slope(const rk_act *a, const float *pre, const float *y, float *dst, int n)
{
    const float *x = pre;
    switch (a->fn) {
    case RK_SIGMOID: d_sigmoid_n(y, dst, n, 0, 0); break;
    case RK_TANH: d_tanh_n(y, dst, n, 0, 0); break;
    case RK_AFFINE: for (int j = 0; j < n; j++) dst[j] = a->alpha; break;
    default:
        if (a->clip != INFINITY) {
            clamp_n(pre, dst, n, -a->clip, a->clip);
            x = dst;
        }
        switch (a->fn) {
        case RK_RELU: d_relu_n(x, dst, n, 0, 0); break;
        case RK_HARD_SIGMOID: d_hard_sigmoid_n(x, dst, n, a->alpha, a->beta); break;
        case RK_LEAKY_RELU: d_leaky_relu_n(x, dst, n, a->alpha, 0); break;
        case RK_THRESHOLDED_RELU: d_thresholded_relu_n(x, dst, n, a->alpha, 0); break;
        case RK_SCALED_TANH:
            scale_n(x, dst, n, a->beta, 0);
            tanh_n(dst, dst, n);
            d_scaled_tanh_n(dst, dst, n, a->alpha * a->beta, 0);
            break;
        case RK_ELU: d_elu_n(x, dst, n, a->alpha); break;
        case RK_SOFTSIGN: d_softsign_n(x, dst, n, 0, 0); break;
        default: sigmoid_n(x, dst, n); break; /* Softplus' = sigmoid */
        }
    }
    if (a->clip != INFINITY) {
        clip_mask_n(pre, dst, n, a->clip);
    }
}

/* dst[j] += a[j] * b[j] */
static void mul_add(const float *a, const float *b, float *dst, int n)
{
    int j = 0;
    for (; j + VL <= n; j += VL) {
        ST(dst + j, LD(dst + j) + LD(a + j) * LD(b + j));
    }
    for (; j < n; j++) {
        dst[j] += a[j] * b[j];
    }
}

static void lstm_row_v(const rk_variant *v, const float *peep, float *g, int gs, float *c, float *hc, float *hfull,
        float *pre, int n)
{
    float *gi = g, *gf = g + gs, *gg = g + 2 * gs, *go = g + 3 * gs;
    const int coupled = (v->flags & RK_V_INPUT_FORGET) != 0;
    if (peep) { /* i and f see the incoming c */
        mul_add(peep, c, gi, n);
        if (!coupled) {
            mul_add(peep + gs, c, gf, n);
        }
    }
    if (pre) {
        memcpy(pre, gi, sizeof(float) * n);
        memcpy(pre + gs, gf, sizeof(float) * n);
        memcpy(pre + 2 * gs, gg, sizeof(float) * n);
    }
    if (coupled) {
        act(&v->act[0], gi, gi, n);
        one_minus_n(gi, gf, n, 0, 0); /* f = 1 - i */
    } else if (gs == n) {
        act(&v->act[0], gi, gi, 2 * n);
    } else {
        act(&v->act[0], gi, gi, n);
        act(&v->act[0], gf, gf, n);
    }
    act(&v->act[1], gg, gg, n);
    int j = 0;
    for (; j + 8 <= n; j += 8) { /* the reference's rounding: no FMA */
        vf8 f = *(const vf8u *)(gf + j), i = *(const vf8u *)(gi + j), gv = *(const vf8u *)(gg + j);
        *(vf8u *)(c + j) = f * *(vf8u *)(c + j) + i * gv;
    }
    for (; j < n; j++) {
        c[j] = gf[j] * c[j] + gi[j] * gg[j];
    }
    if (peep) { /* o sees the new c */
        mul_add(peep + 2 * gs, c, go, n);
    }
    if (pre) {
        memcpy(pre + 3 * gs, go, sizeof(float) * n);
        memcpy(pre + 4 * gs, c, sizeof(float) * n);
    }
    act(&v->act[0], go, go, n);
    act(&v->act[2], c, hc, n);
    for (j = 0; j + 8 <= n; j += 8) {
        *(vf8u *)(hfull + j) = *(const vf8u *)(go + j) * *(const vf8u *)(hc + j);
    }
    for (; j < n; j++) {
        hfull[j] = go[j] * hc[j];
    }
}

static void gru_gates_v(const rk_variant *v, float *g, int gs, const float *h, float *rh, float *pre, int n)
{
    if (pre) {
        memcpy(pre, g, sizeof(float) * n);
        memcpy(pre + gs, g + gs, sizeof(float) * n);
    }
    if (gs == n) {
        act(&v->act[0], g, g, 2 * n);
    } else {
        act(&v->act[0], g, g, n);
        act(&v->act[0], g + gs, g + gs, n);
    }
    if (rh) {
        int j = 0;
        for (; j + VL <= n; j += VL) {
            ST(rh + j, LD(g + j) * LD(h + j));
        }
        for (; j < n; j++) {
            rh[j] = g[j] * h[j];
        }
    }
}

static void gru_cand_v(const rk_variant *v, float *g, int gs, const float *hn, float *h, float *pre, int n)
{
    float *gr = g, *gz = g + gs, *gn = g + 2 * gs;
    if (v->flags & RK_V_RESET_BEFORE) {
        add(hn, gn, n); /* hn = W_hn (r*h) + b_hn */
    } else {
        for (int j = 0; j < n; j++) {
            gn[j] = gn[j] + gr[j] * hn[j];
        }
    }
    if (pre) {
        memcpy(pre, gn, sizeof(float) * n);
    }
    act(&v->act[1], gn, gn, n);
    for (int j = 0; j < n; j++) {
        float x = gn[j];
        h[j] = (h[j] - x) * gz[j] + x;
    }
}

static void rnn_row_v(const rk_variant *v, const float *g, float *h, int n)
{
    act(&v->act[0], g, h, n);
}

/*
 * One lane group of the LSTM variant's backward (T: vf or float; L, S: load and store). dG holds the
 * slopes s_i s_f s_g s_o on entry (s_f unused when coupled) and the pre-activations' gradients on exit.
 */
#define LSTM_BACK(T, L, S, j, PEEP, COUPLED)                                                                \
    do {                                                                                                    \
        T d_ = L(d + (j)), o_ = L(go + (j)), hc_ = L(hc + (j)), i_ = L(gi + (j)), f_ = L(gf + (j));         \
        T g_ = L(gg + (j)), cp_ = L(cp + (j));                                                               \
        T dao = d_ * hc_ * L(dG + 3 * H + (j));                                                             \
        T dct = L(dc + (j)) + d_ * o_ * L(scr + (j));                                                       \
        if (PEEP) {                                                                                         \
            dct = dct + dao * L(peep + 2 * H + (j));                                                        \
        }                                                                                                   \
        T di = dct * g_, df = dct * cp_, dg = dct * i_, daf;                                                \
        if (COUPLED) {                                                                                      \
            di = di - df;                                                                                   \
            daf = (T){0};                                                                                   \
        } else {                                                                                            \
            daf = df * L(dG + H + (j));                                                                     \
        }                                                                                                   \
        T dai = di * L(dG + (j)), dag = dg * L(dG + 2 * H + (j));                                           \
        T dcp = dct * f_;                                                                                   \
        if (PEEP) {                                                                                         \
            dcp = dcp + dai * L(peep + (j)) + daf * L(peep + H + (j));                                      \
        }                                                                                                   \
        S(dc + (j), dcp);                                                                                   \
        S(dG + (j), dai);                                                                                   \
        S(dG + H + (j), daf);                                                                               \
        S(dG + 2 * H + (j), dag);                                                                           \
        S(dG + 3 * H + (j), dao);                                                                           \
    } while (0)
#define LS(p) (*(p))
#define SS(p, v) (*(p) = (v))

static inline __attribute__((always_inline)) void lstm_back_core(const float *peep, const float *gi,
        const float *gf, const float *gg, const float *go, const float *cp, const float *hc, const float *d,
        float *dc, float *dG, const float *scr, int H, const int PEEP, const int COUPLED)
{
    int j = 0;
    for (; j + VL <= H; j += VL) {
        LSTM_BACK(vf, LD, ST, j, PEEP, COUPLED);
    }
    for (; j < H; j++) {
        LSTM_BACK(float, LS, SS, j, PEEP, COUPLED);
    }
}

static void lstm_back_row_v(const rk_variant *v, const float *peep, const float *slot, const float *pre,
        const float *d, float *dc, float *dG, float *scr, int H)
{
    const float *gi = slot, *gf = slot + H, *gg = slot + 2 * H, *go = slot + 3 * H, *cp = slot + 4 * H,
            *hc = slot + 5 * H;
    const int coupled = (v->flags & RK_V_INPUT_FORGET) != 0;
    slope(&v->act[0], pre + 3 * H, go, dG + 3 * H, H);
    slope(&v->act[2], pre + 4 * H, hc, scr, H);
    if (!coupled) {
        slope(&v->act[0], pre + H, gf, dG + H, H);
    }
    slope(&v->act[0], pre, gi, dG, H);
    slope(&v->act[1], pre + 2 * H, gg, dG + 2 * H, H);
    if (peep && coupled) {
        lstm_back_core(peep, gi, gf, gg, go, cp, hc, d, dc, dG, scr, H, 1, 1);
    } else if (peep) {
        lstm_back_core(peep, gi, gf, gg, go, cp, hc, d, dc, dG, scr, H, 1, 0);
    } else if (coupled) {
        lstm_back_core(peep, gi, gf, gg, go, cp, hc, d, dc, dG, scr, H, 0, 1);
    } else {
        lstm_back_core(peep, gi, gf, gg, go, cp, hc, d, dc, dG, scr, H, 0, 0);
    }
}

static void gru_back_row_v(const rk_variant *v, const float *slot, const float *pre, float *dh, float *dG, int H)
{
    const float *hp = slot, *gr = slot + H, *gz = slot + 2 * H, *gn = slot + 3 * H, *hn = slot + 4 * H;
    const int before = (v->flags & RK_V_RESET_BEFORE) != 0;
    slope(&v->act[1], pre + 2 * H, gn, dG + 3 * H, H);
    slope(&v->act[0], pre + H, gz, dG + H, H);
    if (!before) {
        slope(&v->act[0], pre, gr, dG, H);
    }
    const vf one = BCAST(1.0f);
    int j = 0;
    for (; j + VL <= H; j += VL) {
        vf z = LD(gz + j), n = LD(gn + j), d = LD(dh + j);
        vf dan = d * (one - z) * LD(dG + 3 * H + j);
        ST(dG + H + j, d * (LD(hp + j) - n) * LD(dG + H + j));
        ST(dG + 3 * H + j, dan);
        if (before) {
            ST(dG + 2 * H + j, dan);
        } else {
            vf r = LD(gr + j);
            ST(dG + j, dan * LD(hn + j) * LD(dG + j));
            ST(dG + 2 * H + j, dan * r); /* b_hn and W_hn h sit inside r*(...) */
        }
        ST(dh + j, d * z);
    }
    for (; j < H; j++) {
        float z = gz[j], n = gn[j], d = dh[j];
        float dan = d * (1.0f - z) * dG[3 * H + j];
        dG[H + j] = d * (hp[j] - n) * dG[H + j];
        dG[3 * H + j] = dan;
        if (before) {
            dG[2 * H + j] = dan;
        } else {
            dG[j] = dan * hn[j] * dG[j];
            dG[2 * H + j] = dan * gr[j];
        }
        dh[j] = d * z;
    }
}

static void gru_back_rbp(const rk_variant *v, const float *slot, const float *pre, const float *drh, float *dh,
        float *dG, int H)
{
    const float *hp = slot, *gr = slot + H;
    slope(&v->act[0], pre, gr, dG, H);
    int j = 0;
    for (; j + VL <= H; j += VL) {
        vf q = LD(drh + j);
        ST(dG + j, q * LD(hp + j) * LD(dG + j));
        ST(dh + j, LD(dh + j) + q * LD(gr + j));
    }
    for (; j < H; j++) {
        dG[j] = drh[j] * hp[j] * dG[j];
        dh[j] += drh[j] * gr[j];
    }
}

static void rnn_back_row_v(const rk_variant *v, const float *slot, const float *pre, const float *dh, float *dG,
        int H)
{
    slope(&v->act[0], pre, slot + H, dG, H);
    int j = 0;
    for (; j + VL <= H; j += VL) {
        ST(dG + j, LD(dh + j) * LD(dG + j));
    }
    for (; j < H; j++) {
        dG[j] = dh[j] * dG[j];
    }
}

const rk_ops OPS = {
    .name = ISA_NAME,
    .gemm_rows = gemm_rows,
    .gemm_rows2 = gemm_rows2,
    .sigmoid = sigmoid_n,
    .tanh = tanh_n,
    .lstm_row = lstm_row,
    .gru_row = gru_row,
    .rnn_row = rnn_row,
    .lstm_back_row = lstm_back_row,
    .gru_back_row = gru_back_row,
    .rnn_back_row = rnn_back_row,
    .act = act,
    .lstm_row_v = lstm_row_v,
    .gru_gates_v = gru_gates_v,
    .gru_cand_v = gru_cand_v,
    .rnn_row_v = rnn_row_v,
    .lstm_back_row_v = lstm_back_row_v,
    .gru_back_row_v = gru_back_row_v,
    .gru_back_rbp = gru_back_rbp,
    .rnn_back_row_v = rnn_back_row_v,
    .mul_add = mul_add,
    .add = add,
    .sum = sum,
    .softmax_row = softmax_row,
};
