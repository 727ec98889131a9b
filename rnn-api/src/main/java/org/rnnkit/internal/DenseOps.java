package org.rnnkit.internal;

import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.MatrixView;

/**
 * A fully connected layer's passes ({@code y = x W^T + b}, PyTorch's {@code nn.Linear}) and softmax
 * cross-entropy on a backend's {@link DenseKernel}: shared by {@code Linear} and the training loop of
 * {@code SequenceModel}, which keeps its head's parameters live. Arrays are row-major and unchecked here:
 * callers have checked the shapes, and the kernel checks every bound. Not exported: not API.
 *
 * <p>Thread safety: stateless.
 */
public final class DenseOps {
    private DenseOps() {}

    /** {@code y (rows x out) = x (rows x in) W^T + b}, {@code W} being {@code (out x in)} and {@code b} null for none. */
    public static void linear(DenseKernel k, float[] x, int rows, int in, float[] w, float[] b, int out, float[] y) {
        if (b != null) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(b, 0, y, r * out, out);
            }
        }
        k.multiply(new MatrixView().rowMajor(x, 0, rows, in), new MatrixView().transposeOf(w, 0, in, out, in),
                new MatrixView().rowMajor(y, 0, rows, out), b != null);
    }

    /**
     * The gradients of {@link #linear} for upstream gradient {@code gy (rows x out)}: {@code gw = gy^T x}
     * ({@code out x in}), {@code gb} the column sums of {@code gy} (skipped when null), and
     * {@code gx = gy W} ({@code rows x in}, skipped when null). All written, not added to.
     */
    public static void linearBackward(DenseKernel k, float[] x, int rows, int in, float[] w, int out, float[] gy,
            float[] gw, float[] gb, float[] gx) {
        k.multiply(new MatrixView().transposeOf(gy, 0, out, rows, out), new MatrixView().rowMajor(x, 0, rows, in),
                new MatrixView().rowMajor(gw, 0, out, in), false);
        if (gb != null) {
            java.util.Arrays.fill(gb, 0, out, 0f);
            for (int r = 0; r < rows; r++) {
                int o = r * out;
                for (int j = 0; j < out; j++) {
                    gb[j] += gy[o + j];
                }
            }
        }
        if (gx != null) {
            k.multiply(new MatrixView().rowMajor(gy, 0, rows, out), new MatrixView().rowMajor(w, 0, out, in),
                    new MatrixView().rowMajor(gx, 0, rows, in), false);
        }
    }

    /**
     * Softmax cross-entropy with mean reduction over the counted rows of {@code rows} rows of {@code classes}
     * logits: returns the loss (summed in double) and writes {@code dL/dz} into {@code grad} (may be {@code z}
     * itself), using {@code lse} ({@code rows} floats) as scratch. The rows form a time-major {@code (T, batch)}
     * grid; row {@code t*batch + b} counts when {@code t < lengths[b]} (every row when {@code lengths} is null),
     * as PyTorch's {@code ignore_index} does with padding: the other rows get a zero gradient and need no valid
     * target. Targets are checked first, before anything is written.
     *
     * @throws IllegalArgumentException naming the first counted target outside {@code 0..classes-1}
     */
    public static double crossEntropy(DenseKernel k, float[] z, int rows, int classes, int[] targets, float[] grad,
            float[] lse, int[] lengths, int batch) {
        int counted = 0;
        for (int r = 0; r < rows; r++) {
            if (counts(r, lengths, batch)) {
                counted++;
                if (targets[r] < 0 || targets[r] >= classes) {
                    throw new IllegalArgumentException("targets[" + r + "]: expected a class in 0.." + (classes - 1)
                            + ", got " + targets[r]);
                }
            }
        }
        if (counted == 0) {
            throw new IllegalArgumentException("targets: expected at least one counted row, got none of " + rows);
        }
        double total = 0;
        for (int r = 0; r < rows; r++) {
            if (counts(r, lengths, batch)) {
                total += z[r * classes + targets[r]]; // read before grad may overwrite z
            }
        }
        k.softmax(new MatrixView().rowMajor(z, 0, rows, classes), new MatrixView().rowMajor(grad, 0, rows, classes),
                lse, 0);
        float scale = 1f / counted;
        double sumLse = 0;
        for (int r = 0; r < rows; r++) {
            int o = r * classes;
            if (counts(r, lengths, batch)) {
                sumLse += lse[r];
                for (int j = 0; j < classes; j++) {
                    grad[o + j] *= scale;
                }
                grad[o + targets[r]] -= scale;
            } else {
                java.util.Arrays.fill(grad, o, o + classes, 0f);
            }
        }
        return (sumLse - total) / counted;
    }

    private static boolean counts(int row, int[] lengths, int batch) {
        return lengths == null || row / batch < lengths[row % batch];
    }
}
