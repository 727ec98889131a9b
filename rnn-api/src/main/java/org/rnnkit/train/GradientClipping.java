package org.rnnkit.train;

import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * The remedies for exploding gradients, as PyTorch's {@code torch.nn.utils.clip_grad_norm_} and
 * {@code clip_grad_value_}.
 *
 * <p>Thread safety: stateless; the gradient tensors are written in place.
 */
public final class GradientClipping {
    private GradientClipping() {}

    /** The global 2-norm of all gradients, {@code sqrt(sum of squares)}, summed in double. */
    public static double globalNorm(Map<String, Tensor> grads) {
        double sum = 0;
        for (Tensor g : grads.values()) {
            for (float v : g.data()) {
                sum += (double) v * v;
            }
        }
        return Math.sqrt(sum);
    }

    /**
     * Scales every gradient by {@code min(1, maxNorm / (norm + 1e-6))}, where {@code norm} is the global
     * 2-norm, exactly as {@code clip_grad_norm_}; returns the norm before clipping.
     */
    public static double clipByNorm(Map<String, Tensor> grads, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("maxNorm: expected > 0, got " + maxNorm);
        }
        double norm = globalNorm(grads);
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

    /** Clamps every gradient element to {@code [-clipValue, clipValue]}, as {@code clip_grad_value_}. */
    public static void clipByValue(Map<String, Tensor> grads, double clipValue) {
        if (!(clipValue > 0)) {
            throw new IllegalArgumentException("clipValue: expected > 0, got " + clipValue);
        }
        float c = (float) clipValue;
        for (Tensor g : grads.values()) {
            float[] d = g.data();
            for (int i = 0; i < d.length; i++) {
                d[i] = Math.max(-c, Math.min(c, d[i]));
            }
        }
    }
}
