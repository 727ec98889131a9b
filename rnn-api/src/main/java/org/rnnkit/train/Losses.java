package org.rnnkit.train;

import java.util.Objects;
import org.rnnkit.tensor.Tensor;

/**
 * Losses with PyTorch's default (mean) reduction: {@code F.mse_loss} and {@code F.cross_entropy}.
 * Sums run in double and results are rounded once, so they are at least as accurate as PyTorch's float32.
 *
 * <p>Thread safety: stateless.
 */
public final class Losses {
    private Losses() {}

    /** {@code mean((prediction - target)^2)} over all elements. */
    public static Loss mse(Tensor prediction, Tensor target) {
        Objects.requireNonNull(prediction, "prediction");
        Objects.requireNonNull(target, "target");
        if (!target.sameShape(prediction.shape())) {
            throw new IllegalArgumentException("target: expected shape " + prediction.shapeString() + ", got "
                    + target.shapeString());
        }
        float[] p = prediction.data(), t = target.data();
        if (p.length == 0) {
            throw new IllegalArgumentException("prediction: expected at least one element, got " + prediction.shapeString());
        }
        Tensor grad = Tensor.zeros(prediction.shape());
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            double d = (double) p[i] - t[i];
            sum += d * d;
            grad.data()[i] = (float) (2 * d / p.length);
        }
        return new Loss(sum / p.length, grad);
    }

    /**
     * Softmax cross-entropy, {@code mean over rows of -log softmax(logits)[target]}: {@code logits} is
     * {@code (..., C)}, {@code targets} holds one class in {@code 0..C-1} per row (the product of the
     * leading axes).
     */
    public static Loss crossEntropy(Tensor logits, int[] targets) {
        Objects.requireNonNull(logits, "logits");
        Objects.requireNonNull(targets, "targets");
        if (logits.rank() < 1 || logits.dim(-1) < 1) {
            throw new IllegalArgumentException("logits: expected (..., C) with C >= 1, got " + logits.shapeString());
        }
        int classes = logits.dim(-1), rows = logits.size() / classes;
        if (targets.length != rows || rows == 0) {
            throw new IllegalArgumentException("targets: expected " + rows + " class indices (one per row of logits "
                    + logits.shapeString() + "), got " + targets.length);
        }
        float[] z = logits.data();
        Tensor grad = Tensor.zeros(logits.shape());
        float[] g = grad.data();
        double total = 0;
        for (int n = 0; n < rows; n++) {
            int y = targets[n];
            if (y < 0 || y >= classes) {
                throw new IllegalArgumentException("targets[" + n + "]: expected a class in 0.." + (classes - 1)
                        + ", got " + y);
            }
            int o = n * classes;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, z[o + c]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(z[o + c] - max);
            }
            double logSum = max + Math.log(sum);
            total += logSum - z[o + y];
            for (int c = 0; c < classes; c++) {
                double p = Math.exp(z[o + c] - logSum);
                g[o + c] = (float) ((p - (c == y ? 1 : 0)) / rows);
            }
        }
        return new Loss(total / rows, grad);
    }
}
