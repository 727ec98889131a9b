package org.rnnkit.scalar;

import org.rnnkit.spi.KernelShape;

/** Elman RNN: {@code h' = act(gx + W_hh h + b_hh)}, act = tanh or relu (PyTorch's {@code nn.RNN}). */
final class ScalarRnnKernel extends ScalarKernel {
    private final boolean relu;

    ScalarRnnKernel(boolean relu) {
        this.relu = relu;
    }

    @Override
    int stepScratch(KernelShape s) {
        return s.hiddenSize(); // W_hh h + b_hh
    }

    @Override
    void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff, float[] scratch, int so) {
        int hid = w.shape().hiddenSize();
        recurrentProjection(w, h, hOff, scratch, so);
        for (int j = 0; j < hid; j++) {
            float pre = gx[gxOff + j] + scratch[so + j];
            h[hOff + j] = relu ? ScalarMath.relu(pre) : ScalarMath.tanh(pre);
        }
    }
}
