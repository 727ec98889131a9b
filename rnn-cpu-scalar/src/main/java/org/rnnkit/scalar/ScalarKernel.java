package org.rnnkit.scalar;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;

/**
 * The loop every scalar kernel shares: project all inputs once ({@code gx = W_ih x + b_ih} for every
 * valid step), then walk the time steps row by row, letting the subclass apply one cell step.
 *
 * <p>Workspace layout (floats from {@code wsOff}): {@code gx} of {@code T*B*G*H}, then {@link #stepScratch}
 * floats for the step.
 */
abstract class ScalarKernel implements RecurrentKernel {

    /** Weights kept in PyTorch's own layout: the reference reads them as the equations are written. */
    record Weights(KernelShape shape, DirectionWeights w) implements PreparedWeights {}

    @Override
    public PreparedWeights prepare(KernelShape shape, DirectionWeights weights) {
        return new Weights(shape, weights);
    }

    /** Floats of per-step scratch this cell type needs. */
    abstract int stepScratch(KernelShape s);

    @Override
    public long workspaceSize(KernelShape s, int seqLen, int batch) {
        return (long) seqLen * batch * s.gateRows() + stepScratch(s);
    }

    /**
     * One cell step for one batch row: reads {@code gx[gxOff .. gxOff+G*H)} and the old state, writes the
     * new state into {@code h[hOff..]} (and {@code c[cOff..]}).
     */
    abstract void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff,
            float[] scratch, int scratchOff);

    @Override
    public final void forward(PreparedWeights prepared, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff,
            float[] ws, int wsOff) {
        Weights w = (Weights) prepared;
        KernelShape s = w.shape();
        int rows = s.gateRows(), in = s.inputSize(), hOut = s.hOut(), hid = s.hiddenSize();
        int scratchOff = wsOff + seqLen * batch * rows;

        // gx[t, b, :] = W_ih x[t, b] + b_ih for every valid step
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                if (t >= length(lengths, b, seqLen)) {
                    continue;
                }
                int xRow = xOff + t * xTimeStride + b * xBatchStride;
                int g = wsOff + (t * batch + b) * rows;
                for (int r = 0; r < rows; r++) {
                    float v = ScalarMath.dot(w.w().weightIh(), r * in, x, xRow, in);
                    ws[g + r] = s.bias() ? v + w.w().biasIh()[r] : v;
                }
            }
        }
        // the recurrence; row b runs its own steps 0..len-1 (reverse: len-1..0)
        for (int step = 0; step < seqLen; step++) {
            for (int b = 0; b < batch; b++) {
                int len = length(lengths, b, seqLen);
                if (step >= len) {
                    continue;
                }
                int t = reverse ? len - 1 - step : step;
                step(w, ws, wsOff + (t * batch + b) * rows, h, hOff + b * hOut, c, cOff + b * hid, ws, scratchOff);
                if (out != null) {
                    System.arraycopy(h, hOff + b * hOut, out, outOff + t * outTimeStride + b * outBatchStride, hOut);
                }
            }
        }
        // padded steps of shorter rows are zeros
        if (out != null && lengths != null) {
            for (int b = 0; b < batch; b++) {
                for (int t = lengths[b]; t < seqLen; t++) {
                    int o = outOff + t * outTimeStride + b * outBatchStride;
                    java.util.Arrays.fill(out, o, o + hOut, 0f);
                }
            }
        }
    }

    private static int length(int[] lengths, int b, int seqLen) {
        return lengths == null ? seqLen : lengths[b];
    }

    /** {@code dst[r] = W_hh[r] . h + b_hh[r]} for all gate rows: the recurrent pre-activations. */
    static void recurrentProjection(Weights w, float[] h, int hOff, float[] dst, int dstOff) {
        KernelShape s = w.shape();
        int rows = s.gateRows(), hOut = s.hOut();
        for (int r = 0; r < rows; r++) {
            float v = ScalarMath.dot(w.w().weightHh(), r * hOut, h, hOff, hOut);
            dst[dstOff + r] = s.bias() ? v + w.w().biasHh()[r] : v;
        }
    }
}
