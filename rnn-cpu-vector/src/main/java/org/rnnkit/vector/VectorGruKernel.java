package org.rnnkit.vector;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.Recurrence;

import static org.rnnkit.vector.VectorMath.L;
import static org.rnnkit.vector.VectorMath.S;

import jdk.incubator.vector.FloatVector;

/**
 * GRU, gates {@code r, z, n} (PyTorch's {@code nn.GRU}): {@code n = tanh(gx_n + r*(W_hn h + b_hn))},
 * {@code h' = (h - n)*z + n}, the form and rounding order of PyTorch's CPU cell. {@code W_hr h}, {@code W_hz h}
 * go into the {@code gx} rows in place; {@code W_hn h + b_hn} is its own product, since {@code r} scales it.
 *
 * <p>Forward row scratch: {@code W_hn h + b_hn} ({@code Hp}). Tape slot: incoming h, then r z n and
 * {@code W_hn h + b_hn} ({@code Hp} each). Gate gradients per slot: the input side
 * {@code (dr, dz, dn)}, then the hidden side {@code (dr, dz, dn*r)}; {@code dh*z} reaches {@code h_prev}
 * directly.
 *
 * <p>A variant ({@link org.rnnkit.variant.CellVariant}) runs beside that form: {@code r = f(clip(a_r))},
 * {@code z = f(clip(a_z))}, {@code n = g(clip(gx_n + r*(W_hn h + b_hn)))}, or with the reset gate before the
 * product {@code n = g(clip(gx_n + W_hn (r*h)))} ({@code b_hn} joins the input bias; the product's input
 * {@code r*h} takes the row scratch and the tape's {@code W_hn h + b_hn} place). Its tape slot adds the
 * pre-activations of r, z, n ({@code Hp} each). Backward with the reset gate before the product: the
 * hidden side's n block is zero ({@code W_hn} acts on {@code r*h}, not {@code h}), {@code W_hn^T dn} goes
 * to {@code dr} and to {@code dh_prev} through {@code r} (row scratch {@code Hp}), and {@code dW_hn} is its
 * own product over the rows ({@link #variantGradients}).
 */
final class VectorGruKernel extends VectorKernel {

    VectorGruKernel(VectorParallel par) {
        super(Recurrence.GRU, par);
    }

    @Override
    int tapeStride(Dims d) {
        return d.hOutP + (d.variant ? 7 : 4) * d.hp;
    }

    @Override
    int forwardRowScratch(Dims d) {
        return d.hp;
    }

    @Override
    int backwardRowScratch(Dims d) {
        return d.resetBefore ? d.hp : 0;
    }

    @Override
    int backwardGateSlots(Dims d) {
        return 2 * d.gp;
    }

    @Override
    int hiddenSideOffset(Dims d) {
        return d.gp;
    }

    @Override
    boolean hasDirectPath() {
        return true;
    }

