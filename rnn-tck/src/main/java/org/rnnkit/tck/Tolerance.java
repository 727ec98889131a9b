package org.rnnkit.tck;

/**
 * The golden cases' comparison rule, per element of a tensor:
 * {@code |got - expected| <= atol * max(1, max|expected|) + rtol * |expected|}.
 *
 * <p>What it bounds (see the golden README): the difference between two correct float32 evaluations of
 * the same function that differ in summation order, FMA use and activation rounding. PyTorch's own float32
 * results use at most 0.13 (forward) and 0.03 (gradients) of it against float64, while a 1e-3 relative
 * activation error, a swapped gate or a misplaced GRU bias exceed it 500 to 100 000 times.
 *
 * @param atol absolute part, scaled by the tensor's largest magnitude (at least 1)
 * @param rtol relative part
 *
 * <p>Thread safety: immutable.
 */
public record Tolerance(double atol, double rtol) {
    /** {@code output}, {@code h_n}, {@code c_n}. */
    public static final Tolerance FORWARD = new Tolerance(1e-5, 1e-4);
    /** {@code grad_*}. */
    public static final Tolerance GRADIENT = new Tolerance(2e-5, 2e-4);

    /** The worst element of one tensor. */
    public record Check(String tensor, double fraction, int index, float got, float expected) {
        public boolean passed() {
            return fraction <= 1.0;
        }

        @Override
        public String toString() {
            return String.format("%s[%d]: got %s, expected %s (%.3g of the tolerance)", tensor, index,
                    Float.toString(got), Float.toString(expected), fraction);
        }
    }

    /**
     * Compares two tensors of the same size; returns the element using the largest fraction of its
     * allowed difference. A NaN on either side where the other is not NaN counts as infinitely far.
     */
    public Check compare(String tensor, float[] got, float[] expected) {
        if (got.length != expected.length) {
            throw new IllegalArgumentException(tensor + ": expected " + expected.length + " values, got " + got.length);
        }
        double maxAbs = 0;
        for (float e : expected) {
            maxAbs = Math.max(maxAbs, Math.abs(e));
        }
        double abs = atol * Math.max(1.0, maxAbs);
        double worst = -1;
        int at = 0;
        for (int i = 0; i < got.length; i++) {
            double g = got[i], e = expected[i];
            double frac;
            if (Double.isNaN(g) || Double.isNaN(e)) {
                frac = Double.isNaN(g) && Double.isNaN(e) ? 0 : Double.POSITIVE_INFINITY;
            } else {
                frac = Math.abs(g - e) / (abs + rtol * Math.abs(e));
            }
            if (frac > worst) {
                worst = frac;
                at = i;
            }
        }
        return got.length == 0 ? new Check(tensor, 0, -1, Float.NaN, Float.NaN)
                : new Check(tensor, worst, at, got[at], expected[at]);
    }
}
