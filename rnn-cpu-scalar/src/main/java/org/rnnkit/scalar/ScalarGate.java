package org.rnnkit.scalar;

import java.util.List;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.variant.Activation;

/**
 * One activation slot of a cell variant: its function applied to the clipped pre-activation, and the
 * derivative of that with respect to the unclipped pre-activation (zero where the clip bounds it, as
 * {@code torch.clamp}'s gradient). Values are computed in double and rounded once, like {@link ScalarMath}.
 *
 * <p>Thread safety: immutable.
 */
record ScalarGate(Activation activation, float clip) {

    /**
     * The slots of a variant shape, in slot order (RNN: f; GRU: f, g; LSTM: f, g, h). The LSTM's {@code h}
     * is never clipped.
     */
    static ScalarGate[] of(KernelShape s) {
        List<Activation> acts = s.variant().activations();
        if (acts.isEmpty()) {
            acts = s.type().defaultActivations();
        }
        ScalarGate[] gates = new ScalarGate[acts.size()];
        for (int i = 0; i < gates.length; i++) {
            boolean cellOutput = i == 2;
            gates[i] = new ScalarGate(acts.get(i), cellOutput ? Float.POSITIVE_INFINITY : s.variant().clip());
        }
        return gates;
    }

    /** {@code act(clamp(pre, -clip, clip))}. */
    float apply(float pre) {
        double x = Math.max(-clip, Math.min(clip, pre));
        if (Float.isNaN(pre)) {
            x = pre;
        }
        return (float) value(x);
    }

    /** d apply / d pre at {@code pre}: 0 outside the clip bounds (the bounds themselves let the gradient through). */
    float slope(float pre) {
        if (Math.abs(pre) > clip) {
            return 0f;
        }
        return (float) derivative(pre);
    }

    private double value(double x) {
        double a = activation.alpha(), b = activation.beta();
        return switch (activation.function()) {
            case SIGMOID -> 1.0 / (1.0 + Math.exp(-x));
            case TANH -> Math.tanh(x);
            case RELU -> x > 0 || Double.isNaN(x) ? x : 0.0;
            case HARD_SIGMOID -> Math.min(1.0, Math.max(0.0, a * x + b));
            case AFFINE -> a * x + b;
            case LEAKY_RELU -> x >= 0 ? x : a * x;
            case THRESHOLDED_RELU -> x > a ? x : 0.0;
            case SCALED_TANH -> a * Math.tanh(b * x);
            case ELU -> x >= 0 ? x : a * Math.expm1(x);
            case SOFTSIGN -> x / (1.0 + Math.abs(x));
            case SOFTPLUS -> Math.max(x, 0.0) + Math.log1p(Math.exp(-Math.abs(x))); // no overflow for large x
        };
    }

    private double derivative(double x) {
        double a = activation.alpha(), b = activation.beta();
        return switch (activation.function()) {
            case SIGMOID -> {
                double s = 1.0 / (1.0 + Math.exp(-x));
                yield s * (1.0 - s);
            }
            case TANH -> {
                double t = Math.tanh(x);
                yield 1.0 - t * t;
            }
            case RELU -> x > 0 ? 1.0 : 0.0;
            case HARD_SIGMOID -> {
                double y = a * x + b;
                yield y > 0.0 && y < 1.0 ? a : 0.0;
            }
            case AFFINE -> a;
            case LEAKY_RELU -> x >= 0 ? 1.0 : a;
            case THRESHOLDED_RELU -> x > a ? 1.0 : 0.0;
            case SCALED_TANH -> {
                double t = Math.tanh(b * x);
                yield a * b * (1.0 - t * t);
            }
            case ELU -> x >= 0 ? 1.0 : a * Math.exp(x);
            case SOFTSIGN -> {
                double d = 1.0 + Math.abs(x);
                yield 1.0 / (d * d);
            }
            case SOFTPLUS -> 1.0 / (1.0 + Math.exp(-x));
        };
    }
}
