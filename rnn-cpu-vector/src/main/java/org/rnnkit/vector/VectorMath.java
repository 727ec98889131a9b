package org.rnnkit.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector backend's arithmetic. The species is a {@code static final} constant (C2 only intrinsifies
 * constant species), chosen at class initialisation from {@code -Drnnkit.vector.bitSize} (128, 256, 512;
 * default: the CPU's preferred width). Nothing here reduces across lanes: every output element
 * accumulates in a fixed order, so results depend on the inputs only.
 */
final class VectorMath {
    static final VectorSpecies<Float> S = species();
    static final int L = S.length();

    private VectorMath() {}

    private static VectorSpecies<Float> species() {
        int bits = Integer.getInteger("rnnkit.vector.bitSize", 0);
        return bits == 0 ? FloatVector.SPECIES_PREFERRED : VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    static int bitSize() {
        return S.vectorBitSize();
    }

    static String describe() {
        return "FloatVector " + S.vectorBitSize() + "-bit (" + L + " lanes), FMA; correctly rounded activations";
    }

    /**
     * Packs a row-major {@code rows x cols} matrix for {@link #matVec}, once, when weights are prepared:
     * rows in panels of {@code 4L}, then of {@code L}, each panel column-major ({@code cols} runs of the
     * panel's width, contiguous, so the product streams through memory); the last {@code rows % L} rows
     * stay in row order.
     */
    static float[] pack(float[] w, int rows, int cols) {
        float[] p = new float[w.length];
        int r = 0, o = 0;
        for (int width : new int[] {4 * L, L}) {
            for (; r + width <= rows; r += width) {
                for (int c = 0; c < cols; c++) {
                    for (int k = 0; k < width; k++) {
                        p[o++] = w[(r + k) * cols + c];
                    }
                }
            }
        }
        System.arraycopy(w, r * cols, p, o, (rows - r) * cols);
        return p;
    }

    /**
     * {@code out[oo + r] = bias[r] + sum_j W[r][j] * x[xo + j]} from weights packed by {@link #pack}: each
     * output accumulates over {@code j} in order with FMAs, whether it sits in a vector lane or in the
     * scalar tail. No horizontal reduction, so the result is the same bits whatever the JIT did (the Vector
     * API leaves the order of a float reduction open) and whatever the alignment. Four output vectors share
     * each broadcast of {@code x[j]}.
     */
    static void matVec(float[] wp, int rows, int n, float[] x, int xo, float[] bias, float[] out, int oo) {
        int r = 0, o = 0;
        for (; r + 4 * L <= rows; r += 4 * L, o += 4 * L * n) {
            FloatVector a0 = start(bias, r), a1 = start(bias, r + L), a2 = start(bias, r + 2 * L), a3 = start(bias, r + 3 * L);
            for (int j = 0, at = o; j < n; j++, at += 4 * L) {
                FloatVector xj = FloatVector.broadcast(S, x[xo + j]);
                a0 = FloatVector.fromArray(S, wp, at).fma(xj, a0);
                a1 = FloatVector.fromArray(S, wp, at + L).fma(xj, a1);
                a2 = FloatVector.fromArray(S, wp, at + 2 * L).fma(xj, a2);
                a3 = FloatVector.fromArray(S, wp, at + 3 * L).fma(xj, a3);
            }
            a0.intoArray(out, oo + r);
            a1.intoArray(out, oo + r + L);
            a2.intoArray(out, oo + r + 2 * L);
            a3.intoArray(out, oo + r + 3 * L);
        }
        for (; r + L <= rows; r += L, o += L * n) {
            FloatVector a = start(bias, r);
            for (int j = 0, at = o; j < n; j++, at += L) {
                a = FloatVector.fromArray(S, wp, at).fma(FloatVector.broadcast(S, x[xo + j]), a);
            }
            a.intoArray(out, oo + r);
        }
        for (; r < rows; r++, o += n) {
            float acc = bias == null ? 0f : bias[r];
            for (int j = 0; j < n; j++) {
                acc = Math.fma(wp[o + j], x[xo + j], acc);
            }
            out[oo + r] = acc;
        }
    }

    private static FloatVector start(float[] bias, int r) {
        return bias == null ? FloatVector.zero(S) : FloatVector.fromArray(S, bias, r);
    }

    /** {@code y[yo + i] += x[xo + i]} for {@code i < n}. */
    static void add(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += x[xo + i];
        }
    }

    /** {@code y[yo + i] += a * x[xo + i]} for {@code i < n}. */
    static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
        FloatVector av = FloatVector.broadcast(S, a);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, x, xo + i).fma(av, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] = Math.fma(x[xo + i], a, y[yo + i]);
        }
    }

    /** {@code y[yo + c] += sum_r g[go + r] * W[r][c]}: the transposed mat-vec, accumulated row by row. */
    static void matTVecAdd(float[] w, int rows, int n, float[] g, int go, float[] y, int yo) {
        for (int r = 0; r < rows; r++) {
            axpy(g[go + r], w, r * n, y, yo, n);
        }
    }

    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-(double) x)));
    }

    static float tanh(float x) {
        return (float) Math.tanh(x);
    }
}
