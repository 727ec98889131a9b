package org.rnnkit.vector;

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
 */
final class VectorGruKernel extends VectorKernel {

    VectorGruKernel(VectorParallel par) {
        super(Recurrence.GRU, par);
    }

    @Override
    int tapeStride(Dims d) {
        return d.hOutP + 4 * d.hp;
    }

    @Override
    int forwardRowScratch(Dims d) {
        return d.hp;
    }

    @Override
    int backwardRowScratch(Dims d) {
        return 0;
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
        VectorMath.gemm(w.hhN, u0, u1, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                ws, hIn, 0, hp,
                ws, ex, 0, hp,
                w.biasHn, 0, 0, 0);
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
            for (int j = 0; j < n; j += L) { // h' = (h - n) * z + n
                FloatVector nv = FloatVector.fromArray(S, ws, g + 2 * hp + j);
                FloatVector.fromArray(S, ws, hSrc + j).sub(nv).mul(FloatVector.fromArray(S, ws, g + hp + j)).add(nv)
                        .intoArray(ws, hDst + j);
            }
            if (tp >= 0) {
                for (int q = 0; q < 3; q++) { // r, z, n
                    System.arraycopy(ws, g + q * hp, tape, tp + q * hp, n);
                }
                System.arraycopy(ws, hnRow, tape, tp + 3 * hp, n);
            }
        }
    }

    @Override
    void stepBack(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0,
            int b1, float[] ws, int dg, int dhs, int ex, int dht, float[] tape, int tapeOff) {
        int gp = w.gp, hp = w.hp, stride = tapeStride(w);
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
}
