package org.rnnkit.vector;

import org.rnnkit.spi.DirectionWeights;
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
 *
 * <p>A variant ({@link org.rnnkit.variant.CellVariant}) runs beside that form with its own slots' functions:
 * {@code i = f(clip(a_i + p_i*c))}, {@code f = 1 - i} (coupled) or {@code f(clip(a_f + p_f*c))},
 * {@code g = g(clip(a_g))}, {@code c' = f*c + i*g}, {@code o = f(clip(a_o + p_o*c'))}, {@code h' = o*h(c')}
 * (the tape's {@code tanh(c')} holds {@code h(c')}). Its tape slot adds the four pre-activations and
 * {@code c'} ({@code Hp} each); its backward row scratch adds {@code dL/dc'} ({@code Hp}).
 */
final class VectorLstmKernel extends VectorKernel {

    VectorLstmKernel(VectorParallel par) {
        super(Recurrence.LSTM, par);
    }

    @Override
    int tapeStride(Dims d) {
        return d.hOutP + 6 * d.hp + (d.proj > 0 ? d.hp : 0) + (d.variant ? 5 * d.hp : 0);
    }

    /** A variant's pre-activations (then {@code c'}) in a tape slot, from the slot's gates ({@code i}). */
    private static int preOffset(Dims d) {
        return 6 * d.hp + (d.proj > 0 ? d.hp : 0);
    }

    @Override
    int forwardRowScratch(Dims d) {
        return d.proj > 0 ? 3 * d.hp : 2 * d.hp;
    }

    @Override
    int backwardRowScratch(Dims d) {
        return (d.proj > 0 ? 2 * d.hp : d.hp) + (d.variant ? d.hp : 0);
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
            if (w.acts != null) {
                variantGates(w, n, u0, ws, g, cRow, tc, hDst, tape, tp);
                continue;
            }
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
            if (w.acts != null) {
                variantGatesBack(w, ws, dRow, dcRow, ex + b * rs + (proj ? 2 * hp : hp), g, tape, tp);
                continue;
            }
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

    /**
     * A variant's gate equations for one row's units {@code [u0, u0 + n)}: pre-activations at {@code g}
     * (four blocks {@code Hp} apart), the cell state at {@code cRow} (updated), {@code h(c')} into
     * {@code tc}, the unprojected {@code h'} into {@code hDst}, and the tape from {@code tp} (the slot's
     * gates) when {@code tp >= 0}.
     */
    private static void variantGates(Weights w, int n, int u0, float[] ws, int g, int cRow, int tc, int hDst,
            float[] tape, int tp) {
        int hp = w.hp;
        VectorActivations fs = w.acts[0], gs = w.acts[1], hs = w.acts[2];
        float[] p = w.peephole;
        int pre = tp + preOffset(w), cOut = pre + 4 * hp;
        if (p != null) { // i and f see the incoming cell state
            for (int j = 0; j < n; j += L) {
                FloatVector c = FloatVector.fromArray(S, ws, cRow + j);
                FloatVector.fromArray(S, p, u0 + j).fma(c, FloatVector.fromArray(S, ws, g + j)).intoArray(ws, g + j);
                FloatVector.fromArray(S, p, hp + u0 + j).fma(c, FloatVector.fromArray(S, ws, g + hp + j))
                        .intoArray(ws, g + hp + j);
            }
        }
        if (tp >= 0) {
            for (int q = 0; q < 3; q++) {
                System.arraycopy(ws, g + q * hp, tape, pre + q * hp, n);
            }
        }
        fs.apply(ws, g, ws, g, n);
        if (w.shape.variant().inputForget()) { // f = 1 - i
            for (int j = 0; j < n; j += L) {
                FloatVector.broadcast(S, 1f).sub(FloatVector.fromArray(S, ws, g + j)).intoArray(ws, g + hp + j);
            }
        } else {
            fs.apply(ws, g + hp, ws, g + hp, n);
        }
        gs.apply(ws, g + 2 * hp, ws, g + 2 * hp, n);
        if (tp >= 0) {
            for (int q = 0; q < 3; q++) {
                System.arraycopy(ws, g + q * hp, tape, tp + q * hp, n);
            }
            System.arraycopy(ws, cRow, tape, tp + 4 * hp, n);
        }
        for (int j = 0; j < n; j += L) { // c' = f*c + i*g, the reference's rounding (no FMA)
            FloatVector i = FloatVector.fromArray(S, ws, g + j), f = FloatVector.fromArray(S, ws, g + hp + j),
                    gg = FloatVector.fromArray(S, ws, g + 2 * hp + j);
            f.mul(FloatVector.fromArray(S, ws, cRow + j)).add(i.mul(gg)).intoArray(ws, cRow + j);
        }
        if (p != null) { // o sees the new cell state
            for (int j = 0; j < n; j += L) {
                FloatVector.fromArray(S, p, 2 * hp + u0 + j).fma(FloatVector.fromArray(S, ws, cRow + j),
                        FloatVector.fromArray(S, ws, g + 3 * hp + j)).intoArray(ws, g + 3 * hp + j);
            }
        }
        if (tp >= 0) {
            System.arraycopy(ws, g + 3 * hp, tape, pre + 3 * hp, n);
            System.arraycopy(ws, cRow, tape, cOut, n);
        }
        fs.apply(ws, g + 3 * hp, ws, g + 3 * hp, n);
        hs.apply(ws, cRow, ws, tc, n);
        for (int j = 0; j < n; j += L) { // h' = o * h(c')
            FloatVector.fromArray(S, ws, g + 3 * hp + j).mul(FloatVector.fromArray(S, ws, tc + j)).intoArray(ws, hDst + j);
        }
        if (tp >= 0) {
            System.arraycopy(ws, g + 3 * hp, tape, tp + 3 * hp, n);
            System.arraycopy(ws, tc, tape, tp + 5 * hp, n);
            if (w.proj > 0) {
                System.arraycopy(ws, hDst, tape, tp + 6 * hp, n);
            }
        }
    }

    /**
     * The backward of {@link #variantGates} for one row: {@code dL/dh'} (unprojected) at {@code dRow},
     * {@code dL/dc'} at {@code dcRow} (replaced by {@code dL/dc}), {@code tmp} ({@code Hp}) for
     * {@code dL/dc'} in full, the gate gradients to {@code g}, the tape slot's gates at {@code tp}.
     */
    private static void variantGatesBack(Weights w, float[] ws, int dRow, int dcRow, int tmp, int g, float[] tape,
            int tp) {
        int hp = w.hp;
        VectorActivations fs = w.acts[0], gs = w.acts[1], hs = w.acts[2];
        float[] p = w.peephole;
        boolean coupled = w.shape.variant().inputForget();
        int pre = tp + preOffset(w), cOut = pre + 4 * hp;
        for (int j = 0; j < hp; j += L) { // dL/do, dL/dh(c')
            FloatVector d = FloatVector.fromArray(S, ws, dRow + j);
            d.mul(FloatVector.fromArray(S, tape, tp + 5 * hp + j)).intoArray(ws, g + 3 * hp + j);
            d.mul(FloatVector.fromArray(S, tape, tp + 3 * hp + j)).intoArray(ws, tmp + j);
        }
        fs.scaleBySlope(tape, pre + 3 * hp, tape, tp + 3 * hp, ws, g + 3 * hp, hp);
        hs.scaleBySlope(tape, cOut, tape, tp + 5 * hp, ws, tmp, hp);
        for (int j = 0; j < hp; j += L) { // dL/dc' in full, then the candidate's gradient
            FloatVector dct = FloatVector.fromArray(S, ws, tmp + j).add(FloatVector.fromArray(S, ws, dcRow + j));
            if (p != null) {
                dct = FloatVector.fromArray(S, ws, g + 3 * hp + j).fma(FloatVector.fromArray(S, p, 2 * hp + j), dct);
            }
            dct.intoArray(ws, tmp + j);
            FloatVector i = FloatVector.fromArray(S, tape, tp + j), gg = FloatVector.fromArray(S, tape, tp + 2 * hp + j);
            FloatVector df = dct.mul(FloatVector.fromArray(S, tape, tp + 4 * hp + j)), di = dct.mul(gg);
            dct.mul(i).intoArray(ws, g + 2 * hp + j);
            if (coupled) { // f = 1 - i
                di = di.sub(df);
                df = FloatVector.zero(S);
            }
            di.intoArray(ws, g + j);
            df.intoArray(ws, g + hp + j);
        }
        gs.scaleBySlope(tape, pre + 2 * hp, tape, tp + 2 * hp, ws, g + 2 * hp, hp);
        if (!coupled) {
            fs.scaleBySlope(tape, pre + hp, tape, tp + hp, ws, g + hp, hp);
        }
        fs.scaleBySlope(tape, pre, tape, tp, ws, g, hp);
        for (int j = 0; j < hp; j += L) { // dL/dc = dL/dc' f (+ the peepholes of i and f)
            FloatVector dc = FloatVector.fromArray(S, ws, tmp + j).mul(FloatVector.fromArray(S, tape, tp + hp + j));
            if (p != null) {
                dc = FloatVector.fromArray(S, ws, g + j).fma(FloatVector.fromArray(S, p, j), dc);
                dc = FloatVector.fromArray(S, ws, g + hp + j).fma(FloatVector.fromArray(S, p, hp + j), dc);
            }
            dc.intoArray(ws, dcRow + j);
        }
    }

    /** Peephole gradients: {@code dp_i += da_i c}, {@code dp_f += da_f c}, {@code dp_o += da_o c'} over every valid row, by units. */
    @Override
    void variantGradients(Weights w, int seqLen, int batch, int[] lengths, DirectionWeights grads, float[] tape,
            int tapeOff, float[] ws, int dg, int st, int p, int n) {
        if (!w.peepholes) {
            return;
        }
        int hp = w.hp, stride = tapeStride(w), gp = w.gp;
        int c0 = VectorParallel.split(hp, p, n, L), c1 = VectorParallel.split(hp, p + 1, n, L);
        if (c1 <= c0) {
            return;
        }
        int sp = st + w.stPeep;
        for (int q = 0; q < 3; q++) {
            VectorMath.zero(ws, sp + q * hp + c0, c1 - c0);
        }
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                if (lengths != null && t >= lengths[b]) {
                    continue;
                }
                int r = t * batch + b, tp = tapeOff + r * stride + w.hOutP, gr = dg + r * gp;
                int cIn = tp + 4 * hp, cOut = tp + preOffset(w) + 4 * hp;
                for (int j = c0; j < c1; j += L) {
                    FloatVector c = FloatVector.fromArray(S, tape, cIn + j);
                    FloatVector.fromArray(S, ws, gr + j).fma(c, FloatVector.fromArray(S, ws, sp + j)).intoArray(ws, sp + j);
                    FloatVector.fromArray(S, ws, gr + hp + j).fma(c, FloatVector.fromArray(S, ws, sp + hp + j))
                            .intoArray(ws, sp + hp + j);
                    FloatVector.fromArray(S, ws, gr + 3 * hp + j).fma(FloatVector.fromArray(S, tape, cOut + j),
                            FloatVector.fromArray(S, ws, sp + 2 * hp + j)).intoArray(ws, sp + 2 * hp + j);
                }
            }
        }
        float[] gpp = grads.peephole();
        for (int q = 0; q < 3; q++) {
            for (int j = c0; j < Math.min(c1, w.hid); j++) {
                gpp[q * w.hid + j] += ws[sp + q * hp + j];
            }
        }
    }
}