    @Override
    void step(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0, int b1, int u0, int u1,
            float[] ws, int gx, int hIn, int hOut, int ex, float[] tape, int tapeOff) {
        int gp = w.gp, hp = w.hp, stride = tapeStride(w), n = u1 - u0;
        if (w.acts != null) {
            variantStep(w, lengths, seqLen, batch, reverse, s, b0, b1, u0, u1, ws, gx, hIn, hOut, ex, tape, tapeOff);
            return;
        }
        gateProducts(w, lengths, seqLen, batch, reverse, s, b0, b1, u0, u1, ws, gx, hIn);
        hnProduct(w, lengths, seqLen, batch, reverse, s, b0, b1, u0, u1, ws, hIn, ex);
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int g = gx + (t * batch + b) * gp + u0, hSrc = hIn + b * hp + u0, hDst = hOut + b * hp + u0;
            int hnRow = ex + b * hp + u0;
            int tp = tape == null ? -1 : tapeOff + (t * batch + b) * stride + hp + u0;
            VectorMath.sigmoid(ws, g, ws, g, n); // r
            VectorMath.sigmoid(ws, g + hp, ws, g + hp, n); // z
            for (int j = 0; j < n; j += L) { // gx_n + r * (W_hn h + b_hn)
                FloatVector.fromArray(S, ws, g + 2 * hp + j)
                        .add(FloatVector.fromArray(S, ws, g + j).mul(FloatVector.fromArray(S, ws, hnRow + j)))
                        .intoArray(ws, g + 2 * hp + j);
            }
            VectorMath.tanh(ws, g + 2 * hp, ws, g + 2 * hp, n); // n
            newState(ws, g, hp, hSrc, hDst, n, tape, tp);
            if (tp >= 0) {
                System.arraycopy(ws, hnRow, tape, tp + 3 * hp, n);
            }
        }
    }

    @Override
    void stepBack(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0,
            int b1, float[] ws, int dg, int dhs, int ex, int dht, float[] tape, int tapeOff) {
        int gp = w.gp, hp = w.hp, stride = tapeStride(w);
        if (w.acts != null) {
            variantStepBack(w, lengths, seqLen, batch, reverse, s, b0, b1, ws, dg, dhs, ex, tape, tapeOff);
            return;
        }
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int slot = tapeOff + (t * batch + b) * stride, tp = slot + hp;
            int dRow = dhs + b * hp, g = dg + (t * batch + b) * 2 * gp, gh = g + gp;
            for (int j = 0; j < hp; j += L) {
                FloatVector hPrev = FloatVector.fromArray(S, tape, slot + j), r = FloatVector.fromArray(S, tape, tp + j),
                        z = FloatVector.fromArray(S, tape, tp + hp + j), n = FloatVector.fromArray(S, tape, tp + 2 * hp + j),
                        hn = FloatVector.fromArray(S, tape, tp + 3 * hp + j);
                FloatVector d = FloatVector.fromArray(S, ws, dRow + j);
                FloatVector dn = d.mul(one.sub(z)), dz = d.mul(hPrev.sub(n));
                FloatVector dan = dn.mul(one.sub(n.mul(n)));
                FloatVector dar = dan.mul(hn).mul(r).mul(one.sub(r)), daz = dz.mul(z).mul(one.sub(z));
                dar.intoArray(ws, g + j);
                daz.intoArray(ws, g + hp + j);
                dan.intoArray(ws, g + 2 * hp + j);
                dar.intoArray(ws, gh + j);
                daz.intoArray(ws, gh + hp + j);
                dan.mul(r).intoArray(ws, gh + 2 * hp + j);
                d.mul(z).intoArray(ws, dRow + j);
            }
        }
    }

    /**
     * {@code h' = (h - n) * z + n} (PyTorch's rounding order) from the gates at {@code g}, {@code hp} apart,
     * and with a tape ({@code tp >= 0}) its r, z, n.
     */
    private static void newState(float[] ws, int g, int hp, int hSrc, int hDst, int n, float[] tape, int tp) {
        for (int j = 0; j < n; j += L) {
            FloatVector nv = FloatVector.fromArray(S, ws, g + 2 * hp + j);
            FloatVector.fromArray(S, ws, hSrc + j).sub(nv).mul(FloatVector.fromArray(S, ws, g + hp + j)).add(nv)
                    .intoArray(ws, hDst + j);
        }
        if (tp >= 0) {
            for (int q = 0; q < 3; q++) {
                System.arraycopy(ws, g + q * hp, tape, tp + q * hp, n);
            }
        }
    }

    /**
     * {@code W_hr h} and {@code W_hz h} added into the running rows' gx rows, for the units {@code [u0, u1)}
     * of each gate (one product over both gates when the step is not split).
     */
    private static void gateProducts(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0,
            int b1, int u0, int u1, float[] ws, int gx, int hIn) {
        int gp = w.gp, hp = w.hp;
        if (u0 == 0 && u1 == hp) {
            VectorMath.gemm(w.hh, 0, 2 * hp, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                    ws, hIn, 0, hp,
                    ws, gx, batch * gp, gp,
                    ws, gx, batch * gp, gp);
        } else {
            for (int q = 0; q < 2; q++) { // this part's units of r and z
                VectorMath.gemm(w.hh, q * hp + u0, q * hp + u1, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                        ws, hIn, 0, hp,
                        ws, gx, batch * gp, gp,
                        ws, gx, batch * gp, gp);
            }
        }
    }

    /** {@code W_hn h + b_hn} of the running rows into their row scratch, units {@code [u0, u1)}. */
    private static void hnProduct(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0,
            int b1, int u0, int u1, float[] ws, int hIn, int ex) {
        VectorMath.gemm(w.hhN, u0, u1, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                ws, hIn, 0, w.hp,
                ws, ex, 0, w.hp,
                w.biasHn, 0, 0, 0);
    }

    private void variantStep(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0, int b1,
            int u0, int u1, float[] ws, int gx, int hIn, int hOut, int ex, float[] tape, int tapeOff) {
        int gp = w.gp, hp = w.hp, stride = tapeStride(w), n = u1 - u0;
        VectorActivations fs = w.acts[0], gs = w.acts[1];
        boolean before = w.resetBefore; // never split by units (unitParts)
        gateProducts(w, lengths, seqLen, batch, reverse, s, b0, b1, u0, u1, ws, gx, hIn);
        if (!before) {
            hnProduct(w, lengths, seqLen, batch, reverse, s, b0, b1, u0, u1, ws, hIn, ex);
        }
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int g = gx + (t * batch + b) * gp + u0, hSrc = hIn + b * hp + u0, row = ex + b * hp + u0;
            int tp = tape == null ? -1 : tapeOff + (t * batch + b) * stride + hp + u0;
            if (tp >= 0) {
                System.arraycopy(ws, g, tape, tp + 4 * hp, n);
                System.arraycopy(ws, g + hp, tape, tp + 5 * hp, n);
            }
            fs.apply(ws, g, ws, g, n); // r
            fs.apply(ws, g + hp, ws, g + hp, n); // z
            for (int j = 0; j < n; j += L) {
                FloatVector r = FloatVector.fromArray(S, ws, g + j);
                if (before) { // r * h, the input of W_hn
                    r.mul(FloatVector.fromArray(S, ws, hSrc + j)).intoArray(ws, row + j);
                } else { // gx_n + r * (W_hn h + b_hn)
                    FloatVector.fromArray(S, ws, g + 2 * hp + j).add(r.mul(FloatVector.fromArray(S, ws, row + j)))
                            .intoArray(ws, g + 2 * hp + j);
                }
            }
        }
        if (before) { // gx_n + W_hn (r*h), b_hn in gx_n
            VectorMath.gemm(w.hhN, 0, hp, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                    ws, ex, 0, hp,
                    ws, gx + 2 * hp, batch * gp, gp,
                    ws, gx + 2 * hp, batch * gp, gp);
        }
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int g = gx + (t * batch + b) * gp + u0, hSrc = hIn + b * hp + u0, hDst = hOut + b * hp + u0;
            int tp = tape == null ? -1 : tapeOff + (t * batch + b) * stride + hp + u0;
            if (tp >= 0) {
                System.arraycopy(ws, g + 2 * hp, tape, tp + 6 * hp, n);
            }
            gs.apply(ws, g + 2 * hp, ws, g + 2 * hp, n); // n
            newState(ws, g, hp, hSrc, hDst, n, tape, tp);
            if (tp >= 0) {
                System.arraycopy(ws, ex + b * hp + u0, tape, tp + 3 * hp, n); // W_hn h + b_hn, or r*h
            }
        }
    }

    private void variantStepBack(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0,
            int b1, float[] ws, int dg, int dhs, int ex, float[] tape, int tapeOff) {
        int gp = w.gp, hp = w.hp, stride = tapeStride(w), slots = 2 * gp;
        VectorActivations fs = w.acts[0], gs = w.acts[1];
        boolean before = w.resetBefore;
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int slot = tapeOff + (t * batch + b) * stride, tp = slot + hp, pre = tp + 4 * hp;
            int dRow = dhs + b * hp, g = dg + (t * batch + b) * slots, gh = g + gp;
            for (int j = 0; j < hp; j += L) { // dL/dn, dL/dz, and the direct path d*z
                FloatVector hPrev = FloatVector.fromArray(S, tape, slot + j), z = FloatVector.fromArray(S, tape, tp + hp + j),
                        n = FloatVector.fromArray(S, tape, tp + 2 * hp + j), d = FloatVector.fromArray(S, ws, dRow + j);
                d.sub(d.mul(z)).intoArray(ws, g + 2 * hp + j);
                d.mul(hPrev.sub(n)).intoArray(ws, g + hp + j);
                d.mul(z).intoArray(ws, dRow + j);
            }
            gs.scaleBySlope(tape, pre + 2 * hp, tape, tp + 2 * hp, ws, g + 2 * hp, hp);
            fs.scaleBySlope(tape, pre + hp, tape, tp + hp, ws, g + hp, hp);
            if (!before) {
                for (int j = 0; j < hp; j += L) { // dL/dr = dn * (W_hn h + b_hn)
                    FloatVector.fromArray(S, ws, g + 2 * hp + j).mul(FloatVector.fromArray(S, tape, tp + 3 * hp + j))
                            .intoArray(ws, g + j);
                }
                fs.scaleBySlope(tape, pre, tape, tp, ws, g, hp);
                for (int j = 0; j < hp; j += L) {
                    FloatVector.fromArray(S, ws, g + j).intoArray(ws, gh + j);
                    FloatVector.fromArray(S, ws, g + hp + j).intoArray(ws, gh + hp + j);
                    FloatVector.fromArray(S, ws, g + 2 * hp + j).mul(FloatVector.fromArray(S, tape, tp + j))
                            .intoArray(ws, gh + 2 * hp + j);
                }
            } else {
                System.arraycopy(ws, g + hp, ws, gh + hp, hp);
                VectorMath.zero(ws, gh + 2 * hp, hp); // W_hn acts on r*h: its share of dh_prev comes below
            }
        }
        if (!before) {
            return;
        }
        // W_hn^T dn for every running row, then dL/dr = h * (W_hn^T dn) and dh_prev += r * (W_hn^T dn)
        VectorMath.gemm(w.hhNT, 0, hp, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                ws, dg + 2 * hp, batch * slots, slots,
                ws, ex, 0, hp,
                null, 0, 0, 0);
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int slot = tapeOff + (t * batch + b) * stride, tp = slot + hp, pre = tp + 4 * hp;
            int dRow = dhs + b * hp, g = dg + (t * batch + b) * slots, gh = g + gp, row = ex + b * hp;
            for (int j = 0; j < hp; j += L) {
                FloatVector back = FloatVector.fromArray(S, ws, row + j);
                back.mul(FloatVector.fromArray(S, tape, slot + j)).intoArray(ws, g + j);
                back.fma(FloatVector.fromArray(S, tape, tp + j), FloatVector.fromArray(S, ws, dRow + j))
                        .intoArray(ws, dRow + j);
            }
            fs.scaleBySlope(tape, pre, tape, tp, ws, g, hp);
            System.arraycopy(ws, g, ws, gh, hp);
        }
    }

    /** With the reset gate before the product: {@code dW_hn += dn^T (r*h)} over every valid row, by columns. */
    @Override
    void variantGradients(Weights w, int seqLen, int batch, int[] lengths, DirectionWeights grads, float[] tape,
            int tapeOff, float[] ws, int dg, int st, int p, int n) {
        if (!w.resetBefore) {
            return;
        }
        int gp = w.gp, hp = w.hp, hid = w.hid, stride = tapeStride(w), slots = 2 * gp;
        int k0 = VectorParallel.split(hid, p, n, 4), k1 = VectorParallel.split(hid, p + 1, n, 4);
        if (k1 <= k0) {
            return;
        }
        // this part's rows of the staging dW_hh used (the same split), now free
        int so = st + w.stHh + k0 * gp;
        VectorMath.zero(ws, so, (k1 - k0) * gp);
        VectorMath.outer(ws, so, gp, k1 - k0, hp, lengths, seqLen, batch, 0, seqLen,
                tape, tapeOff + hp + 3 * hp + k0, batch * stride, stride, ws, dg + 2 * hp, batch * slots, slots);
        float[] gW = grads.weightHh();
        for (int kk = k0; kk < k1; kk++) {
            for (int j = 0; j < hid; j++) {
                gW[(2 * hid + j) * hid + kk] += ws[so + (kk - k0) * gp + j];
            }
        }
    }
}
