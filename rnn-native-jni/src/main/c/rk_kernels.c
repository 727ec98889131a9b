/*
 * The kernels of one instruction set. This file is compiled three times (see build-native.sh):
 *   RK_ISA_AVX512  -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma   -> rk_ops_avx512
 *   RK_ISA_AVX2    -mavx2 -mfma                                   -> rk_ops_avx2
 *   (neither)      the x86-64 baseline (SSE2), no FMA             -> rk_ops_generic
 * and rk_jni.c picks one at load time with __builtin_cpu_supports. The code is written once with GCC's
 * generic vector types; only the lane count, the register block and the multiply-add differ.
 *
 * Compiled with -ffp-contract=off: every multiply-add that is fused is fused on purpose (the products'
 * FMA intrinsics); the gate equations keep the rounding order of the scalar reference.
 */
#include <string.h>
#include "rk.h"

#if defined(RK_ISA_AVX512)
#include <immintrin.h>
#define VL 16
#define RB 4
#define VB 4
#define OPS rk_ops_avx512
#define ISA_NAME "avx512"
#elif defined(RK_ISA_AVX2)
#include <immintrin.h>
#define VL 8
#define RB 3
#define VB 4
#define OPS rk_ops_avx2
#define ISA_NAME "avx2"
#else
#define VL 4
#define RB 3
#define VB 4
#define OPS rk_ops_generic
#define ISA_NAME "generic"
#endif

/* outputs per register block (a "sub-panel" of a packed panel) */
#define SPW (VL * VB)
#define NSUB (RK_PANEL / SPW)

typedef float vf __attribute__((vector_size(VL * 4)));
typedef float vfu __attribute__((vector_size(VL * 4), aligned(4), may_alias));
#define LD(p) (*(const vfu *)(p))
#define ST(p, v) (*(vfu *)(p) = (v))

#if defined(RK_ISA_AVX512)
#define FMADD(a, b, c) ((vf)_mm512_fmadd_ps((__m512)(a), (__m512)(b), (__m512)(c)))
#elif defined(RK_ISA_AVX2)
#define FMADD(a, b, c) ((vf)_mm256_fmadd_ps((__m256)(a), (__m256)(b), (__m256)(c)))
#else
#define FMADD(a, b, c) ((a) * (b) + (c))
#endif

/* ---- products --------------------------------------------------------------------------------------- */

/*
 * nr rows x SPW outputs: each output is one lane that starts at its init value and adds kk = 0, 1, ...
 * in order, one multiply-add per term. No reduction across lanes, so a row's result never depends on
 * which rows share its block, nor on how many rows a call has.
 */
