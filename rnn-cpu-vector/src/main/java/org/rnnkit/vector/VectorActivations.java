package org.rnnkit.vector;

import static org.rnnkit.vector.VectorMath.L;
import static org.rnnkit.vector.VectorMath.S;

import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.variant.Activation;

/**
 * The activation slots of a cell variant over whole vectors: {@link #apply} the slot's function to the
 * clipped pre-activations, and {@link #scaleBySlope} a gradient by its derivative, zero where the clip
 * bounds the pre-activation. One call runs one function over a gate block: the forward chooses its loop
 * once per call; the backward's loop switches per vector of lanes on a value fixed for the call. Sigmoid and tanh are {@link VectorMath}'s (the default form's values, so a
 * variant that only clips keeps them); Elu and Softplus go element by element through {@link StrictMath}.
 * Never the Vector API's lane-wise transcendental operators: their compiled (intrinsic) and interpreted
 * forms may differ in the last bit, and results must not depend on which thread ran a row, or when.
 *
 * <p>Lengths are multiples of {@link VectorMath#L}. Padded lanes (zero pre-activations) may become
 * non-zero through a function with {@code f(0) != 0} (an affine candidate): they are never read as
 * values (products read the first {@code H} columns only, and results are copied back {@code H} wide) and
 * their gradients stay zero (the upstream gradient of a padded lane is zero).
 *
 * <p>Thread safety: immutable.
 *
 * @param function the slot's function
 * @param clip the bound of its pre-activations ({@code +Infinity}: none)
 */
record VectorActivations(Activation function, float clip) {

    /** The slots of a variant shape (RNN: f; GRU: f, g; LSTM: f, g, h), or null for PyTorch's form. */
    static VectorActivations[] of(KernelShape s) {
        if (s.variant().isDefault()) {
            return null;
        }
        List<Activation> acts = s.variant().activations();
        if (acts.isEmpty()) {
            acts = switch (s.type()) {
                case RNN_TANH -> List.of(Activation.TANH);
                case RNN_RELU -> List.of(Activation.RELU);
                case GRU -> List.of(Activation.SIGMOID, Activation.TANH);
                case LSTM -> List.of(Activation.SIGMOID, Activation.TANH, Activation.TANH);
            };
        }
        VectorActivations[] slots = new VectorActivations[acts.size()];
        for (int i = 0; i < slots.length; i++) {
            // the LSTM's cell output h(c') is never clipped
            slots[i] = new VectorActivations(acts.get(i), i == 2 ? Float.POSITIVE_INFINITY : s.variant().clip());
        }
        return slots;
    }

    private boolean clips() {
        return clip != Float.POSITIVE_INFINITY;
    }

