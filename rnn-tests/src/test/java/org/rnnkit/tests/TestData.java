package org.rnnkit.tests;

import java.util.SplittableRandom;
import org.rnnkit.tensor.Tensor;

/** Seeded test data shared by the cross-backend tests. */
public final class TestData {
    private TestData() {}

    /** A tensor of standard normal values drawn from {@code rnd}. */
    public static Tensor normal(SplittableRandom rnd, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) rnd.nextGaussian();
        }
        return t;
    }

    /** Distance in units in the last place between two floats (across zero too). */
    public static long ulps(float a, float b) {
        return Math.abs(ordered(a) - ordered(b));
    }

    private static long ordered(float f) {
        int bits = Float.floatToIntBits(f);
        return bits < 0 ? (long) Integer.MIN_VALUE - bits : bits;
    }
}
