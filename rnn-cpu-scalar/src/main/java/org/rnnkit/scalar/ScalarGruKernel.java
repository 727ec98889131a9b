package org.rnnkit.scalar;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;

/**
 * GRU, gates {@code r, z, n} (PyTorch's {@code nn.GRU}): {@code n = tanh(gx_n + r*(W_hn h + b_hn))},
 * {@code h' = (h - n)*z + n}, the form and rounding order of PyTorch's CPU cell.
 * Tape slot: incoming h (H), r z n (3H), {@code W_hn h + b_hn} (H), and for a variant the pre-activations
 * of r, z, n (3H).
 *
 * <p>A variant ({@link org.rnnkit.variant.CellVariant}) runs beside PyTorch's form:
 * {@code r = f(clip(a_r))}, {@code z = f(clip(a_z))}, {@code n = g(clip(gx_n + r*(W_hn h + b_hn)))}, or with
 * the reset gate before the product {@code n = g(clip(gx_n + W_hn (r*h) + b_hn))}.
 */
final class ScalarGruKernel extends ScalarKernel {
    ScalarGruKernel() {
        super(org.rnnkit.spi.Recurrence.GRU);
    }


    @Override
    int stepScratch(KernelShape s) {
        // gh = W_hh h + b_hh, b_hn included: it stays inside r*(...); then r*h for a reset-before-product GRU
        return s.gateRows() + (s.variant().resetBeforeProduct() ? s.hiddenSize() : 0);
    }

    @Override
    int tapeStride(KernelShape s) {
        return (s.variant().isDefault() ? 5 : 8) * s.hiddenSize();
    }

    @Override
    void step(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] c, int cOff, float[] sc, int so,
            float[] tape, int tp) {
        int hid = w.shape().hiddenSize();
        if (w.variant()) {
            variantStep(w, gx, gxOff, h, hOff, sc, so, tape, tp);
            return;
        }
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
        if (w.variant()) {
            variantStepBack(w, tape, tp, dh, dhOff, ws, dgx, dgh, dhDirect, extra, grads);
            return;
        }
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

    private static void variantStep(Weights w, float[] gx, int gxOff, float[] h, int hOff, float[] sc, int so,
            float[] tape, int tp) {
        KernelShape s = w.shape();
        int hid = s.hiddenSize();
        ScalarGate fs = w.gates()[0], gs = w.gates()[1];
        boolean before = s.variant().resetBeforeProduct();
        float[] whh = w.w().weightHh(), bhh = w.w().biasHh();
        if (before) {
            for (int r = 0; r < 2 * hid; r++) { // r and z rows only: the n rows read r*h
                float v = ScalarMath.dot(whh, r * hid, h, hOff, hid);
                sc[so + r] = s.bias() ? v + bhh[r] : v;
            }
        } else {
            recurrentProjection(w, h, hOff, sc, so);
        }
        int rh = so + 3 * hid;
        for (int j = 0; j < hid; j++) {
            float ar = gx[gxOff + j] + sc[so + j], az = gx[gxOff + hid + j] + sc[so + hid + j];
            float r = fs.apply(ar), z = fs.apply(az);
            sc[so + j] = r; // the gates replace their pre-activations: r is read again below
            sc[so + hid + j] = z;
            if (before) {
                sc[rh + j] = r * h[hOff + j];
            }
            if (tp >= 0) {
                tape[tp + 5 * hid + j] = ar;
                tape[tp + 6 * hid + j] = az;
            }
        }
        if (before) {
            for (int k = 0; k < hid; k++) {
                float v = ScalarMath.dot(whh, (2 * hid + k) * hid, sc, rh, hid);
                sc[so + 2 * hid + k] = s.bias() ? v + bhh[2 * hid + k] : v;
            }
        }
        for (int j = 0; j < hid; j++) {
            float r = sc[so + j], z = sc[so + hid + j], hn = sc[so + 2 * hid + j];
            float an = gx[gxOff + 2 * hid + j] + (before ? hn : r * hn);
            float n = gs.apply(an);
            if (tp >= 0) {
                tape[tp + hid + j] = r;
                tape[tp + 2 * hid + j] = z;
                tape[tp + 3 * hid + j] = n;
                tape[tp + 4 * hid + j] = hn;
                tape[tp + 7 * hid + j] = an;
            }
            h[hOff + j] = (h[hOff + j] - n) * z + n;
        }
    }

    private static void variantStepBack(Weights w, float[] tape, int tp, float[] dh, int dhOff, float[] ws, int dgx,
            int dgh, int dhDirect, int extra, DirectionWeights grads) {
        KernelShape s = w.shape();
        int hid = s.hiddenSize();
        ScalarGate fs = w.gates()[0], gs = w.gates()[1];
        boolean before = s.variant().resetBeforeProduct();
        for (int j = 0; j < hid; j++) {
            float hPrev = tape[tp + j], r = tape[tp + hid + j], z = tape[tp + 2 * hid + j],
                    n = tape[tp + 3 * hid + j], hn = tape[tp + 4 * hid + j];
            float d = dh[dhOff + j];
            float dan = d * (1f - z) * gs.slope(tape[tp + 7 * hid + j]);
            float daz = d * (hPrev - n) * fs.slope(tape[tp + 6 * hid + j]);
            ws[dgx + hid + j] = daz;
            ws[dgx + 2 * hid + j] = dan;
            ws[dgh + hid + j] = daz;
            ws[dhDirect + j] = d * z;
            if (!before) {
                float dar = dan * hn * fs.slope(tape[tp + 5 * hid + j]);
                ws[dgx + j] = dar;
                ws[dgh + j] = dar;
                ws[dgh + 2 * hid + j] = dan * r; // b_hn and W_hn h sit inside r*(...)
            }
        }
        if (!before) {
            return;
        }
        // n = g(gx_n + W_hn (r*h) + b_hn): the n rows' gradients are taken here (their input is r*h, not h);
        // the caller sees zeros in their dgh rows.
        float[] whh = w.w().weightHh(), gW = grads.weightHh(), gB = grads.biasHh();
        for (int j = 0; j < hid; j++) {
            float drh = 0f;
            for (int k = 0; k < hid; k++) {
                drh += whh[(2 * hid + k) * hid + j] * ws[dgx + 2 * hid + k];
            }
            ws[extra + j] = drh;
        }
        for (int j = 0; j < hid; j++) {
            float hPrev = tape[tp + j], r = tape[tp + hid + j], drh = ws[extra + j];
            float dar = drh * hPrev * fs.slope(tape[tp + 5 * hid + j]);
            ws[dgx + j] = dar;
            ws[dgh + j] = dar;
            ws[dhDirect + j] += drh * r;
        }
        for (int k = 0; k < hid; k++) {
            float dan = ws[dgx + 2 * hid + k];
            ws[dgh + 2 * hid + k] = 0f;
            int row = (2 * hid + k) * hid;
            for (int j = 0; j < hid; j++) {
                gW[row + j] += dan * (tape[tp + hid + j] * tape[tp + j]);
            }
            if (s.bias()) {
                gB[2 * hid + k] += dan;
            }
        }
    }
}
