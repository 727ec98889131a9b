package org.rnnkit.scalar;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;

/**
 * LSTM, gates {@code i, f, g, o} (PyTorch's {@code nn.LSTM}):
 * {@code c' = f*c + i*g}, {@code h' = o*tanh(c')}, and with {@code proj_size > 0}, {@code h' = W_hr h'}.
 * Tape slot: incoming h (hOut), i f g o (4H), incoming c (H), new c (H), and with projection the
 * unprojected {@code o*tanh(c')} (H).
 */
final class ScalarLstmKernel extends ScalarKernel {
    ScalarLstmKernel() {
        super(org.rnnkit.spi.Recurrence.LSTM);
    }


    @Override
    int stepScratch(KernelShape s) {
        return s.gateRows() + (s.projSize() > 0 ? s.hiddenSize() : 0); // gh, then o*tanh(c') before projection
    }

    @Override
    int tapeStride(KernelShape s) {
        return s.hOut() + 6 * s.hiddenSize() + (s.projSize() > 0 ? s.hiddenSize() : 0);
    }

    @Override
    void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff, float[] sc, int so,
            float[] tape, int tp) {
        KernelShape s = w.shape();
        int hid = s.hiddenSize();
        recurrentProjection(w, h, hOff, sc, so); // reads the old h before anything is overwritten
        boolean proj = s.projSize() > 0;
        int full = so + s.gateRows(); // unprojected h' when projecting
        int gates = tp + s.hOut(), cIn = gates + 4 * hid, cOut = cIn + hid, unproj = cOut + hid;
        for (int j = 0; j < hid; j++) {
            float i = ScalarMath.sigmoid(gx[gxOff + j] + sc[so + j]);
            float f = ScalarMath.sigmoid(gx[gxOff + hid + j] + sc[so + hid + j]);
            float g = ScalarMath.tanh(gx[gxOff + 2 * hid + j] + sc[so + 2 * hid + j]);
            float o = ScalarMath.sigmoid(gx[gxOff + 3 * hid + j] + sc[so + 3 * hid + j]);
            float cOld = c[cOff + j];
            float cNew = f * cOld + i * g;
            c[cOff + j] = cNew;
            float hNew = o * ScalarMath.tanh(cNew);
            if (proj) {
                sc[full + j] = hNew;
            } else {
                h[hOff + j] = hNew;
            }
            if (tp >= 0) {
                tape[gates + j] = i;
                tape[gates + hid + j] = f;
                tape[gates + 2 * hid + j] = g;
                tape[gates + 3 * hid + j] = o;
                tape[cIn + j] = cOld;
                tape[cOut + j] = cNew;
                if (proj) {
                    tape[unproj + j] = hNew;
                }
            }
        }
        if (proj) {
            float[] whr = w.w().weightHr();
            for (int p = 0; p < s.projSize(); p++) {
                h[hOff + p] = ScalarMath.dot(whr, p * hid, sc, full, hid);
            }
        }
    }

    @Override
    void stepBack(Weights w, float[] tape, int tp, float[] dh, int dhOff, float[] dc, int dcOff,
            float[] ws, int dgx, int dgh, int dhDirect, int extra, DirectionWeights grads) {
        KernelShape s = w.shape();
        int hid = s.hiddenSize(), hOut = s.hOut();
        int gates = tp + hOut, cIn = gates + 4 * hid, cOut = cIn + hid, unproj = cOut + hid;
        // dL/d(o*tanh(c')): through W_hr when projecting
        float[] dr = dh;
        int drOff = dhOff;
        if (s.projSize() > 0) {
            float[] whr = w.w().weightHr(), gHr = grads.weightHr();
            for (int j = 0; j < hid; j++) {
                float sum = 0f;
                for (int p = 0; p < hOut; p++) {
                    sum += whr[p * hid + j] * dh[dhOff + p];
                }
                ws[extra + j] = sum;
            }
            for (int p = 0; p < hOut; p++) {
                axpy(dh[dhOff + p], tape, unproj, gHr, p * hid, hid);
            }
            dr = ws;
            drOff = extra;
        }
        for (int j = 0; j < hid; j++) {
            float i = tape[gates + j], f = tape[gates + hid + j], g = tape[gates + 2 * hid + j],
                    o = tape[gates + 3 * hid + j];
            float tc = ScalarMath.tanh(tape[cOut + j]);
            float d = dr[drOff + j];
            float dct = dc[dcOff + j] + d * o * (1f - tc * tc);
            float di = dct * g, df = dct * tape[cIn + j], dg = dct * i, dO = d * tc;
            dc[dcOff + j] = dct * f;
            ws[dgx + j] = di * i * (1f - i);
            ws[dgx + hid + j] = df * f * (1f - f);
            ws[dgx + 2 * hid + j] = dg * (1f - g * g);
            ws[dgx + 3 * hid + j] = dO * o * (1f - o);
        }
        System.arraycopy(ws, dgx, ws, dgh, 4 * hid); // both sides see the same pre-activation
        java.util.Arrays.fill(ws, dhDirect, dhDirect + hOut, 0f);
    }
}
