/*
 * The single-core FMA peak of this machine at 512 bits (or 256 on an AVX2-only machine): 12 independent
 * chains of vfmadd (enough to hide the FMA latency on both pipes), 200 M iterations, three times. Used in
 * rnn-bench/RESULTS.md to bound what a GEMM-bound scenario can reach. The chains are named variables, not
 * an array: GCC keeps an array in memory (stored every iteration here), which cut the rate to a third.
 *
 *   gcc -O2 -mavx512f -mfma scripts/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak     AVX-512
 *   gcc -O2 -mavx2 -mfma scripts/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak        AVX2
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

#if defined(__AVX512F__)
#define LANES 16
#define V __m512
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
static float sum_lanes(__m512 v) { return _mm512_reduce_add_ps(v); }
#else
#define LANES 8
#define V __m256
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
static float sum_lanes(__m256 v)
{
    float f[8], s = 0;
    _mm256_storeu_ps(f, v);
    for (int i = 0; i < 8; i++) {
        s += f[i];
    }
    return s;
}
#endif

#define CHAIN(x) x = FMA(x, b, c);

int main(void)
{
    const V b = SET1(0.999999f), c = SET1(1e-7f);
    V a0 = SET1(0), a1 = SET1(1), a2 = SET1(2), a3 = SET1(3);
    V a4 = SET1(4), a5 = SET1(5), a6 = SET1(6), a7 = SET1(7);
    V a8 = SET1(8), a9 = SET1(9), a10 = SET1(10), a11 = SET1(11);
    const long n = 200000000;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (long k = 0; k < n; k++) {
            CHAIN(a0) CHAIN(a1) CHAIN(a2) CHAIN(a3) CHAIN(a4) CHAIN(a5)
            CHAIN(a6) CHAIN(a7) CHAIN(a8) CHAIN(a9) CHAIN(a10) CHAIN(a11)
        }
        double t = now() - t0;
        /* a checksum keeps the chains live */
        V s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));
        s = ADD(s, ADD(ADD(a8, a9), ADD(a10, a11)));
        printf("%d-bit: %.1f GFLOP/s (checksum %g)\n", LANES * 32, n * 12.0 * 2 * LANES / t / 1e9, sum_lanes(s));
    }
    return 0;
}
