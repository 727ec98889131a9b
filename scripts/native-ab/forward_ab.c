/*
 * The native backend's LSTM forward pass, in C, with two builds of the kernels alternating in one process
 * (A: OPS_A, B: OPS_B; see run.sh). On a VM whose speed drifts from minute to minute, only times taken in
 * turn compare: each round runs A and B once, in alternating order, and the minimum, lower quartile and
 * median of each are printed. Used in rnn-bench/RESULTS.md ("AVX2-only machine") to weigh parts of a step
 * (e.g. B = the same kernels with the activations stubbed out).
 *
 *   forward_ab INPUT HIDDEN T B ROUNDS        one thread, batch rows of random data, bias on
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "rk.h"

extern const rk_ops OPS_A, OPS_B;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static float *random_floats(long n, float scale)
{
    float *p = malloc(sizeof(float) * n);
    if (p == NULL) {
        exit(2);
    }
    for (long i = 0; i < n; i++) {
        p[i] = ((rand() % 2001) - 1000) * scale / 1000;
    }
    return p;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s INPUT HIDDEN T B ROUNDS\n", argv[0]);
        return 2;
    }
    int I = atoi(argv[1]), H = atoi(argv[2]), T = atoi(argv[3]), B = atoi(argv[4]), rounds = atoi(argv[5]);
    rk_dims d;
    if (!rk_dims_of(RK_LSTM, I, H, 0, &d) || T < 1 || B < 1 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "bad sizes\n");
        return 2;
    }
    float *wih = random_floats(4L * H * I, 0.06f), *whh = random_floats(4L * H * H, 0.06f);
    float *bih = random_floats(4L * H, 0.06f), *bhh = random_floats(4L * H, 0.06f);
    rk_weights *w = rk_prepare(&d, 1, wih, whh, bih, bhh, NULL);
    float *x = random_floats((long)T * B * I, 1), *out = malloc(sizeof(float) * T * B * H);
    float *h = calloc((size_t)B * H, sizeof(float)), *c = calloc((size_t)B * H, sizeof(float)), *ws;
    if (w == NULL || out == NULL || h == NULL || c == NULL
            || posix_memalign((void **)&ws, 64, sizeof(float) * rk_workspace_size(&d, T, B)) != 0) {
        return 2;
    }
    rk_fwd_args a = {T, B, 0, NULL, x, (int64_t)B * I, I, out, (int64_t)B * H, H, h, c, NULL, ws, 1};
    const rk_ops *ops[2] = {&OPS_A, &OPS_B};
    double *times[2] = {malloc(sizeof(double) * rounds), malloc(sizeof(double) * rounds)};
    for (int r = 0; r < rounds; r++) {
        for (int turn = 0; turn < 2; turn++) {
            int v = (r & 1) ? 1 - turn : turn;
            memset(h, 0, sizeof(float) * B * H);
            memset(c, 0, sizeof(float) * B * H);
            double t0 = now();
            rk_forward(w, ops[v], &a);
            times[v][r] = now() - t0;
        }
    }
    printf("LSTM %d/%d T%d B%d, %d rounds, ms per forward:\n", I, H, T, B, rounds);
    for (int v = 0; v < 2; v++) {
        qsort(times[v], rounds, sizeof(double), by_value);
        printf("  %c  min %.2f  q25 %.2f  median %.2f\n", 'A' + v, times[v][0] * 1e3, times[v][rounds / 4] * 1e3,
                times[v][rounds / 2] * 1e3);
    }
    return 0;
}
