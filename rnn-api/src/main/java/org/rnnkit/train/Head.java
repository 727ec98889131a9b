package org.rnnkit.train;

import java.util.Map;
import org.rnnkit.backend.Backend;
import org.rnnkit.internal.DenseOps;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.nn.Linear;
import org.rnnkit.spi.DenseKernel;
import org.rnnkit.tensor.Tensor;

/**
 * A model's linear head over live parameters ({@code y = W h + b}, the seeds' {@code y = W_hy h + b_y}) with
 * softmax cross-entropy, on the backend's dense kernel, and the buffers of its passes kept from one step to
 * the next: what {@link SequenceModel}, {@link Seq2Seq} and {@link OneToMany} share.
 *
 * <p>Thread safety: not thread-safe; it belongs to one model.
 */
final class Head {
    private final DenseKernel dense;
    private final Backend backend;
    private final Tensor weight, bias; // live
    final int in, classes;
    final Tensor weightGrad, biasGrad;
    private Tensor logits, logitGrad, featureGrad;
    private float[] logSumExp = new float[0];

    Head(Backend backend, Tensor weight, Tensor bias) {
        this.backend = backend;
        this.dense = KernelAccess.kernels(backend).dense();
        this.weight = weight;
        this.bias = bias;
        this.classes = weight.dim(0);
        this.in = weight.dim(1);
        this.weightGrad = Tensor.zeros(classes, in);
        this.biasGrad = Tensor.zeros(classes);
    }

    /**
     * Logits of {@code features} ({@code (..., in)}), the mean cross-entropy against {@code targets} over the
     * rows that count ({@code lengths}: see {@link DenseOps#crossEntropy(DenseKernel, float[], int, int, int[],
     * float[], float[], int[], int)}), and the gradients of the head's parameters and of the features. The
     * returned loss's tensors ({@link #logits()}, {@link #featureGrad()}) are rewritten by the next call.
     */
    double lossAndGradients(Tensor features, int[] targets, int[] lengths, int batch) {
        int rows = features.size() / in;
        int[] logitShape = features.shape();
        logitShape[logitShape.length - 1] = classes;
        if (targets.length != rows) {
            throw new IllegalArgumentException("targets: expected " + rows + " class indices (one per row of logits "
                    + Tensor.shapeString(logitShape) + "), got " + targets.length);
        }
        logits = sized(logits, logitShape);
        logitGrad = sized(logitGrad, logitShape);
        featureGrad = sized(featureGrad, features.shape());
        if (logSumExp.length < rows) {
            logSumExp = new float[rows];
        }
        DenseOps.linear(dense, features.data(), rows, in, weight.data(), bias.data(), classes, logits.data());
        double loss = DenseOps.crossEntropy(dense, logits.data(), rows, classes, targets, logitGrad.data(), logSumExp,
                lengths, batch);
        DenseOps.linearBackward(dense, features.data(), rows, in, weight.data(), classes, logitGrad.data(),
                weightGrad.data(), biasGrad.data(), featureGrad.data());
        return loss;
    }

    /** The last {@link #lossAndGradients}' logits. */
    Tensor logits() {
        return logits;
    }

    /** The last {@link #lossAndGradients}' gradient of the features. */
    Tensor featureGrad() {
        return featureGrad;
    }

    /** Logits of {@code features} into a new tensor (inference). */
    Tensor forward(Tensor features) {
        int rows = features.size() / in;
        int[] shape = features.shape();
        shape[shape.length - 1] = classes;
        Tensor y = Tensor.zeros(shape);
        DenseOps.linear(dense, features.data(), rows, in, weight.data(), bias.data(), classes, y.data());
        return y;
    }

    /** An immutable {@link Linear} with copies of the current values. */
    Linear snapshot() {
        return Linear.of(Map.of("weight", weight, "bias", bias), backend);
    }

    static Tensor sized(Tensor t, int[] shape) {
        return t != null && t.sameShape(shape) ? t : Tensor.zeros(shape);
    }
}
