package org.rnnkit.scalar;

import java.util.Arrays;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.StateView;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.Scratch;

/**
 * The loops every scalar kernel shares. Forward: project all inputs once ({@code gx = W_ih x + b_ih} for
 * every valid step), then walk the steps row by row, letting the subclass apply one cell step. Backward:
 * walk each row's steps back in time, letting the subclass turn {@code dh} (and {@code dc}) into gate
 * gradients, and accumulate the weight, input and state gradients here.
 *
 * <p>Forward workspace (floats from {@code wsOff}): {@code gx} of {@code T*B*G*H}, then
 * {@link #stepScratch}. Backward workspace: {@code dgx} and {@code dgh} ({@code G*H} each), {@code dhDirect}
 * ({@code hOut}), then {@code H} for the LSTM projection. Tape: one slot of {@link #tapeStride} floats per
 * (step, row), starting with the step's incoming {@code h} ({@code hOut} floats); the rest is the subclass's.
 */
abstract class ScalarKernel extends RecurrentKernel<ScalarKernel.Weights> {

    ScalarKernel(Recurrence type) {
        super(type, Weights.class);
    }

    /**
     * Weights kept in PyTorch's own layout: the reference reads them as the equations are written.
     * {@code gates}: the activation slots of a cell variant, or null for PyTorch's form.
     */
    record Weights(KernelShape shape, DirectionWeights w, ScalarGate[] gates) implements PreparedWeights {
        boolean variant() {
            return gates != null;
        }
    }

    @Override
    protected Weights pack(KernelShape shape, DirectionWeights weights) {
        return new Weights(shape, weights, shape.variant().isDefault() ? null : ScalarGate.of(shape));
    }

    /** The reference runs every variant: PyTorch's form on the paths PyTorch's rounding fixed, the rest beside them. */
    @Override
    protected boolean supports(org.rnnkit.variant.CellVariant variant) {
        return true;
    }

    /** Floats of per-step forward scratch this cell type needs. */
    abstract int stepScratch(KernelShape s);

    /** Floats of tape per (step, row), including the leading {@code hOut} of the incoming {@code h}. */
    abstract int tapeStride(KernelShape s);

    @Override
    public long workspaceSize(KernelShape s, int seqLen, int batch) {
        long fwd = (long) seqLen * batch * s.gateRows() + stepScratch(s);
        long bwd = 2L * s.gateRows() + s.hOut() + s.hiddenSize();
        return Math.max(fwd, bwd);
    }

    @Override
    public long tapeSize(KernelShape s, int seqLen, int batch) {
        return (long) seqLen * batch * tapeStride(s);
    }

