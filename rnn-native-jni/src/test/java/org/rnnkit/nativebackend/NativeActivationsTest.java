package org.rnnkit.nativebackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rnnkit.tck.ActivationError;
import org.rnnkit.tck.ActivationError.Function;
import org.rnnkit.tck.ActivationError.Stats;

/**
 * The native activations (the code {@code lstm_row}, {@code gru_row} and {@code rnn_row} run), of every
 * instruction set this CPU runs, against a double-precision reference rounded once to float.
 *
 * <p>Samples: every 251st float bit pattern (17 million values, about 33 000 per binade, both signs,
 * subnormals and NaNs included; infinities among the special values), plus 2 million uniform values in
 * [-20, 20] where gates live. Measured with {@link org.rnnkit.tck.ActivationError}.
 *
 * <p>Required, from the issue: at most 1 ulp from the correctly rounded value anywhere, and no bias. The
 * AVX2 and AVX-512 kernels evaluate in float with compensated sums and one remainder-corrected division:
 * before the last rounding they are within about 0.01 ulp, so results land on the wrong side of a rounding
 * tie now and then (measured: 0.67 % of sigmoid and 0.08 % of tanh results in [-20, 20], under 0.06 % over
 * the whole range); the bound of 2 % allows for that and nothing more. The bias bound, 2e-4 ulp of mean
 * signed error over the 2 million gate-range samples (measured: under 7e-5), is 40 000 times below the
 * systematic error of 1e-6 relative (8 to 16 ulp) that breaks models trained in PyTorch
 * ({@code testdata/golden-trained}). The generic kernels evaluate in double and must do at least as well.
 */
class NativeActivationsTest {

    private static final List<String> KERNELS = new ArrayList<>();

    @BeforeAll
    static void load() {
        new NativeBackendProvider().create(); // loads the library, or fails here with the probe's reason
        float[] probe = new float[1];
        for (String k : new String[] {"avx512", "avx2", "generic"}) {
            if (NativeMethods.activation(k, false, probe, probe) == null) {
                KERNELS.add(k);
            }
        }
        assertTrue(KERNELS.contains("generic"), "the generic kernels run everywhere");
        assertEquals(CpuFlags.has("avx512f", "avx512dq", "avx512vl"), KERNELS.contains("avx512"), KERNELS.toString());
        assertEquals(CpuFlags.has("avx2", "fma"), KERNELS.contains("avx2"), KERNELS.toString());
        System.out.println("[native activations] kernels this CPU runs, all checked: " + KERNELS
                + (KERNELS.contains("avx512") ? "" : " (no AVX-512 here: the avx512 kernels are checked on AVX-512 machines)"));
    }

    private static void check(String name, Function fn, float[] x) {
        for (String k : KERNELS) {
            float[] y = new float[x.length];
            assertNull(NativeMethods.activation(k, fn == Function.TANH, x, y));
            Stats s = ActivationError.measure(fn, x, y);
            String f = fn.name().toLowerCase(Locale.ROOT) + " (" + k + ") over " + name;
            System.out.printf("[native activations] %s: worst %d ulp (at %s), %d of %d off by one, mean signed error"
                    + " %.2e ulp%n", f, s.worstUlp(), s.worstAt(), s.off(), s.n(), s.meanSignedUlp());
            assertTrue(s.worstUlp() <= 1, f + ": worst error " + s.worstUlp() + " ulp at x=" + s.worstAt()
                    + ", expected <= 1");
            assertTrue(s.off() * 50 < s.n(), f + ": " + s.off() + " of " + s.n() + " off by one ulp, expected < 2 %");
            assertTrue(Math.abs(s.meanSignedUlp()) < 2e-4, f + ": biased, mean signed error " + s.meanSignedUlp()
                    + " ulp, expected |.| < 2e-4");
        }
    }

    @Test
    void sigmoidIsWithinOneUlpAndUnbiased() {
        check("every 251st float", Function.SIGMOID, ActivationError.everyNthFloat(251));
        check("uniform [-20, 20]", Function.SIGMOID, ActivationError.uniform(2_000_000, -20, 20, 42));
    }

    @Test
    void tanhIsWithinOneUlpAndUnbiased() {
        check("every 251st float", Function.TANH, ActivationError.everyNthFloat(251));
        check("uniform [-20, 20]", Function.TANH, ActivationError.uniform(2_000_000, -20, 20, 42));
    }

    @Test
    void specialValuesAreExactAndEveryLengthIsCovered() {
        float[] x = {0f, -0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, Float.MIN_VALUE,
            -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 9.1f, -9.1f, 100f, -100f, 1e-30f, -1e-30f, 0.5f};
        for (String k : KERNELS) {
            float[] s = new float[x.length], t = new float[x.length];
            assertNull(NativeMethods.activation(k, false, x, s));
            assertNull(NativeMethods.activation(k, true, x, t));
            for (int i = 0; i < x.length; i++) {
                float ws = Function.SIGMOID.reference(x[i]), wt = Function.TANH.reference(x[i]);
                assertEquals(Float.floatToIntBits(ws), Float.floatToIntBits(s[i]), k + " sigmoid(" + x[i] + ")");
                assertEquals(Float.floatToIntBits(wt), Float.floatToIntBits(t[i]), k + " tanh(" + x[i] + ")");
            }
            assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(t[1]), k + ": tanh keeps -0");
            // every length from 0 to 200: blocks, single vectors and the partial last vector
            for (int n = 0; n <= 200; n++) {
                float[] src = new float[n], dst = new float[n];
                for (int i = 0; i < n; i++) {
                    src[i] = (i - 100) * 0.173f;
                }
                assertNull(NativeMethods.activation(k, true, src, dst));
                for (int i = 0; i < n; i++) {
                    float want = (float) Math.tanh(src[i]);
                    assertEquals(want, dst[i], Math.ulp(want), k + " tanh, n=" + n + ", at " + i);
                }
            }
        }
    }

    @Test
    void misuseIsReportedNotCrashed() {
        float[] a = new float[4], b = new float[5];
        assertEquals("activation: dst must have the length of src", NativeMethods.activation("generic", true, a, b));
        assertEquals("activation: these kernels do not run on this CPU", NativeMethods.activation("sse9", true, a, a));
    }
}