    /** {@code dst[dOff + i] = f(clamp(src[so + i]))} for {@code i < n}; in place when the ranges coincide. */
    void apply(float[] src, int so, float[] dst, int dOff, int n) {
        if (clips()) {
            for (int i = 0; i < n; i += L) {
                FloatVector x = FloatVector.fromArray(S, src, so + i);
                x.blend(clip, x.compare(VectorOperators.GT, clip)).blend(-clip, x.compare(VectorOperators.LT, -clip))
                        .intoArray(dst, dOff + i);
            }
            src = dst;
            so = dOff;
        }
        float a = function.alpha(), b = function.beta();
        switch (function.function()) {
            case SIGMOID -> VectorMath.sigmoid(src, so, dst, dOff, n);
            case TANH -> VectorMath.tanh(src, so, dst, dOff, n);
            case SCALED_TANH -> {
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, src, so + i).mul(b).intoArray(dst, dOff + i);
                }
                VectorMath.tanh(dst, dOff, dst, dOff, n);
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, dst, dOff + i).mul(a).intoArray(dst, dOff + i);
                }
            }
            case RELU -> {
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, src, so + i).max(0f).intoArray(dst, dOff + i);
                }
            }
            case HARD_SIGMOID -> {
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, src, so + i).mul(a).add(b).max(0f).min(1f).intoArray(dst, dOff + i);
                }
            }
            case AFFINE -> {
                for (int i = 0; i < n; i += L) {
                    FloatVector.fromArray(S, src, so + i).mul(a).add(b).intoArray(dst, dOff + i);
                }
            }
            case LEAKY_RELU -> {
                for (int i = 0; i < n; i += L) {
                    FloatVector x = FloatVector.fromArray(S, src, so + i);
                    x.blend(x.mul(a), x.compare(VectorOperators.LT, 0f)).intoArray(dst, dOff + i);
                }
            }
            case THRESHOLDED_RELU -> {
                for (int i = 0; i < n; i += L) {
                    FloatVector x = FloatVector.fromArray(S, src, so + i);
                    x.blend(0f, x.compare(VectorOperators.GT, a).not()).intoArray(dst, dOff + i);
                }
            }
            case ELU -> {
                for (int i = 0; i < n; i++) { // StrictMath: the same bits compiled or interpreted, on every thread
                    float x = src[so + i];
                    dst[dOff + i] = x >= 0 ? x : (float) (a * StrictMath.expm1(x));
                }
            }
            case SOFTSIGN -> {
                for (int i = 0; i < n; i += L) {
                    FloatVector x = FloatVector.fromArray(S, src, so + i);
                    x.div(x.abs().add(1f)).intoArray(dst, dOff + i);
                }
            }
            case SOFTPLUS -> {
                for (int i = 0; i < n; i++) { // max(x, 0) + log1p(exp(-|x|)): no overflow for large x
                    double x = src[so + i];
                    dst[dOff + i] = (float) (Math.max(x, 0) + StrictMath.log1p(StrictMath.exp(-Math.abs(x))));
                }
            }
        }
    }

    /**
     * {@code g[go + i] *= f'(clamp(pre[po + i]))}, and 0 where {@code |pre| > clip} (the bounds themselves
     * pass the gradient, as {@code torch.clamp}'s). {@code y[yo + i]} is the forward's value
     * {@code f(clamp(pre))}: the derivatives of sigmoid, tanh, scaled tanh, Elu and Softplus are taken
     * from it, so that no transcendental function is evaluated again.
     */
    void scaleBySlope(float[] pre, int po, float[] y, int yo, float[] g, int go, int n) {
        float a = function.alpha(), b = function.beta();
        if (function.function() == Activation.Function.SOFTPLUS) {
            // f' = sigmoid(x) = 1 - exp(-f(x)), by StrictMath: the same bits compiled or interpreted
            for (int i = 0; i < n; i++) {
                float p = pre[po + i];
                g[go + i] = Math.abs(p) > clip ? 0f : g[go + i] * (float) -StrictMath.expm1(-y[yo + i]);
            }
            return;
        }
        final FloatVector one = FloatVector.broadcast(S, 1f);
        for (int i = 0; i < n; i += L) {
            FloatVector p = FloatVector.fromArray(S, pre, po + i), v = FloatVector.fromArray(S, y, yo + i);
            FloatVector x = p;
            VectorMask<Float> outside = null;
            if (clips()) {
                outside = p.abs().compare(VectorOperators.GT, clip);
                x = p.blend(clip, p.compare(VectorOperators.GT, clip)).blend(-clip, p.compare(VectorOperators.LT, -clip));
            }
            // one switch per vector of lanes, on a value fixed for the call
            FloatVector slope = switch (function.function()) {
                case SIGMOID -> v.mul(one.sub(v));
                case TANH -> one.sub(v.mul(v));
                case SCALED_TANH -> { // f = a tanh(b x): f' = a b (1 - (f/a)^2)
                    FloatVector t = a == 0f ? FloatVector.zero(S) : v.div(a);
                    yield one.sub(t.mul(t)).mul(a * b);
                }
                case RELU -> FloatVector.zero(S).blend(1f, x.compare(VectorOperators.GT, 0f));
                case HARD_SIGMOID -> {
                    FloatVector lin = x.mul(a).add(b);
                    yield FloatVector.zero(S).blend(a, lin.compare(VectorOperators.GT, 0f)
                            .and(lin.compare(VectorOperators.LT, 1f)));
                }
                case AFFINE -> FloatVector.broadcast(S, a);
                case LEAKY_RELU -> FloatVector.broadcast(S, a).blend(1f, x.compare(VectorOperators.GE, 0f));
                case THRESHOLDED_RELU -> FloatVector.zero(S).blend(1f, x.compare(VectorOperators.GT, a));
                case ELU -> v.add(a).blend(1f, x.compare(VectorOperators.GE, 0f)); // x < 0: a e^x = f + a
                case SOFTSIGN -> {
                    FloatVector d = x.abs().add(1f);
                    yield one.div(d.mul(d));
                }
                case SOFTPLUS -> throw new AssertionError("handled above");
            };
            FloatVector r = FloatVector.fromArray(S, g, go + i).mul(slope);
            if (outside != null) {
                r = r.blend(0f, outside);
            }
            r.intoArray(g, go + i);
        }
    }
}