    /**
     * One cell step for one batch row: reads {@code gx[gxOff .. gxOff+G*H)} and the old state, writes the
     * new state into {@code h[hOff..]} (and {@code c[cOff..]}). With {@code tp >= 0}, records its slot of
     * the tape after the incoming {@code h}, which the caller has already stored at {@code tape[tp..]}.
     */
    abstract void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff,
            float[] scratch, int scratchOff, float[] tape, int tp);

    /**
     * One step back for one batch row. In: {@code dh[dhOff..]} = dL/dh after the step (hOut), and for the
     * LSTM {@code dc[dcOff..]} = dL/dc after the step. Out: {@code dgx} and {@code dgh} (G*H each, the
     * gradients of the input-side and hidden-side pre-activations), {@code dhDirect} (the part of dL/dh
     * before the step that does not go through {@code W_hh}), {@code dc} = dL/dc before the step, and any
     * projection gradient added to {@code grads}.
     */
    abstract void stepBack(Weights w, float[] tape, int tp, float[] dh, int dhOff, float[] dc, int dcOff,
            float[] ws, int dgx, int dgh, int dhDirect, int extra, DirectionWeights grads);

    @Override
    protected final void runForward(Weights w, SequenceGeometry seq, SequenceView x, SequenceView out,
            StateView state, Scratch scratch) {
        final int seqLen = seq.seqLen(), batch = seq.batch();
        final float[] h = state.h(), c = state.c();
        final int hOff = state.hOffset(), cOff = state.cOffset();
        final float[] tape = scratch.tape(), ws = scratch.ws();
        final int tapeOff = scratch.tapeOffset(), wsOff = scratch.wsOffset();
        KernelShape s = w.shape();
        int rows = s.gateRows(), in = s.inputSize(), hOut = s.hOut(), hid = s.hiddenSize();
        int stride = tapeStride(s);
        int scratchOff = wsOff + seqLen * batch * rows;

        // gx[t, b, :] = W_ih x[t, b] + b_ih for every valid step
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                if (t >= seq.length(b)) {
                    continue;
                }
                int g = wsOff + (t * batch + b) * rows;
                for (int r = 0; r < rows; r++) {
                    float v = ScalarMath.dot(w.w().weightIh(), r * in, x.data(), x.row(t, b), in);
                    ws[g + r] = s.bias() ? v + w.w().biasIh()[r] : v;
                }
            }
        }
        // the recurrence; row b runs its own steps 0..len-1 (reverse: len-1..0)
        for (int step = 0; step < seqLen; step++) {
            for (int b = 0; b < batch; b++) {
                int len = seq.length(b);
                if (step >= len) {
                    continue;
                }
                int t = seq.reverse() ? len - 1 - step : step;
                int tp = -1;
                if (tape != null) {
                    tp = tapeOff + (t * batch + b) * stride;
                    System.arraycopy(h, hOff + b * hOut, tape, tp, hOut);
                }
                step(w, ws, wsOff + (t * batch + b) * rows, h, hOff + b * hOut, c, cOff + b * hid, ws, scratchOff,
                        tape, tp);
                if (out != null) {
                    System.arraycopy(h, hOff + b * hOut, out.data(), out.row(t, b), hOut);
                }
            }
        }
        // padded steps of shorter rows are zeros
        if (out != null && seq.lengths() != null) {
            for (int b = 0; b < batch; b++) {
                for (int t = seq.length(b); t < seqLen; t++) {
                    int o = out.row(t, b);
                    Arrays.fill(out.data(), o, o + hOut, 0f);
                }
            }
        }
    }

    @Override
    protected final void runBackward(Weights w, SequenceGeometry seq, SequenceView x, SequenceView dOut,
            StateView dState, SequenceView dx, DirectionWeights grads, Scratch scratch) {
        final int batch = seq.batch();
        final float[] dh = dState.h(), dc = dState.c();
        final int dhOff = dState.hOffset(), dcOff = dState.cOffset();
        final float[] tape = scratch.tape(), ws = scratch.ws();
        final int tapeOff = scratch.tapeOffset(), wsOff = scratch.wsOffset();
        KernelShape s = w.shape();
        int rows = s.gateRows(), in = s.inputSize(), hOut = s.hOut(), hid = s.hiddenSize();
        int stride = tapeStride(s);
        int dgx = wsOff, dgh = wsOff + rows, dhDirect = wsOff + 2 * rows, extra = dhDirect + hOut;
        float[] wIh = w.w().weightIh(), wHh = w.w().weightHh();

        for (int b = 0; b < batch; b++) {
            int len = seq.length(b);
            int dhRow = dhOff + b * hOut, dcRow = dcOff + b * hid;
            for (int step = len - 1; step >= 0; step--) {
                int t = seq.reverse() ? len - 1 - step : step;
                int tp = tapeOff + (t * batch + b) * stride;
                if (dOut != null) {
                    float[] g = dOut.data();
                    int o = dOut.row(t, b);
                    for (int j = 0; j < hOut; j++) {
                        dh[dhRow + j] += g[o + j];
                    }
                }
                stepBack(w, tape, tp, dh, dhRow, dc, dcRow, ws, dgx, dgh, dhDirect, extra, grads);

                int xRow = x.row(t, b);
                for (int r = 0; r < rows; r++) {
                    float gi = ws[dgx + r], gh = ws[dgh + r];
                    axpy(gi, x.data(), xRow, grads.weightIh(), r * in, in);
                    axpy(gh, tape, tp, grads.weightHh(), r * hOut, hOut); // the incoming h heads the slot
                    if (s.bias()) {
                        grads.biasIh()[r] += gi;
                        grads.biasHh()[r] += gh;
                    }
                }
                if (dx != null) {
                    float[] dxa = dx.data();
                    int d = dx.row(t, b);
                    for (int i = 0; i < in; i++) {
                        float sum = 0f;
                        for (int r = 0; r < rows; r++) {
                            sum += wIh[r * in + i] * ws[dgx + r];
                        }
                        dxa[d + i] += sum;
                    }
                }
                for (int j = 0; j < hOut; j++) {
                    float sum = 0f;
                    for (int r = 0; r < rows; r++) {
                        sum += wHh[r * hOut + j] * ws[dgh + r];
                    }
                    dh[dhRow + j] = ws[dhDirect + j] + sum;
                }
            }
        }
    }

    /** {@code y[yOff+i] += a * x[xOff+i]} for {@code i < n}. */
    static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += a * x[xOff + i];
        }
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