static inline __attribute__((always_inline)) void micro(const float *wp, int K, const int nr,
        const float *const *a, const float *const *ip, float *const *cp)
{
    vf acc[RB][VB];
#pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < VB; v++) {
            acc[r][v] = ip ? (vf)LD(ip[r] + v * VL) : (vf){0};
        }
    }
    for (int kk = 0; kk < K; kk++, wp += RK_PANEL) {
        vf w[VB];
#pragma GCC unroll 4
        for (int v = 0; v < VB; v++) {
            w[v] = LD(wp + v * VL);
        }
#pragma GCC unroll 4
        for (int r = 0; r < nr; r++) {
            vf x = (vf){0} + a[r][kk];
#pragma GCC unroll 4
            for (int v = 0; v < VB; v++) {
                acc[r][v] = FMADD(w[v], x, acc[r][v]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < nr; r++) {
#pragma GCC unroll 4
        for (int v = 0; v < VB; v++) {
            ST(cp[r] + v * VL, acc[r][v]);
        }
    }
}

static void micro_n(const float *wp, int K, int nr, const float *const *a, const float *const *ip, float *const *cp)
{
    switch (nr) {
#if RB >= 4
    case 4: micro(wp, K, 4, a, ip, cp); break;
#endif
    case 3: micro(wp, K, 3, a, ip, cp); break;
    case 2: micro(wp, K, 2, a, ip, cp); break;
    default: micro(wp, K, 1, a, ip, cp); break;
    }
}

static void gemm_rows(const rk_pk *w, int nrows, const float *const *a, const float *const *init, float *const *c)
{
    const int K = w->k, N = w->n;
    for (int r0 = 0; r0 < nrows; r0 += RB) {
        int nr = nrows - r0 < RB ? nrows - r0 : RB;
        const float *const *ar = a + r0;
        for (int p = 0; p < w->panels; p++) {
            for (int s = 0; s < NSUB; s++) {
                int o = p * RK_PANEL + s * SPW;
                if (o >= N) {
                    break;
                }
                const float *wp = w->data + (size_t)p * RK_PANEL * K + s * SPW;
                const float *ip[RB];
                float *cp[RB];
                if (o + SPW <= N) {
                    for (int r = 0; r < nr; r++) {
                        ip[r] = init ? init[r0 + r] + o : NULL;
                        cp[r] = c[r0 + r] + o;
                    }
                    micro_n(wp, K, nr, ar, init ? ip : NULL, cp);
                } else { /* the last, partial block: through local rows (same arithmetic per lane) */
                    int nv = N - o;
                    float ti[RB][SPW], tc[RB][SPW];
                    for (int r = 0; r < nr; r++) {
                        if (init) {
                            memcpy(ti[r], init[r0 + r] + o, sizeof(float) * nv);
                            memset(ti[r] + nv, 0, sizeof(float) * (SPW - nv));
                        }
                        ip[r] = ti[r];
                        cp[r] = tc[r];
                    }
                    micro_n(wp, K, nr, ar, init ? ip : NULL, cp);
                    for (int r = 0; r < nr; r++) {
                        memcpy(c[r0 + r] + o, tc[r], sizeof(float) * nv);
                    }
                }
            }
        }
    }
}

/* ---- activations ------------------------------------------------------------------------------------ */

/*
 * Evaluated in double and rounded once to float, as the vector backend does: exp(y) = 2^k exp(r) with
 * k = round(y log2 e), r = y - k ln2 (Cody-Waite, ln2 in two parts: k*LN2_HI is exact), and
 * exp(r) - 1 = r (1 + r (C2 + ... + C8 r^6)) with relative error about 1e-12 on |r| <= ln2/2: the correctly
 * rounded float except at rare near-ties (then one ulp off, either way: no bias).
 */
typedef double vd __attribute__((vector_size(64)));
typedef long long vl __attribute__((vector_size(64)));
typedef float vf8 __attribute__((vector_size(32)));
typedef float vf8u __attribute__((vector_size(32), aligned(4), may_alias));

#define BC(s) ((vd){0} + (s))
#define SEL(m, a, b) ((vd)(((vl)(a) & (m)) | ((vl)(b) & ~(m))))

static const double LOG2E = 1.4426950408889634, LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10,
        ROUND = 6755399441055744.0;
static const double C2 = 0.5000000000426876, C3 = 0.16666666784452708, C4 = 0.041666664404814334,
        C5 = 0.00833328180564373, C6 = 0.0013889197161142085, C7 = 0.00019908940244287157,
        C8 = 2.4708277504257744e-05;

/* exp(y) - 1 = scale*pm1 + (scale - 1) and exp(y) = scale*pm1 + scale, for |y| <= 700 (or NaN) */
static inline __attribute__((always_inline)) void exp_parts(const vd *yp, vd *scale, vd *pm1)
{
    /* by pointer: a 64-byte vector passed by value has no fixed ABI below AVX-512 (all of this inlines) */
    vd y = *yp;
    vd kr = y * BC(LOG2E) + BC(ROUND);
    vd k = kr - BC(ROUND);
    vd r = (y - k * BC(LN2_HI)) - k * BC(LN2_LO);
    vd q = BC(C8);
    q = q * r + BC(C7);
    q = q * r + BC(C6);
    q = q * r + BC(C5);
    q = q * r + BC(C4);
    q = q * r + BC(C3);
    q = q * r + BC(C2);
    q = q * r + BC(1.0);
    *scale = (vd)(((vl)kr + 1023) << 52);
    *pm1 = q * r;
}

static inline __attribute__((always_inline)) void sigmoid8(const float *src, float *dst)
{
    vd x = __builtin_convertvector(*(const vf8u *)src, vd);
    vd y = -x;
    y = SEL(y < BC(-700.0), BC(-700.0), y); /* NaN compares false and passes through */
    y = SEL(y > BC(700.0), BC(700.0), y);
    vd sc, pm1;
    exp_parts(&y, &sc, &pm1);
    vd e = pm1 * sc + sc;
    vd s = BC(1.0) / (BC(1.0) + e);
    *(vf8u *)dst = __builtin_convertvector(s, vf8);
}

static inline __attribute__((always_inline)) void tanh8(const float *src, float *dst)
{
    vd x = __builtin_convertvector(*(const vf8u *)src, vd);
    vl xb = (vl)x;
    vd ax = (vd)(xb & ((vl){0} + 0x7fffffffffffffffLL));
    ax = SEL(ax > BC(10.0), BC(10.0), ax); /* tanh rounds to 1 in float from 9.01 on */
    vd y = BC(-2.0) * ax;
    vd sc, pm1;
    exp_parts(&y, &sc, &pm1);
    vd m = pm1 * sc + (sc - BC(1.0)); /* expm1(-2|x|): no cancellation near 0 */
    vd t = m / (m + BC(2.0));          /* -tanh(|x|), or -0 */
    vd th = (vd)(((vl)t & ((vl){0} + 0x7fffffffffffffffLL)) | (xb & ((vl){0} + (long long)0x8000000000000000ULL)));
    *(vf8u *)dst = __builtin_convertvector(th, vf8);
}

static void sigmoid_n(const float *src, float *dst, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        sigmoid8(src + i, dst + i);
    }
    if (i < n) {
        float t[8] = {0};
        memcpy(t, src + i, sizeof(float) * (n - i));
        sigmoid8(t, t);
        memcpy(dst + i, t, sizeof(float) * (n - i));
    }
}

static void tanh_n(const float *src, float *dst, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        tanh8(src + i, dst + i);
    }
    if (i < n) {
        float t[8] = {0};
        memcpy(t, src + i, sizeof(float) * (n - i));
        tanh8(t, t);
        memcpy(dst + i, t, sizeof(float) * (n - i));
    }
}

