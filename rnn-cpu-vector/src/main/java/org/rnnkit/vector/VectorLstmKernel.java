package org.rnnkit.vector;

import org.rnnkit.spi.Recurrence;

import static org.rnnkit.vector.VectorMath.L;
import static org.rnnkit.vector.VectorMath.S;

import jdk.incubator.vector.FloatVector;

/**
 * LSTM, gates {@code i, f, g, o} (PyTorch's {@code nn.LSTM}): {@code c' = f*c + i*g}, {@code h' = o*tanh(c')},
 * and with {@code proj_size > 0}, {@code h' = W_hr h'}. The gate equations run per row right after
 * its product, on data still in L1, with the rounding order of the scalar reference ({@code f*c + i*g} without FMA).
 *
 * <p>Forward row scratch: {@code c}, {@code tanh(c')}, and with projection the unprojected
 * {@code o*tanh(c')} ({@code Hp} each). Tape slot: incoming h ({@code hOutP}), i f g o ({@code 4Hp}), incoming c, {@code tanh(c')},
 * and with projection the unprojected h ({@code Hp} each). Backward row scratch: {@code dc}, then with
 * projection {@code dL/d(o*tanh(c')) = W_hr^T dh}.
 */
final class VectorLstmKernel extends VectorKernel {

    VectorLstmKernel(VectorParallel par) {
        super(Recurrence.LSTM, par);
    }

    @Override
    int tapeStride(Dims d) {
        return d.hOutP + 6 * d.hp + (d.proj > 0 ? d.hp : 0);
    }

    @Override
    int forwardRowScratch(Dims d) {
        return d.proj > 0 ? 3 * d.hp : 2 * d.hp;
    }

    @Override
    int backwardRowScratch(Dims d) {
        return d.proj > 0 ? 2 * d.hp : d.hp;
    }

    @Override
    int projectionInputOffset(Dims d) {
        return d.hOutP + 6 * d.hp;
    }

    @Override
    void step(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0, int b1, int u0, int u1,
            float[] ws, int gx, int hIn, int hOut, int ex, float[] tape, int tapeOff) {
        int gp = w.gp, hp = w.hp, hOutP = w.hOutP, rs = forwardRowScratch(w), stride = tapeStride(w), n = u1 - u0;
        boolean proj = w.proj > 0;
        if (u0 == 0 && u1 == hp) {
            VectorMath.gemm(w.hh, 0, gp, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                    ws, hIn, 0, hOutP,
                    ws, gx, batch * gp, gp,
                    ws, gx, batch * gp, gp);
        } else {
            for (int q = 0; q < 4; q++) { // this part's units of each gate
                VectorMath.gemm(w.hh, q * hp + u0, q * hp + u1, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                        ws, hIn, 0, hOutP,
                        ws, gx, batch * gp, gp,
                        ws, gx, batch * gp, gp);
            }
        }
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int g = gx + (t * batch + b) * gp + u0, cRow = ex + b * rs + u0, tc = cRow + hp;
            int hDst = (proj ? ex + b * rs + 2 * hp : hOut + b * hOutP) + u0;
            int tp = tape == null ? -1 : tapeOff + (t * batch + b) * stride + hOutP + u0;
            // the gates, in place on the row the product just left in L1
            VectorMath.sigmoid(ws, g, ws, g, n);
            VectorMath.sigmoid(ws, g + hp, ws, g + hp, n);
            VectorMath.tanh(ws, g + 2 * hp, ws, g + 2 * hp, n);
            VectorMath.sigmoid(ws, g + 3 * hp, ws, g + 3 * hp, n);
            if (tp >= 0) {
                for (int q = 0; q < 4; q++) {
                    System.arraycopy(ws, g + q * hp, tape, tp + q * hp, n);
                }
                System.arraycopy(ws, cRow, tape, tp + 4 * hp, n);
            }
            for (int j = 0; j < n; j += L) { // c' = f*c + i*g, the reference's rounding (no FMA)
                FloatVector i = FloatVector.fromArray(S, ws, g + j), f = FloatVector.fromArray(S, ws, g + hp + j),
                        gg = FloatVector.fromArray(S, ws, g + 2 * hp + j);
                f.mul(FloatVector.fromArray(S, ws, cRow + j)).add(i.mul(gg)).intoArray(ws, cRow + j);
            }
            VectorMath.tanh(ws, cRow, ws, tc, n);
            for (int j = 0; j < n; j += L) { // h' = o * tanh(c')
                FloatVector.fromArray(S, ws, g + 3 * hp + j).mul(FloatVector.fromArray(S, ws, tc + j))
                        .intoArray(ws, hDst + j);
            }
            if (tp >= 0) {
                System.arraycopy(ws, tc, tape, tp + 5 * hp, n);
                if (proj) {
                    System.arraycopy(ws, hDst, tape, tp + 6 * hp, n);
                }
            }
        }
        if (proj) { // never split: the projection needs every unit
            VectorMath.gemm(w.hr, 0, w.projP, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                    ws, ex + 2 * hp, 0, rs,
                    ws, hOut, 0, hOutP,
                    null, 0, 0, 0);
        }
    }

    @Override
    void stepBack(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0,
            int b1, float[] ws, int dg, int dhs, int ex, int dht, float[] tape, int tapeOff) {
        int gp = w.gp, hp = w.hp, hOutP = w.hOutP, rs = backwardRowScratch(w), stride = tapeStride(w);
        boolean proj = w.proj > 0;
        if (proj) {
            // keep dh for dW_hr; dL/d(o*tanh(c')) = W_hr^T dh
            for (int b = b0; b < b1; b++) {
                int t = time(lengths, seqLen, reverse, b, s);
                if (t >= 0) {
                    System.arraycopy(ws, dhs + b * hOutP, ws, dht + (t * batch + b) * w.projP, w.projP);
                }
            }
            VectorMath.gemm(w.hrT, 0, hp, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                    ws, dhs, 0, hOutP,
                    ws, ex + hp, 0, rs,
                    null, 0, 0, 0);
        }
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int dRow = proj ? ex + b * rs + hp : dhs + b * hOutP, dcRow = ex + b * rs;
            int tp = tapeOff + (t * batch + b) * stride + hOutP, g = dg + (t * batch + b) * gp;
            for (int j = 0; j < hp; j += L) {
                FloatVector i = FloatVector.fromArray(S, tape, tp + j), f = FloatVector.fromArray(S, tape, tp + hp + j),
                        gg = FloatVector.fromArray(S, tape, tp + 2 * hp + j),
                        o = FloatVector.fromArray(S, tape, tp + 3 * hp + j),
                        cIn = FloatVector.fromArray(S, tape, tp + 4 * hp + j),
                        tc = FloatVector.fromArray(S, tape, tp + 5 * hp + j);
                FloatVector d = FloatVector.fromArray(S, ws, dRow + j);
                FloatVector dct = d.mul(o).mul(one.sub(tc.mul(tc))).add(FloatVector.fromArray(S, ws, dcRow + j));
                dct.mul(f).intoArray(ws, dcRow + j);
                dct.mul(gg).mul(i).mul(one.sub(i)).intoArray(ws, g + j);
                dct.mul(cIn).mul(f).mul(one.sub(f)).intoArray(ws, g + hp + j);
                dct.mul(i).mul(one.sub(gg.mul(gg))).intoArray(ws, g + 2 * hp + j);
                d.mul(tc).mul(o).mul(one.sub(o)).intoArray(ws, g + 3 * hp + j);
            }
        }
    }
}
