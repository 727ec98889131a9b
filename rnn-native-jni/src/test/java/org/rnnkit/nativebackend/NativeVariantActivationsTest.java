package org.rnnkit.nativebackend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.Activation.Function;

/**
 * The cell variants' slot functions ({@code rk_ops.act}: ONNX's eleven, with a clip), of every instruction
 * set this CPU runs, against the scalar reference's formulas in double rounded once to float.
 *
 * <p>Bounds per function, from how each is evaluated: Sigmoid, Tanh, Elu and Softplus (compensated float,
 * or double rounded once) within 1 ulp; Relu, LeakyRelu and ThresholdedRelu exact (one rounded product at
 * most); HardSigmoid and Affine, {@code alpha*x + beta} in float, within the product's and the sum's
 * roundings (an ulp of each: near zero the sum cancels, so a bound relative to the result alone would not
 * hold); Softsign ({@code 1 + |x|} rounded, then the division) within 2 ulp; ScaledTanh ({@code beta*x}
 * rounded, tanh, then the product) within 3 ulp. NaN goes through every function but ThresholdedRelu
 * ({@code NaN > alpha} is false, as in the reference).
 */
class NativeVariantActivationsTest {

    private static final List<String> KERNELS = new ArrayList<>();

    @BeforeAll
    static void load() {
        new NativeBackendProvider().create();
        float[] probe = new float[1];
        for (String k : new String[] {"avx512", "avx2", "generic"}) {
            if (NativeMethods.variantActivation(k, 0, 0, 0, Float.POSITIVE_INFINITY, probe, probe) == null) {
                KERNELS.add(k);
            }
        }
        assertTrue(KERNELS.contains("generic"), "the generic kernels run everywhere");
    }

    /** The reference: ScalarGate's value in double, of the clamped input. */
    static double reference(Activation a, double x) {
        double al = a.alpha(), b = a.beta();
        return switch (a.function()) {
            case SIGMOID -> 1.0 / (1.0 + Math.exp(-x));
            case TANH -> Math.tanh(x);
            case RELU -> x > 0 || Double.isNaN(x) ? x : 0.0;
            case HARD_SIGMOID -> Math.min(1.0, Math.max(0.0, al * x + b));
            case AFFINE -> al * x + b;
            case LEAKY_RELU -> x >= 0 ? x : al * x;
            case THRESHOLDED_RELU -> x > al ? x : 0.0;
            case SCALED_TANH -> al * Math.tanh(b * x);
            case ELU -> x >= 0 ? x : al * Math.expm1(x);
            case SOFTSIGN -> x / (1.0 + Math.abs(x));
            case SOFTPLUS -> Math.max(x, 0.0) + Math.log1p(Math.exp(-Math.abs(x)));
        };
    }

    /** The error a function's evaluation may make at x (see the class comment). */
    static double allowed(Activation a, float x, float want) {
        float ulp = Math.ulp(want);
        return switch (a.function()) {
            case SIGMOID, TANH, ELU, SOFTPLUS -> ulp;
            case RELU, LEAKY_RELU, THRESHOLDED_RELU -> 0;
            case HARD_SIGMOID, AFFINE -> ulp + Math.ulp(a.alpha() * x) + Math.ulp(a.beta());
            case SOFTSIGN -> 2 * ulp;
            case SCALED_TANH -> 3 * ulp;
        };
    }

    static int code(Function f) {
        return NativeKernel.functionCode(f);
    }

    private static final Activation[] ACTIVATIONS = {Activation.SIGMOID, Activation.TANH, Activation.RELU,
        new Activation(Function.HARD_SIGMOID, 0.2f, 0.5f), new Activation(Function.HARD_SIGMOID, 1f / 6, 0.5f),
        new Activation(Function.AFFINE, 0.7f, -0.3f), Activation.of(Function.LEAKY_RELU, 0.01f),
        Activation.of(Function.THRESHOLDED_RELU, 0.9f), new Activation(Function.SCALED_TANH, 1.7159f, 0.6667f),
        Activation.of(Function.ELU, 1f), Activation.of(Function.ELU, 0.3f), Activation.of(Function.SOFTSIGN),
        Activation.of(Function.SOFTPLUS)};

    private static void check(Activation a, float clip, float[] x) {
        for (String k : KERNELS) {
            float[] y = new float[x.length];
            assertNull(NativeMethods.variantActivation(k, code(a.function()), a.alpha(), a.beta(), clip, x, y));
            for (int i = 0; i < x.length; i++) {
                float xc = Float.isNaN(x[i]) ? x[i] : Math.max(-clip, Math.min(clip, x[i]));
                float want = (float) reference(a, xc);
                String what = k + " " + a + " clip " + clip + " at x=" + x[i] + ": got " + y[i] + ", expected " + want;
                if (Float.isNaN(want)) {
                    assertTrue(Float.isNaN(y[i]), what);
                } else {
                    assertTrue(Math.abs((double) y[i] - want) <= allowed(a, xc, want), what);
                }
            }
        }
    }

