package org.rnnkit.tests.dense;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.MatrixView;

/**
 * Every backend's {@link DenseKernel} against a double-precision reference: products in all four
 * transpose combinations, with offsets, strides and accumulation; row softmax; the same refusal of a bad
 * call by every backend; the same bits whatever the number of threads.
 */
class DenseKernelTest {
    private static final double U = Math.ulp(1.0f) / 2; // float32 unit roundoff, 2^-24

    /** Sizes around vector widths, panel widths and the head of `rnnkit train` (1024 x 128 x 86). */
    private static final int[][] SHAPES = {
        {1, 1, 1}, {1, 7, 3}, {3, 1, 5}, {4, 16, 16}, {5, 17, 9}, {7, 33, 64}, {13, 86, 128}, {64, 65, 31},
        {97, 129, 0}, {1024, 86, 128}, {1024, 128, 86}, {86, 128, 1024},
    };

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void productsMatchTheReferenceWithinTheSummationErrorBound(Backend backend) {
        DenseKernel dense = KernelAccess.kernels(backend).dense();
        SplittableRandom rnd = new SplittableRandom(7);
        for (int[] mnk : SHAPES) {
            for (int form = 0; form < 4; form++) {
                for (boolean accumulate : new boolean[] {false, true}) {
                    check(dense, mnk[0], mnk[1], mnk[2], (form & 1) != 0, (form & 2) != 0, accumulate, rnd);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void theBitsDoNotDependOnTheNumberOfThreads(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int form = 0; form < 4; form++) {
            float[][] results = new float[3][];
            long seed = rnd.nextLong();
            for (int threads = 1; threads <= 3; threads++) {
                SplittableRandom same = new SplittableRandom(seed);
                results[threads - 1] = product(KernelAccess.kernels(backend.withThreads(threads)).dense(),
                        1024, 86, 128, (form & 1) != 0, (form & 2) != 0, same);
            }
            assertArrayEquals(results[0], results[1], "form " + form + ": 1 vs 2 threads");
            assertArrayEquals(results[0], results[2], "form " + form + ": 1 vs 3 threads");
        }
    }

    /** {@code c (m x n) = a b} with a fresh random seed stream; returns c. */
    private static float[] product(DenseKernel dense, int m, int n, int k, boolean ta, boolean tb, SplittableRandom rnd) {
        float[] a = random(rnd, m * k), b = random(rnd, k * n), c = new float[m * n];
        dense.multiply(view(a, 0, m, k, ta ? m : k, ta), view(b, 0, k, n, tb ? k : n, tb),
                new MatrixView().rowMajor(c, 0, m, n), false);
        return c;
    }

    /**
     * One product with a (and b) stored with 3 floats before and a stride 2 wider than needed, c with padding
     * that must stay untouched. Bound: a float sum of k products in any order is within
     * {@code gamma_k * sum |a||b|} of the exact value, {@code gamma_k = k u / (1 - k u)} (Higham, Accuracy and
     * Stability of Numerical Algorithms, 3.5); accumulation adds one rounding, hence {@code k + 1}.
     */
    private static void check(DenseKernel dense, int m, int n, int k, boolean ta, boolean tb, boolean accumulate,
            SplittableRandom rnd) {
        int pad = 3, gap = 2;
        int aStride = (ta ? m : k) + gap, bStride = (tb ? k : n) + gap, cStride = n + gap;
        float[] a = random(rnd, pad + (ta ? k : m) * aStride), b = random(rnd, pad + (tb ? n : k) * bStride);
        float[] c = random(rnd, pad + m * cStride), before = c.clone();
        MatrixView av = view(a, pad, m, k, aStride, ta), bv = view(b, pad, k, n, bStride, tb);
        dense.multiply(av, bv, new MatrixView().rowMajor(c, pad, m, n, cStride), accumulate);
        String what = m + "x" + n + "x" + k + (ta ? " a^T" : "") + (tb ? " b^T" : "") + (accumulate ? " +=" : "");
        double gamma = (k + 1) * U / (1 - (k + 1) * U);
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double exact = accumulate ? before[pad + i * cStride + j] : 0, magnitude = Math.abs(exact);
                for (int kk = 0; kk < k; kk++) {
                    double p = (double) a[av.index(i, kk)] * b[bv.index(kk, j)];
                    exact += p;
                    magnitude += Math.abs(p);
                }
                double got = c[pad + i * cStride + j];
                double bound = gamma * magnitude + Float.MIN_NORMAL;
                if (Math.abs(got - exact) > bound) {
                    throw new AssertionError(what + ": c[" + i + "][" + j + "] = " + got + ", expected " + exact
                            + " within " + bound);
                }
            }
        }
        for (int idx = 0; idx < c.length; idx++) {
            int off = idx - pad;
            boolean inside = off >= 0 && off / cStride < m && off % cStride < n;
            if (!inside) {
                assertEquals(before[idx], c[idx], what + ": c[" + idx + "] lies outside the view and was written");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void softmaxMatchesTheReference(Backend backend) {
        DenseKernel dense = KernelAccess.kernels(backend).dense();
        SplittableRandom rnd = new SplittableRandom(5);
        for (int cols : new int[] {1, 2, 7, 16, 17, 86, 100}) {
            for (double scale : new double[] {0.1, 3, 40}) {
                int rows = 37;
                float[] z = new float[rows * cols];
                for (int i = 0; i < z.length; i++) {
                    z[i] = (float) (rnd.nextGaussian() * scale);
                }
                z[0] = 80f; // would overflow exp without the shift by the row's maximum
                float[] p = new float[rows * cols], lse = new float[rows + 1];
                dense.softmax(new MatrixView().rowMajor(z, 0, rows, cols), new MatrixView().rowMajor(p, 0, rows, cols), lse, 1);
                float[] inPlace = z.clone(), lse2 = new float[rows];
                dense.softmax(new MatrixView().rowMajor(inPlace, 0, rows, cols), new MatrixView().rowMajor(inPlace, 0, rows, cols),
                        lse2, 0);
                for (int i = 0; i < rows; i++) {
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int j = 0; j < cols; j++) {
                        max = Math.max(max, z[i * cols + j]);
                    }
                    for (int j = 0; j < cols; j++) {
                        sum += Math.exp(z[i * cols + j] - max);
                    }
                    double ref = max + Math.log(sum);
                    // Float evaluation: a sum of `cols` terms (each exp within 4 ulps) and the rounding of
                    // lse and of z - lse, whose absolute errors scale with |lse| and |max|: a relative error
                    // in p of at most (|max| + |lse| + cols + 8) ulps of 1.
                    double eps = (Math.abs(max) + Math.abs(ref) + cols + 8) * 2 * U;
                    assertTrue(Math.abs(lse[1 + i] - ref) <= eps, "lse row " + i + ": " + lse[1 + i] + " vs " + ref);
                    assertEquals(lse[1 + i], lse2[i], "in place, lse row " + i);
                    for (int j = 0; j < cols; j++) {
                        double pr = Math.exp(z[i * cols + j] - ref);
                        double got = p[i * cols + j];
                        assertTrue(Math.abs(got - pr) <= eps * pr + Float.MIN_NORMAL,
                                "p[" + i + "][" + j + "] = " + got + ", expected " + pr + " (cols " + cols + ")");
                        assertEquals(got, inPlace[i * cols + j], "in place, p[" + i + "][" + j + "]");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void everyBackendRefusesABadCallInTheSameWords(Backend backend) {
        DenseKernel dense = KernelAccess.kernels(backend).dense();
        float[] a = new float[12], b = new float[12], c = new float[16];
        MatrixView a34 = new MatrixView().rowMajor(a, 0, 3, 4), b43 = new MatrixView().rowMajor(b, 0, 4, 3);
        assertMessage("b: expected 4 rows (the columns of a), got 3", () -> dense.multiply(a34,
                new MatrixView().rowMajor(b, 0, 3, 4), new MatrixView().rowMajor(c, 0, 3, 4), false));
        assertMessage("c: expected 3 x 3, got 4 x 4", () -> dense.multiply(a34, b43,
                new MatrixView().rowMajor(c, 0, 4, 4), false));
        assertMessage("a: expected 13 floats for MatrixView[3 x 4, offset 1, stride 4, 12 floats], but the array has 12",
                () -> dense.multiply(new MatrixView().rowMajor(a, 1, 3, 4), b43, new MatrixView().rowMajor(c, 0, 3, 3), false));
        assertMessage("c: must not overlap a or b, got c MatrixView[3 x 3, offset 0, stride 3, 12 floats], a "
                + "MatrixView[3 x 4, offset 0, stride 4, 12 floats], b MatrixView[4 x 3, offset 0, stride 3, 12 floats]",
                () -> dense.multiply(a34, b43, new MatrixView().rowMajor(a, 0, 3, 3), false));
        NullPointerException npe = assertThrows(NullPointerException.class,
                () -> dense.multiply(a34, null, new MatrixView().rowMajor(c, 0, 3, 3), false));
        assertEquals("b: expected a MatrixView, got null", npe.getMessage());
        assertMessage("logSumExp: expected 3 floats from offset 0, but the array has 2", () -> dense.softmax(
                new MatrixView().rowMajor(c, 0, 3, 4), new MatrixView().rowMajor(c, 0, 3, 4), new float[2], 0));
    }

    private static void assertMessage(String expected, Runnable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        assertEquals(expected, e.getMessage());
    }

    private static MatrixView view(float[] data, int offset, int rows, int cols, int stride, boolean transposed) {
        return transposed ? new MatrixView().transposeOf(data, offset, rows, cols, stride)
                : new MatrixView().rowMajor(data, offset, rows, cols, stride);
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextDouble(-1, 1);
        }
        return v;
    }
}
