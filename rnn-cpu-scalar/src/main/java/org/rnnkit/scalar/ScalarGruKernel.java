package org.rnnkit.scalar;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;

/**
 * GRU, gates {@code r, z, n} (PyTorch's {@code nn.GRU}): {@code n = tanh(gx_n + r*(W_hn h + b_hn))},
 * {@code h' = (h - n)*z + n}, the form and rounding order of PyTorch's CPU cell.
 * Tape slot: incoming h (H), r z n (3H), {@code W_hn h + b_hn} (H).
 */
final class ScalarGruKernel extends ScalarKernel {
    ScalarGruKernel() {
        super(org.rnnkit.spi.Recurrence.GRU);
    }


    @Override
    int stepScratch(KernelShape s) {
        return s.gateRows(); // gh = W_hh h + b_hh, b_hn included: it stays inside r*(...)
    }

    @Override
    int tapeStride(KernelShape s) {
        return 5 * s.hiddenSize();
    }

    @Override
    void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff, float[] sc, int so,
            float[] tape, int tp) {
        int hid = w.shape().hiddenSize();
        recurrentProjection(w, h, hOff, sc, so);
        for (int j = 0; j < hid; j++) {
            float r = ScalarMath.sigmoid(gx[gxOff + j] + sc[so + j]);
            float z = ScalarMath.sigmoid(gx[gxOff + hid + j] + sc[so + hid + j]);
            float hn = sc[so + 2 * hid + j];
            float n = ScalarMath.tanh(gx[gxOff + 2 * hid + j] + r * hn);
            h[hOff + j] = (h[hOff + j] - n) * z + n;
            if (tp >= 0) {
                tape[tp + hid + j] = r;
                tape[tp + 2 * hid + j] = z;
                tape[tp + 3 * hid + j] = n;
                tape[tp + 4 * hid + j] = hn;
            }
        }
    }

    @Override
    void stepBack(Weights w, float[] tape, int tp, float[] dh, int dhOff, float[] dc, int dcOff,
            float[] ws, int dgx, int dgh, int dhDirect, int extra, DirectionWeights grads) {
        int hid = w.shape().hiddenSize();
        for (int j = 0; j < hid; j++) {
            float hPrev = tape[tp + j], r = tape[tp + hid + j], z = tape[tp + 2 * hid + j],
                    n = tape[tp + 3 * hid + j], hn = tape[tp + 4 * hid + j];
            float d = dh[dhOff + j];
            float dn = d * (1f - z), dz = d * (hPrev - n);
            float dan = dn * (1f - n * n);
            float dar = dan * hn * r * (1f - r), daz = dz * z * (1f - z);
            ws[dgx + j] = dar;
            ws[dgx + hid + j] = daz;
            ws[dgx + 2 * hid + j] = dan;
            ws[dgh + j] = dar;
            ws[dgh + hid + j] = daz;
            ws[dgh + 2 * hid + j] = dan * r; // b_hn and W_hn h sit inside r*(...)
            ws[dhDirect + j] = d * z;
        }
    }
}
