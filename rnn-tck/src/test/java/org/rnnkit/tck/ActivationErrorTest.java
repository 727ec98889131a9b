package org.rnnkit.tck;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.rnnkit.tck.ActivationError.Function;
import org.rnnkit.tck.ActivationError.Stats;

/** The measuring stick of the backends' activation tests, checked on implementations with known errors. */
class ActivationErrorTest {

    private static final float[] X = {-3f, -0.5f, 0f, 0.25f, 2f, 7f};

    private static float[] apply(Function f, float[] x, int ulpsUp) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = f.reference(x[i]);
            for (int k = 0; k < ulpsUp; k++) {
                y[i] = Math.nextUp(y[i]);
            }
        }
        return y;
    }

    @Test
    void theReferenceItselfHasNoError() {
        for (Function f : Function.values()) {
            Stats s = ActivationError.measure(f, X, apply(f, X, 0));
            assertEquals(X.length, s.n());
            assertEquals(0, s.worstUlp());
            assertEquals(0, s.off());
            assertEquals(0.0, s.meanSignedUlp());
        }
    }

    @Test
    void aBiasedImplementationShowsItsBiasAndWorstInput() {
        // sigmoid is positive everywhere, so one ulp up keeps the sign: every value off by exactly +1 ulp
        Stats s = ActivationError.measure(Function.SIGMOID, X, apply(Function.SIGMOID, X, 1));
        assertEquals(1, s.worstUlp());
        assertEquals(X.length, s.off());
        assertEquals(1.0, s.meanSignedUlp(), 1e-12);
        float[] y = apply(Function.SIGMOID, X, 0);
        y[4] = Math.nextUp(Math.nextUp(Math.nextUp(y[4])));
        Stats t = ActivationError.measure(Function.SIGMOID, X, y);
        assertEquals(3, t.worstUlp());
        assertEquals(X[4], t.worstAt());
        assertEquals(1, t.off());
    }

    @Test
    void wrongSignsAndWrongNaNsAreUnacceptable() {
        float[] x = {0.5f, Float.NaN, 1f};
        float[] y = {-Function.TANH.reference(0.5f), Float.NaN, Function.TANH.reference(1f)};
        Stats s = ActivationError.measure(Function.TANH, x, y);
        assertEquals(ActivationError.UNACCEPTABLE, s.worstUlp());
        assertEquals(0.5f, s.worstAt());
        assertEquals(2, s.n(), "NaN in and NaN out is not counted");
        y[0] = Function.TANH.reference(0.5f);
        y[1] = 0f;
        assertEquals(ActivationError.UNACCEPTABLE, ActivationError.measure(Function.TANH, x, y).worstUlp());
    }

    @Test
    void samplesCoverWhatTheySay() {
        float[] every = ActivationError.everyNthFloat(251);
        assertEquals(17_111_424, every.length);
        assertEquals(0f, every[0]);
        boolean negative = false, nan = false, subnormal = false;
        for (float v : every) {
            negative |= v < 0;
            nan |= Float.isNaN(v);
            subnormal |= v != 0 && Math.abs(v) < Float.MIN_NORMAL;
        }
        assertTrue(negative && nan && subnormal, "both signs, subnormals and NaNs");
        float[] u = ActivationError.uniform(1000, -20, 20, 42);
        assertArrayEquals(u, ActivationError.uniform(1000, -20, 20, 42), "the same sample every run");
        for (float v : u) {
            assertTrue(v >= -20 && v <= 20, "in range: " + v);
        }
    }

    @Test
    void misuseNamesTheArgument() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ActivationError.measure(Function.TANH, new float[3], new float[2]));
        assertTrue(e.getMessage().startsWith("y:"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ActivationError.everyNthFloat(0));
    }
}
