package org.rnnkit.vector;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sigmoid and tanh over float arrays, accurate first: each element is widened to double, evaluated with
 * a double-precision exp (relative error ~1e-15) and rounded once to float, so the result is the
 * correctly rounded value except for rare near-ties (then 1 ulp), and unbiased: models trained in PyTorch
 * are sensitive to systematic activation error. Vectorized with half-width float vectors widened to
 * full-width double vectors; a scalar tail uses the same formulas.
 */
final class VectorActivations {
    /** Doubles of the backend's vector width, and floats of half of it: the same lane count. */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, VectorShape.forBitSize(VectorMath.S.vectorBitSize()));
    static final VectorSpecies<Float> F = VectorSpecies.of(float.class, VectorShape.forBitSize(VectorMath.S.vectorBitSize() / 2));
    static final int N = D.length();
    /**
     * At 128 bits the half-width float species is 64 bits, which x86 does not run as SIMD (the JDK falls
     * back to Java objects, allocating per call): there the same formulas run per element instead.
     */
    static final boolean SIMD = VectorMath.S.vectorBitSize() >= 256;

    private static final double LOG2E = 1.4426950408889634, LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10;
    private static final double MAX = 700; // exp(±700) stays normal in double; sigmoid/tanh are saturated long before

    private VectorActivations() {}

    /** exp(x) for |x| <= 700, relative error ~1e-15: 2^k * p(r), x = k ln2 + r, |r| <= ln2/2, Taylor to r^12. */
    static DoubleVector exp(DoubleVector x) {
        DoubleVector k = x.mul(LOG2E).add(6755399441055744.0).sub(6755399441055744.0); // round to nearest
        DoubleVector r = k.fma(DoubleVector.broadcast(D, -LN2_HI), x).sub(k.mul(LN2_LO));
        DoubleVector p = DoubleVector.broadcast(D, 1.0 / 479001600); // 1/12!
        double[] c = {1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120,
            1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
        for (double ci : c) {
            p = p.fma(r, DoubleVector.broadcast(D, ci));
        }
        DoubleVector scale = ((jdk.incubator.vector.LongVector) k.convert(VectorOperators.D2L, 0))
                .add(1023).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
        return p.mul(scale);
    }

    private static DoubleVector clamp(DoubleVector x) {
        return x.max(-MAX).min(MAX);
    }

    static DoubleVector sigmoid(DoubleVector x) {
        return DoubleVector.broadcast(D, 1.0).div(exp(clamp(x.neg())).add(1.0));
    }

    static DoubleVector tanh(DoubleVector x) {
        DoubleVector a = x.abs();
        DoubleVector t = exp(clamp(a.mul(-2.0)));
        DoubleVector big = DoubleVector.broadcast(D, 1.0).sub(t).div(t.add(1.0));
        // near 0, 1 - exp(-2|x|) cancels: the series x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 instead
        DoubleVector x2 = a.mul(a);
        DoubleVector s = DoubleVector.broadcast(D, 62.0 / 2835).fma(x2, DoubleVector.broadcast(D, -17.0 / 315))
                .fma(x2, DoubleVector.broadcast(D, 2.0 / 15)).fma(x2, DoubleVector.broadcast(D, -1.0 / 3))
                .fma(x2, DoubleVector.broadcast(D, 1.0)).mul(x); // odd in x: keeps the sign, -0.0 included
        VectorMask<Double> small = a.compare(VectorOperators.LT, 0.01);
        DoubleVector m = big.lanewise(VectorOperators.NEG, x.compare(VectorOperators.LT, 0.0));
        return m.blend(s, small).blend(x, x.test(VectorOperators.IS_NAN));
    }

    /** {@code a[off..off+n) = sigmoid(a[..])} in place. */
    static void sigmoid(float[] a, int off, int n) {
        int i = 0;
        for (; SIMD && i + N <= n; i += N) {
            DoubleVector x = (DoubleVector) FloatVector.fromArray(F, a, off + i).convertShape(VectorOperators.F2D, D, 0);
            ((FloatVector) sigmoid(x).convertShape(VectorOperators.D2F, F, 0)).intoArray(a, off + i);
        }
        for (; i < n; i++) {
            a[off + i] = VectorMath.sigmoid(a[off + i]);
        }
    }

    /** {@code a[off..off+n) = tanh(a[..])} in place. */
    static void tanh(float[] a, int off, int n) {
        int i = 0;
        for (; SIMD && i + N <= n; i += N) {
            DoubleVector x = (DoubleVector) FloatVector.fromArray(F, a, off + i).convertShape(VectorOperators.F2D, D, 0);
            ((FloatVector) tanh(x).convertShape(VectorOperators.D2F, F, 0)).intoArray(a, off + i);
        }
        for (; i < n; i++) {
            a[off + i] = VectorMath.tanh(a[off + i]);
        }
    }
}
