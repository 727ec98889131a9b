package org.rnnkit.train;

import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * How a training step clips its gradients before the optimizer sees them.
 *
 * <p>Thread safety: immutable.
 */
public sealed interface Clipping {
    /** Clips in place; returns the global 2-norm of the gradients before clipping. */
    double apply(Map<String, Tensor> grads);

    /** No clipping. */
    static Clipping none() {
        return new None();
    }

    /** {@code clip_grad_norm_(max_norm)}: scale all gradients so their global 2-norm is at most {@code maxNorm}. */
    static Clipping byNorm(double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("maxNorm: expected > 0, got " + maxNorm);
        }
        return new ByNorm(maxNorm);
    }

    /** {@code clip_grad_value_(clip_value)}: clamp every element to {@code [-v, v]}. */
    static Clipping byValue(double v) {
        if (!(v > 0)) {
            throw new IllegalArgumentException("clipValue: expected > 0, got " + v);
        }
        return new ByValue(v);
    }

    /** No clipping. */
    record None() implements Clipping {
        @Override
        public double apply(Map<String, Tensor> grads) {
            return GradientClipping.globalNorm(grads);
        }
    }

    /** Clip by global norm. */
    record ByNorm(double maxNorm) implements Clipping {
        @Override
        public double apply(Map<String, Tensor> grads) {
            return GradientClipping.clipByNorm(grads, maxNorm);
        }
    }

    /** Clip by value. */
    record ByValue(double clipValue) implements Clipping {
        @Override
        public double apply(Map<String, Tensor> grads) {
            double norm = GradientClipping.globalNorm(grads);
            GradientClipping.clipByValue(grads, clipValue);
            return norm;
        }
    }
}
