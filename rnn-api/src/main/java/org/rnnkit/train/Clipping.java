package org.rnnkit.train;

import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * How a training step clips its gradients before the optimizer sees them: the remedies for exploding
 * gradients, exactly as PyTorch's {@code torch.nn.utils.clip_grad_norm_} and {@code clip_grad_value_}.
 *
 * <p>Thread safety: immutable; {@link #apply} writes the gradient tensors in place.
 */
public sealed interface Clipping {
    /** Clips in place; returns the global 2-norm of the gradients before clipping. */
    double apply(Map<String, Tensor> grads);

    /** No clipping. */
    static Clipping none() {
        return new None();
    }

    /**
     * {@code clip_grad_norm_(max_norm)}: scale every gradient by {@code min(1, maxNorm / (norm + 1e-6))},
     * where {@code norm} is the global 2-norm, so that it is at most {@code maxNorm}.
     */
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

    /**
     * The global 2-norm of all gradients, {@code sqrt(sum of squares)}, summed in double (exact products,
     * four interleaved partial sums: independent additions the CPU overlaps, where one chain would wait on
     * each addition's latency).
     */
    static double globalNorm(Map<String, Tensor> grads) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (Tensor g : grads.values()) {
            float[] d = g.data();
            int i = 0;
            for (; i + 4 <= d.length; i += 4) {
                s0 += (double) d[i] * d[i];
                s1 += (double) d[i + 1] * d[i + 1];
                s2 += (double) d[i + 2] * d[i + 2];
                s3 += (double) d[i + 3] * d[i + 3];
            }
            for (; i < d.length; i++) {
                s0 += (double) d[i] * d[i];
            }
        }
        return Math.sqrt((s0 + s1) + (s2 + s3));
    }

    /** See {@link #none()}. */
    record None() implements Clipping {
        @Override
        public double apply(Map<String, Tensor> grads) {
            return globalNorm(grads);
        }
    }

    /** See {@link #byNorm(double)}. */
    record ByNorm(double maxNorm) implements Clipping {
        @Override
        public double apply(Map<String, Tensor> grads) {
            double norm = globalNorm(grads);
            // PyTorch computes the coefficient in the gradients' dtype: float32
            float coef = (float) Math.min(1.0, maxNorm / ((float) norm + 1e-6));
            if (coef < 1f) {
                for (Tensor g : grads.values()) {
                    float[] d = g.data();
                    for (int i = 0; i < d.length; i++) {
                        d[i] *= coef;
                    }
                }
            }
            return norm;
        }
    }

    /** See {@link #byValue(double)}. */
    record ByValue(double clipValue) implements Clipping {
        @Override
        public double apply(Map<String, Tensor> grads) {
            double norm = globalNorm(grads);
            float c = (float) clipValue;
            for (Tensor g : grads.values()) {
                float[] d = g.data();
                for (int i = 0; i < d.length; i++) {
                    d[i] = Math.max(-c, Math.min(c, d[i]));
                }
            }
            return norm;
        }
    }
}
