package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.rnnkit.tck.ActivationError;
import org.rnnkit.tck.ActivationError.Function;
import org.rnnkit.tck.ActivationError.Stats;

/**
 * The kernels' activations ({@link VectorMath#sigmoid(float[], int, float[], int, int)} and
 * {@link VectorMath#tanh(float[], int, float[], int, int)}, the very code the kernels run) against a
 * double-precision reference rounded once to float, over the whole float range at the width this JVM
 * runs (the surefire executions repeat it at 128, 256 and 512 bits).
 *
 * <p>Samples: every 251st float bit pattern (17 million values, about 33 000 per binade, both signs,
 * subnormals and NaNs included; infinities among the special values), plus 2 million uniform values in
 * [-20, 20] where gates live. Measured with {@link org.rnnkit.tck.ActivationError}.
 * Required: at most 1 ulp from the correctly rounded value anywhere, fewer than 1 in 10 000 results off
 * at all, and no bias: the mean signed error below 1e-5 ulp. A systematic error of 1e-6 relative (8 to 16
 * ulp, always the same way) is what breaks models trained in PyTorch ({@code testdata/golden-trained});
 * this bound is a million times tighter.
 */
class VectorActivationsTest {

    private static float[] padded(float[] x) {
        int n = (x.length + VectorMath.L - 1) / VectorMath.L * VectorMath.L;
        float[] p = new float[n];
        System.arraycopy(x, 0, p, 0, x.length);
        return p;
    }

    private static void check(String name, Function fn, float[] x) {
        float[] src = padded(x), y = new float[src.length];
        if (fn == Function.TANH) {
            VectorMath.tanh(src, 0, y, 0, src.length);
        } else {
            VectorMath.sigmoid(src, 0, y, 0, src.length);
        }
        Stats s = ActivationError.measure(fn, x, y);
        String f = fn.name().toLowerCase(Locale.ROOT);
        System.out.printf("[activations] %s at %d bits over %s: worst %d ulp (at %s), %d of %d off by one,"
                + " mean signed error %.2e ulp%n", f, VectorMath.bitSize(), name, s.worstUlp(),
                s.worstAt(), s.off(), s.n(), s.meanSignedUlp());
        assertTrue(s.worstUlp() <= 1, f + " over " + name + ": worst error " + s.worstUlp()
                + " ulp at x=" + s.worstAt() + ", expected <= 1");
        assertTrue(s.off() * 10_000 < s.n(), name + ": " + s.off() + " of " + s.n() + " off by one ulp, expected < 1e-4");
        assertTrue(Math.abs(s.meanSignedUlp()) < 1e-5, name + ": biased, mean signed error " + s.meanSignedUlp() + " ulp");
    }

    @Test
    void sigmoidIsWithinOneUlpAndUnbiasedOverTheWholeRange() {
        check("every 251st float", Function.SIGMOID, ActivationError.everyNthFloat(251));
        check("uniform [-20, 20]", Function.SIGMOID, ActivationError.uniform(2_000_000, -20, 20, 42));
    }

    @Test
    void tanhIsWithinOneUlpAndUnbiasedOverTheWholeRange() {
        check("every 251st float", Function.TANH, ActivationError.everyNthFloat(251));
        check("uniform [-20, 20]", Function.TANH, ActivationError.uniform(2_000_000, -20, 20, 42));
    }

    @Test
    void specialValuesAreExact() {
        float[] x = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MIN_VALUE,
            -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 9.1f, -9.1f, 100f, -100f, 1e-30f, -1e-30f, 0.5f};
        float[] p = padded(x), s = new float[p.length], t = new float[p.length];
        VectorMath.sigmoid(p, 0, s, 0, p.length);
        VectorMath.tanh(p, 0, t, 0, p.length);
        for (int i = 0; i < x.length; i++) {
            float ws = Function.SIGMOID.reference(x[i]), wt = Function.TANH.reference(x[i]);
            assertEquals(Float.floatToIntBits(ws), Float.floatToIntBits(s[i]), "sigmoid(" + x[i] + ")");
            assertEquals(Float.floatToIntBits(wt), Float.floatToIntBits(t[i]), "tanh(" + x[i] + ")");
        }
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(t[1]), "tanh keeps -0");
        assertEquals(0f, s[3], "sigmoid(-inf)");
        assertEquals(1f, s[2], "sigmoid(+inf)");
    }

    @Test
    void offsetsAndInPlaceRespectTheirRanges() {
        int n = 3 * VectorMath.L;
        float[] a = new float[n + 4];
        for (int i = 0; i < a.length; i++) {
            a[i] = i - 5.5f;
        }
        float[] before = a.clone();
        VectorMath.tanh(a, 2, a, 2, n); // in place, from offset 2
        assertEquals(before[0], a[0]);
        assertEquals(before[1], a[1]);
        assertEquals(before[n + 2], a[n + 2]);
        assertEquals(before[n + 3], a[n + 3]);
        for (int i = 0; i < n; i++) {
            float want = (float) Math.tanh(before[2 + i]);
            assertEquals(want, a[2 + i], Math.ulp(want), "tanh at " + i);
        }
        float[] dst = new float[n + 2];
        VectorMath.sigmoid(before, 1, dst, 1, n);
        assertEquals(0f, dst[0]);
        assertEquals(0f, dst[n + 1]);
    }
}
