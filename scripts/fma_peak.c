/*
 * The single-core FMA peak of this machine at 512 bits: 12 independent chains of vfmadd (enough to hide
 * the FMA latency on both pipes), 200 M iterations, three times. Used in rnn-bench/RESULTS.md to bound
 * what a GEMM-bound scenario can reach. The chains are named variables, not an array: GCC keeps an array
 * in memory (stored every iteration here), which cut the rate to a third.
 *
 *   gcc -O2 -mavx512f -mfma scripts/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
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

#define CHAIN(x) x = _mm512_fmadd_ps(x, b, c);

int main(void)
{
    const __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3);
    __m512 a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7);
    __m512 a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    const long n = 200000000;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now();
        for (long k = 0; k < n; k++) {
            CHAIN(a0) CHAIN(a1) CHAIN(a2) CHAIN(a3) CHAIN(a4) CHAIN(a5)
            CHAIN(a6) CHAIN(a7) CHAIN(a8) CHAIN(a9) CHAIN(a10) CHAIN(a11)
        }
        double t = now() - t0;
        /* a checksum keeps the chains live */
        __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
        s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
        printf("%.1f GFLOP/s (checksum %g)\n", n * 12.0 * 32 / t / 1e9, _mm512_reduce_add_ps(s));
    }
    return 0;
}