    @Test
    void everyFunctionIsWithinItsBoundWithAndWithoutClip() {
        SplittableRandom r = new SplittableRandom(24);
        float[] x = new float[200_000];
        for (int i = 0; i < x.length; i++) {
            x[i] = i % 2 == 0 ? (float) r.nextDouble(-30, 30) : (float) r.nextDouble(-3, 3);
        }
        float[] special = {0f, -0f, Float.NaN, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-30f, -1e-30f, 80f, -80f, 120f,
            -120f, 700f, -700f, 1e30f, -1e30f, 0.9f, -2.5f, 2.5f};
        for (Activation a : ACTIVATIONS) {
            check(a, Float.POSITIVE_INFINITY, x);
            check(a, Float.POSITIVE_INFINITY, special);
            check(a, 2.5f, x);
            check(a, 2.5f, special);
        }
    }

    @Test
    void everyLengthIsCovered() {
        for (Activation a : ACTIVATIONS) {
            for (int n = 0; n <= 70; n++) {
                float[] x = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = (i - 35) * 0.173f;
                }
                check(a, Float.POSITIVE_INFINITY, x);
            }
        }
    }

    /** prepare refuses a variant C cannot run, before anything is allocated or kept (type codes: rk.h). */
    @Test
    void preparingABadVariantIsRefused() {
        int gru = 3, lstm = 2, h = 4, in = 3;
        float[] wih = new float[3 * h * in], whh = new float[3 * h * h], lwih = new float[4 * h * in],
                lwhh = new float[4 * h * h];
        int[] fns = {0, 1, 0};
        float[] params = new float[6];
        record Bad(String message, Runnable call) {}
        List<Bad> bad = List.of(
                new Bad("variant: flags 3 do not fit cell type 3", () -> NativeMethods.prepare(gru, in, h, 0, false, wih,
                        whh, null, null, null, null, 3, fns, params, Float.POSITIVE_INFINITY)),
                new Bad("variant: flags 2 do not fit cell type 2", () -> NativeMethods.prepare(lstm, in, h, 0, false,
                        lwih, lwhh, null, null, null, new float[3 * h], 2, fns, params, Float.POSITIVE_INFINITY)),
                new Bad("variant: activation 1: expected a function code 0..10, got -1", () -> NativeMethods.prepare(gru,
                        in, h, 0, false, wih, whh, null, null, null, null, 1, new int[] {0, -1, 0}, params, 1f)),
                new Bad("variant: activation 0: expected a clip > 0 (none for the cell output)", () -> NativeMethods
                        .prepare(gru, in, h, 0, false, wih, whh, null, null, null, null, 1, fns, params, Float.NaN)),
                new Bad("variant: expected 3 function codes and 6 parameters", () -> NativeMethods.prepare(gru, in, h, 0,
                        false, wih, whh, null, null, null, null, 1, new int[2], params, 1f)),
                new Bad("weight_peephole: expected an array, got null", () -> NativeMethods.prepare(lstm, in, h, 0, false,
                        lwih, lwhh, null, null, null, null, 3, fns, params, 1f)),
                new Bad("weight_peephole: expected at least 12 elements, the array has 11", () -> NativeMethods.prepare(
                        lstm, in, h, 0, false, lwih, lwhh, null, null, null, new float[11], 3, fns, params, 1f)));
        for (Bad b : bad) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    b.call()::run);
            assertEquals(b.message(), e.getMessage());
        }
        long ok = NativeMethods.prepare(lstm, in, h, 0, false, lwih, lwhh, null, null, null, new float[3 * h], 3, fns,
                params, 1f);
        assertTrue(ok != 0);
        NativeMethods.release(ok);
    }

    @Test
    void misuseIsReportedNotCrashed() {
        float[] a = new float[4], b = new float[5];
        assertEquals("variantActivation: dst must have the length of src",
                NativeMethods.variantActivation("generic", 0, 0, 0, 1, a, b));
        assertEquals("variant: activation 0: expected a function code 0..10, got 11",
                NativeMethods.variantActivation("generic", 11, 0, 0, 1, a, a));
        assertEquals("variant: activation 0: expected finite alpha and beta",
                NativeMethods.variantActivation("generic", 3, Float.NaN, 0, 1, a, a));
        assertEquals("variant: activation 0: expected a clip > 0 (none for the cell output)",
                NativeMethods.variantActivation("generic", 0, 0, 0, 0, a, a));
        assertEquals("variantActivation: these kernels do not run on this CPU",
                NativeMethods.variantActivation("sse9", 0, 0, 0, 1, a, a));
    }
}
