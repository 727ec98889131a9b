package org.rnnkit.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector backend's arithmetic. The species is a {@code static final} constant (C2 only intrinsifies
 * constant species), chosen at class initialisation from {@code -Drnnkit.vector.bitSize} (128, 256, 512;
 * default: the CPU's preferred width). Reductions use a fixed order for a given species, so results do
 * not depend on anything but the inputs.
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

    /** {@code out[oo + k] = dot(w[o_k ..], x[xo ..])} for four rows, sharing each load of {@code x}. */
    static void dot4(float[] w, int o0, int o1, int o2, int o3, float[] x, int xo, int n, float[] out, int oo) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector xv = FloatVector.fromArray(S, x, xo + i);
            a0 = FloatVector.fromArray(S, w, o0 + i).fma(xv, a0);
            a1 = FloatVector.fromArray(S, w, o1 + i).fma(xv, a1);
            a2 = FloatVector.fromArray(S, w, o2 + i).fma(xv, a2);
            a3 = FloatVector.fromArray(S, w, o3 + i).fma(xv, a3);
        }
        float s0 = a0.reduceLanes(VectorOperators.ADD), s1 = a1.reduceLanes(VectorOperators.ADD);
        float s2 = a2.reduceLanes(VectorOperators.ADD), s3 = a3.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            float xi = x[xo + i];
            s0 = Math.fma(w[o0 + i], xi, s0);
            s1 = Math.fma(w[o1 + i], xi, s1);
            s2 = Math.fma(w[o2 + i], xi, s2);
            s3 = Math.fma(w[o3 + i], xi, s3);
        }
        out[oo] = s0;
        out[oo + 1] = s1;
        out[oo + 2] = s2;
        out[oo + 3] = s3;
    }

    /** {@code dot(w[o ..], x[xo ..])} over {@code n} elements. */
    static float dot(float[] w, int o, float[] x, int xo, int n) {
        FloatVector a = FloatVector.zero(S);
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            a = FloatVector.fromArray(S, w, o + i).fma(FloatVector.fromArray(S, x, xo + i), a);
        }
        float s = a.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s = Math.fma(w[o + i], x[xo + i], s);
        }
        return s;
    }

    /**
     * {@code out[oo + r] = W[r] . x (+ bias[r])} for {@code rows} rows of a row-major matrix with {@code n}
     * columns: the mat-vec of the gates, four rows at a time.
     */
    static void matVec(float[] w, int rows, int n, float[] x, int xo, float[] bias, float[] out, int oo) {
        int r = 0;
        for (; r + 4 <= rows; r += 4) {
            dot4(w, r * n, (r + 1) * n, (r + 2) * n, (r + 3) * n, x, xo, n, out, oo + r);
        }
        for (; r < rows; r++) {
            out[oo + r] = dot(w, r * n, x, xo, n);
        }
        if (bias != null) {
            for (r = 0; r < rows; r++) {
                out[oo + r] += bias[r];
            }
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
