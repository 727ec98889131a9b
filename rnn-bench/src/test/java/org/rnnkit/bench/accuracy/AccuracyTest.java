package org.rnnkit.bench.accuracy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class AccuracyTest {
    @Test
    void errorStatisticsOfKnownDifferences() {
        // differences +0.5, -0.25, 0 (exact), and 0 against a double that is not a float (not exact)
        double third = 1.0 / 3;
        float[] got = {1.5f, 1.75f, 2f, (float) third};
        double[] ref = {1.0, 2.0, 2.0, third};
        Accuracy.Error e = Accuracy.Error.of(got, ref);
        double d3 = (float) third - third;
        assertEquals(0.5, e.maxAbs(), 0);
        assertEquals(Math.sqrt((0.25 + 0.0625 + d3 * d3) / 4), e.rms(), 1e-15);
        assertEquals((0.5 - 0.25 + d3) / 4, e.mean(), 1e-15);
        // 2f equals 2.0; (float) third equals ref rounded to float, so it counts as exact too
        assertEquals(0.5, e.exactShare(), 0);
    }

    @Test
    void lengthsMustMatch() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> Accuracy.Error.of(new float[2], new double[3]));
        assertEquals("got: expected 3 values, got 2", ex.getMessage());
    }
}
