package org.rnnkit.scalar;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;

/**
 * LSTM, gates {@code i, f, g, o} (PyTorch's {@code nn.LSTM}):
 * {@code c' = f*c + i*g}, {@code h' = o*tanh(c')}, and with {@code proj_size > 0}, {@code h' = W_hr h'}.
 * Tape slot: incoming h (hOut), i f g o (4H), incoming c (H), new c (H), with projection the
 * unprojected {@code o*tanh(c')} (H), and for a variant the four pre-activations (4H).
 *
 * <p>A variant ({@link org.rnnkit.variant.CellVariant}) runs beside PyTorch's form:
 * {@code i = f(clip(a_i + p_i*c))}, {@code f = 1 - i} (coupled) or {@code f(clip(a_f + p_f*c))},
 * {@code g = g(clip(a_g))}, {@code c' = f*c + i*g}, {@code o = f(clip(a_o + p_o*c'))}, {@code h' = o*h(c')}.
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
        return s.hOut() + 6 * s.hiddenSize() + (s.projSize() > 0 ? s.hiddenSize() : 0)
                + (s.variant().isDefault() ? 0 : 4 * s.hiddenSize());
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
        if (w.variant()) {
            variantGates(w, gx, gxOff, sc, so, c, cOff, proj ? sc : h, proj ? full : hOff, tape, tp);
        } else for (int j = 0; j < hid; j++) {
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

    /**
     * The variant's gates for one row: pre-activations {@code gx + gh} (plus peepholes), new {@code c} in
     * place, the unprojected {@code h'} into {@code hNew[hOff..]}, and the tape as PyTorch's form records
     * it plus the pre-activations.
     */
    private static void variantGates(Weights w, float[] gx, int gxOff, float[] gh, int so, float[] c, int cOff,
            float[] hNew, int hOff, float[] tape, int tp) {
        KernelShape s = w.shape();
        int hid = s.hiddenSize();
        ScalarGate fs = w.gates()[0], gs = w.gates()[1], hs = w.gates()[2];
        boolean coupled = s.variant().inputForget();
        float[] p = s.variant().peepholes() ? w.w().peephole() : null;
        int gates = tp + s.hOut(), cIn = gates + 4 * hid, cOut = cIn + hid;
        int pre = cOut + hid + (s.projSize() > 0 ? hid : 0);
        for (int j = 0; j < hid; j++) {
            float cOld = c[cOff + j];
            float ai = gx[gxOff + j] + gh[so + j], af = gx[gxOff + hid + j] + gh[so + hid + j];
            float ag = gx[gxOff + 2 * hid + j] + gh[so + 2 * hid + j], ao = gx[gxOff + 3 * hid + j] + gh[so + 3 * hid + j];
            if (p != null) {
                ai += p[j] * cOld;
                af += p[hid + j] * cOld;
            }
            float i = fs.apply(ai);
            float f = coupled ? 1f - i : fs.apply(af);
            float g = gs.apply(ag);
            float cNew = f * cOld + i * g;
            if (p != null) {
                ao += p[2 * hid + j] * cNew; // the output gate sees the new cell state
            }
            float o = fs.apply(ao);
            c[cOff + j] = cNew;
            hNew[hOff + j] = o * hs.apply(cNew);
            if (tp >= 0) {
                tape[gates + j] = i;
                tape[gates + hid + j] = f;
                tape[gates + 2 * hid + j] = g;
                tape[gates + 3 * hid + j] = o;
                tape[cIn + j] = cOld;
                tape[cOut + j] = cNew;
                if (s.projSize() > 0) {
                    tape[cOut + hid + j] = hNew[hOff + j];
                }
                tape[pre + j] = ai;
                tape[pre + hid + j] = af;
                tape[pre + 2 * hid + j] = ag;
                tape[pre + 3 * hid + j] = ao;
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
        if (w.variant()) {
            variantGatesBack(w, tape, tp, dr, drOff, dc, dcOff, ws, dgx, grads);
        } else for (int j = 0; j < hid; j++) {
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

    /**
     * The backward of {@link #variantGates}: from {@code dr} = dL/d(unprojected h') and {@code dc} = dL/dc'
     * to the pre-activation gradients in {@code ws[dgx..]}, dL/dc into {@code dc}, and the peephole gradients.
     */
    private static void variantGatesBack(Weights w, float[] tape, int tp, float[] dr, int drOff, float[] dc,
            int dcOff, float[] ws, int dgx, DirectionWeights grads) {
        KernelShape s = w.shape();
        int hid = s.hiddenSize();
        ScalarGate fs = w.gates()[0], gs = w.gates()[1], hs = w.gates()[2];
        boolean coupled = s.variant().inputForget();
        float[] p = s.variant().peepholes() ? w.w().peephole() : null, gp = p != null ? grads.peephole() : null;
        int gates = tp + s.hOut(), cIn = gates + 4 * hid, cOut = cIn + hid;
        int pre = cOut + hid + (s.projSize() > 0 ? hid : 0);
        for (int j = 0; j < hid; j++) {
            float i = tape[gates + j], f = tape[gates + hid + j], g = tape[gates + 2 * hid + j],
                    o = tape[gates + 3 * hid + j], cOld = tape[cIn + j], cNew = tape[cOut + j];
            float d = dr[drOff + j];
            float dao = d * hs.apply(cNew) * fs.slope(tape[pre + 3 * hid + j]);
            float dct = dc[dcOff + j] + d * o * hs.slope(cNew);
            if (p != null) {
                dct += dao * p[2 * hid + j];
            }
            float di = dct * g, df = dct * cOld, dg = dct * i;
            float daf = 0f;
            if (coupled) {
                di -= df; // f = 1 - i
            } else {
                daf = df * fs.slope(tape[pre + hid + j]);
            }
            float dai = di * fs.slope(tape[pre + j]);
            float dag = dg * gs.slope(tape[pre + 2 * hid + j]);
            float dcPrev = dct * f;
            if (p != null) {
                dcPrev += dai * p[j] + daf * p[hid + j];
                gp[j] += dai * cOld;
                gp[hid + j] += daf * cOld;
                gp[2 * hid + j] += dao * cNew;
            }
            dc[dcOff + j] = dcPrev;
            ws[dgx + j] = dai;
            ws[dgx + hid + j] = daf;
            ws[dgx + 2 * hid + j] = dag;
            ws[dgx + 3 * hid + j] = dao;
        }
    }
}
