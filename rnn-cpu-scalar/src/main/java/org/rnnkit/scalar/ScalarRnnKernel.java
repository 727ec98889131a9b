package org.rnnkit.scalar;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;

/**
 * Elman RNN: {@code h' = act(gx + W_hh h + b_hh)}, act = tanh or relu (PyTorch's {@code nn.RNN}), or a
 * variant's activation of the clipped pre-activation.
 * Tape slot: incoming h (H), new h (H), and for a variant the pre-activation (H).
 */
final class ScalarRnnKernel extends ScalarKernel {
    private final boolean relu;

    ScalarRnnKernel(boolean relu) {
        super(relu ? org.rnnkit.spi.Recurrence.RNN_RELU : org.rnnkit.spi.Recurrence.RNN_TANH);
        this.relu = relu;
    }

    @Override
    int stepScratch(KernelShape s) {
        return s.hiddenSize(); // W_hh h + b_hh
    }

    @Override
    int tapeStride(KernelShape s) {
        return (s.variant().isDefault() ? 2 : 3) * s.hiddenSize();
    }

    @Override
    void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff, float[] scratch, int so,
            float[] tape, int tp) {
        int hid = w.shape().hiddenSize();
        recurrentProjection(w, h, hOff, scratch, so);
        ScalarGate f = w.variant() ? w.gates()[0] : null;
        for (int j = 0; j < hid; j++) {
            float pre = gx[gxOff + j] + scratch[so + j];
            if (f != null) {
                h[hOff + j] = f.apply(pre);
                if (tp >= 0) {
                    tape[tp + 2 * hid + j] = pre;
                }
            } else {
                h[hOff + j] = relu ? ScalarMath.relu(pre) : ScalarMath.tanh(pre);
            }
        }
        if (tp >= 0) {
            System.arraycopy(h, hOff, tape, tp + hid, hid);
        }
    }

    @Override
    void stepBack(Weights w, float[] tape, int tp, float[] dh, int dhOff, float[] dc, int dcOff,
            float[] ws, int dgx, int dgh, int dhDirect, int extra, DirectionWeights grads) {
        int hid = w.shape().hiddenSize();
        ScalarGate f = w.variant() ? w.gates()[0] : null;
        for (int j = 0; j < hid; j++) {
            float hNew = tape[tp + hid + j];
            // relu'(x) = 1 where the output is positive; tanh'(x) = 1 - tanh(x)^2
            float da = f != null ? dh[dhOff + j] * f.slope(tape[tp + 2 * hid + j])
                    : relu ? (hNew > 0f ? dh[dhOff + j] : 0f) : dh[dhOff + j] * (1f - hNew * hNew);
            ws[dgx + j] = da;
            ws[dgh + j] = da;
            ws[dhDirect + j] = 0f;
        }
    }
}
