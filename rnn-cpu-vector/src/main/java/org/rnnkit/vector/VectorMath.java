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

    /** The transpose of a row-major {@code rows x cols} matrix, laid out once when weights are prepared. */
    static float[] transpose(float[] w, int rows, int cols) {
        float[] t = new float[w.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                t[c * rows + r] = w[r * cols + c];
            }
        }
        return t;
    }

    /**
     * {@code out[oo + r] = bias[r] + sum_j W[r][j] * x[xo + j]} from the transposed weights
     * {@code wT[j * rows + r]}: each output accumulates over {@code j} in order with FMAs, whether it sits in
     * a vector lane or in the scalar tail. No horizontal reduction, so the result is the same bits whatever
     * the JIT did (the Vector API leaves the order of a float reduction open) and whatever the alignment.
     * Four output vectors share each broadcast of {@code x[j]}.
     */
    static void matVec(float[] wT, int rows, int n, float[] x, int xo, float[] bias, float[] out, int oo) {
        int r = 0;
        for (; r + 4 * L <= rows; r += 4 * L) {
            FloatVector a0 = start(bias, r), a1 = start(bias, r + L), a2 = start(bias, r + 2 * L), a3 = start(bias, r + 3 * L);
            for (int j = 0, row = r; j < n; j++, row += rows) {
                FloatVector xj = FloatVector.broadcast(S, x[xo + j]);
                a0 = FloatVector.fromArray(S, wT, row).fma(xj, a0);
                a1 = FloatVector.fromArray(S, wT, row + L).fma(xj, a1);
                a2 = FloatVector.fromArray(S, wT, row + 2 * L).fma(xj, a2);
                a3 = FloatVector.fromArray(S, wT, row + 3 * L).fma(xj, a3);
            }
            a0.intoArray(out, oo + r);
            a1.intoArray(out, oo + r + L);
            a2.intoArray(out, oo + r + 2 * L);
            a3.intoArray(out, oo + r + 3 * L);
        }
        for (; r + L <= rows; r += L) {
            FloatVector a = start(bias, r);
            for (int j = 0, row = r; j < n; j++, row += rows) {
                a = FloatVector.fromArray(S, wT, row).fma(FloatVector.broadcast(S, x[xo + j]), a);
            }
            a.intoArray(out, oo + r);
        }
        for (; r < rows; r++) {
            float acc = bias == null ? 0f : bias[r];
            for (int j = 0; j < n; j++) {
                acc = Math.fma(wT[j * rows + r], x[xo + j], acc);
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
