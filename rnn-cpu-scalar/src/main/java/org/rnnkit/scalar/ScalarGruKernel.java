package org.rnnkit.scalar;

import org.rnnkit.spi.KernelShape;

/**
 * GRU, gates {@code r, z, n} (PyTorch's {@code nn.GRU}): {@code n = tanh(gx_n + r*(W_hn h + b_hn))},
 * {@code h' = (h - n)*z + n}, the form and rounding order of PyTorch's CPU cell.
 */
final class ScalarGruKernel extends ScalarKernel {

    @Override
    int stepScratch(KernelShape s) {
        return s.gateRows(); // gh = W_hh h + b_hh, b_hn included: it stays inside r*(...)
    }

    @Override
    void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff, float[] sc, int so) {
        int hid = w.shape().hiddenSize();
        recurrentProjection(w, h, hOff, sc, so);
        for (int j = 0; j < hid; j++) {
            float r = ScalarMath.sigmoid(gx[gxOff + j] + sc[so + j]);
            float z = ScalarMath.sigmoid(gx[gxOff + hid + j] + sc[so + hid + j]);
            float n = ScalarMath.tanh(gx[gxOff + 2 * hid + j] + r * sc[so + 2 * hid + j]);
            h[hOff + j] = (h[hOff + j] - n) * z + n;
        }
    }
}
