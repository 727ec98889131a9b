package org.rnnkit.tck;

import java.util.SplittableRandom;

/**
 * How far a float implementation of sigmoid or tanh is from the correctly rounded value, in ulps, and
 * whether its errors lean one way. Backends' tests measure their kernels' activations with it; a backend
 * made elsewhere can do the same.
 *
 * <p>Why both numbers: a worst error of 1 ulp is harmless, but a systematic error of about 1e-6 relative
 * (8 to 16 ulp, always the same way) changes the outputs of models trained in PyTorch
 * ({@code testdata/golden-trained}) beyond the golden tolerance, so the mean signed error matters as much
 * as the worst.
 *
 * <p>Thread safety: stateless; every method may be called from any thread.
 */
public final class ActivationError {

    private ActivationError() {}

    /** The functions measured; the reference is evaluated in double and rounded once to float. */
    public enum Function {
        SIGMOID, TANH;

        /** The correctly rounded value (to within double's own error, far below half an ulp of float). */
        public float reference(float x) {
            double v = this == TANH ? Math.tanh(x) : 1.0 / (1.0 + Math.exp(-(double) x));
            return (float) v;
        }
    }

    /**
     * The errors of one function over a sample.
     *
     * @param n values compared (NaN references excluded when the result is NaN too)
     * @param worstUlp the largest distance in ulps; {@link #UNACCEPTABLE} for a wrong sign or a wrong NaN
     * @param off how many results differ from the correctly rounded value at all
     * @param meanSignedUlp the mean of (result - reference) in ulps of the reference: the bias
     * @param worstAt an input where the worst error occurs (NaN if none is off)
     */
    public record Stats(long n, long worstUlp, long off, double meanSignedUlp, float worstAt) {}

    /** The {@code worstUlp} of a result with the wrong sign, or NaN where a number is due (or the reverse). */
    public static final long UNACCEPTABLE = Long.MAX_VALUE / 4;

    /**
     * Compares {@code y[i]} with the correctly rounded {@code f(x[i])} for every {@code i < x.length}.
     *
     * @throws IllegalArgumentException if {@code y} is shorter than {@code x}
     */
    public static Stats measure(Function f, float[] x, float[] y) {
        if (y.length < x.length) {
            throw new IllegalArgumentException("y: expected at least x.length = " + x.length + " values, got "
                    + y.length);
        }
        long worst = 0, off = 0, n = 0;
        float worstAt = Float.NaN;
        double signed = 0;
        for (int i = 0; i < x.length; i++) {
            float want = f.reference(x[i]);
            float got = y[i];
            long d;
            if (Float.isNaN(want) && Float.isNaN(got)) {
                continue; // NaN in, NaN out: nothing to measure
            } else if (Float.floatToRawIntBits(got) == Float.floatToRawIntBits(want)) {
                d = 0;
            } else if (Float.isNaN(want) || Float.isNaN(got) || Math.signum(got) != Math.signum(want)) {
                d = UNACCEPTABLE;
            } else {
                d = Math.abs((long) Float.floatToRawIntBits(got) - Float.floatToRawIntBits(want));
                signed += (got - (double) want) / Math.ulp(want);
            }
            n++;
            if (d > worst) {
                worst = d;
                worstAt = x[i];
            }
            off += d != 0 ? 1 : 0;
        }
        return new Stats(n, worst, off, n == 0 ? 0 : signed / n, worstAt);
    }

    /**
     * Every {@code stride}-th float bit pattern from 0 upwards, wrapping through the negative ones: with
     * a stride of 251, about 17 million values, some 33 000 per binade, both signs, subnormals and NaNs
     * included (the infinities fall between the samples: test them apart).
     */
    public static float[] everyNthFloat(int stride) {
        if (stride < 1) {
            throw new IllegalArgumentException("stride: expected >= 1, got " + stride);
        }
        float[] x = new float[(int) (((1L << 32) - 1) / stride) + 1];
        long bits = 0;
        for (int i = 0; i < x.length; i++, bits += stride) {
            x[i] = Float.intBitsToFloat((int) bits);
        }
        return x;
    }

    /** {@code n} values drawn uniformly from [lo, hi) with a fixed seed (the same sample on every run). */
    public static float[] uniform(int n, double lo, double hi, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) r.nextDouble(lo, hi);
        }
        return x;
    }
}
