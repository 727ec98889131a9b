package org.rnnkit.scalar;

import org.rnnkit.spi.KernelShape;

/**
 * LSTM, gates {@code i, f, g, o} (PyTorch's {@code nn.LSTM}):
 * {@code c' = f*c + i*g}, {@code h' = o*tanh(c')}, and with {@code proj_size > 0}, {@code h' = W_hr h'}.
 */
final class ScalarLstmKernel extends ScalarKernel {

    @Override
    int stepScratch(KernelShape s) {
        return s.gateRows() + (s.projSize() > 0 ? s.hiddenSize() : 0); // gh, then o*tanh(c') before projection
    }

    @Override
    void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff, float[] sc, int so) {
        KernelShape s = w.shape();
        int hid = s.hiddenSize();
        recurrentProjection(w, h, hOff, sc, so); // reads the old h before anything is overwritten
        boolean proj = s.projSize() > 0;
        int full = so + s.gateRows(); // unprojected h' when projecting
        for (int j = 0; j < hid; j++) {
            float i = ScalarMath.sigmoid(gx[gxOff + j] + sc[so + j]);
            float f = ScalarMath.sigmoid(gx[gxOff + hid + j] + sc[so + hid + j]);
            float g = ScalarMath.tanh(gx[gxOff + 2 * hid + j] + sc[so + 2 * hid + j]);
            float o = ScalarMath.sigmoid(gx[gxOff + 3 * hid + j] + sc[so + 3 * hid + j]);
            float cNew = f * c[cOff + j] + i * g;
            c[cOff + j] = cNew;
            float hNew = o * ScalarMath.tanh(cNew);
            if (proj) {
                sc[full + j] = hNew;
            } else {
                h[hOff + j] = hNew;
            }
        }
        if (proj) {
            float[] whr = w.w().weightHr();
            for (int p = 0; p < s.projSize(); p++) {
                h[hOff + p] = ScalarMath.dot(whr, p * hid, sc, full, hid);
            }
        }
    }
}