/* ---- gate equations --------------------------------------------------------------------------------- */

static void lstm_row(float *g, float *c, float *tc, float *hfull, int H)
{
    sigmoid_n(g, g, H);
    sigmoid_n(g + H, g + H, H);
    tanh_n(g + 2 * H, g + 2 * H, H);
    sigmoid_n(g + 3 * H, g + 3 * H, H);
    const float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
    for (int j = 0; j < H; j++) {
        c[j] = gf[j] * c[j] + gi[j] * gg[j]; /* the reference's rounding: no FMA */
    }
    tanh_n(c, tc, H);
    for (int j = 0; j < H; j++) {
        hfull[j] = go[j] * tc[j];
    }
}

static void gru_row(float *g, const float *hn, float *h, int H)
{
    sigmoid_n(g, g, 2 * H);
    float *gr = g, *gz = g + H, *gn = g + 2 * H;
    for (int j = 0; j < H; j++) {
        gn[j] = gn[j] + gr[j] * hn[j];
    }
    tanh_n(gn, gn, H);
    for (int j = 0; j < H; j++) {
        float n = gn[j];
        h[j] = (h[j] - n) * gz[j] + n;
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

static void lstm_back_row(const float *gates, const float *cprev, const float *tc, const float *d, float *dc,
        float *dG, int H)
{
    const float *gi = gates, *gf = gates + H, *gg = gates + 2 * H, *go = gates + 3 * H;
    for (int j = 0; j < H; j++) {
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
    for (int j = 0; j < H; j++) {
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
    for (int j = 0; j < H; j++) {
        float y = hnew[j];
        /* relu'(x) = 1 where the output is positive; tanh'(x) = 1 - tanh(x)^2 */
        dG[j] = relu ? (y > 0.0f ? dh[j] : 0.0f) : dh[j] * (1.0f - y * y);
    }
}

static void add(const float *src, float *dst, int n)
{
    for (int j = 0; j < n; j++) {
        dst[j] += src[j];
    }
}

const rk_ops OPS = {
    .name = ISA_NAME,
    .gemm_rows = gemm_rows,
    .sigmoid = sigmoid_n,
    .tanh = tanh_n,
    .lstm_row = lstm_row,
    .gru_row = gru_row,
    .rnn_row = rnn_row,
    .lstm_back_row = lstm_back_row,
    .gru_back_row = gru_back_row,
    .rnn_back_row = rnn_back_row,
    .add = add,
};
