package org.rnnkit.vector;

import org.rnnkit.spi.Recurrence;

import static org.rnnkit.vector.VectorMath.L;
import static org.rnnkit.vector.VectorMath.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Elman RNN: {@code h' = act(gx + W_hh h + b_hh)}, act = tanh or relu (PyTorch's {@code nn.RNN}); relu is
 * {@code max(x, 0)} with NaN kept, as PyTorch's; or a variant's activation of the clipped pre-activation.
 * Tape slot: incoming h, new h ({@code Hp} each), and for a variant the pre-activation ({@code Hp}).
 */
final class VectorRnnKernel extends VectorKernel {
    private final boolean relu;

    VectorRnnKernel(boolean relu, VectorParallel par) {
        super(relu ? Recurrence.RNN_RELU : Recurrence.RNN_TANH, par);
        this.relu = relu;
    }

    @Override
    int tapeStride(Dims d) {
        return d.hOutP + (d.variant ? 2 : 1) * d.hp;
    }

    @Override
    int forwardRowScratch(Dims d) {
        return 0;
    }

    @Override
    int backwardRowScratch(Dims d) {
        return 0;
    }

    @Override
    void step(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0, int b1, int u0, int u1,
            float[] ws, int gx, int hIn, int hOut, int ex, float[] tape, int tapeOff) {
        int hp = w.hp, stride = tapeStride(w), n = u1 - u0;
        VectorMath.gemm(w.hh, u0, u1, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                ws, hIn, 0, hp,
                ws, gx, batch * hp, hp,
                ws, gx, batch * hp, hp);
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int g = gx + (t * batch + b) * hp + u0, hRow = hOut + b * hp + u0;
            if (w.acts != null) {
                if (tape != null) {
                    System.arraycopy(ws, g, tape, tapeOff + (t * batch + b) * stride + 2 * hp + u0, n);
                }
                w.acts[0].apply(ws, g, ws, hRow, n);
            } else if (relu) {
                for (int j = 0; j < n; j += L) {
                    FloatVector.fromArray(S, ws, g + j).max(0f).intoArray(ws, hRow + j);
                }
            } else {
                VectorMath.tanh(ws, g, ws, hRow, n);
            }
            if (tape != null) {
                System.arraycopy(ws, hRow, tape, tapeOff + (t * batch + b) * stride + hp + u0, n);
            }
        }
    }

    @Override
    void stepBack(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0,
            int b1, float[] ws, int dg, int dhs, int ex, int dht, float[] tape, int tapeOff) {
        int hp = w.hp, stride = tapeStride(w);
        FloatVector one = FloatVector.broadcast(S, 1f), zero = FloatVector.zero(S);
        for (int b = b0; b < b1; b++) {
            int t = time(lengths, seqLen, reverse, b, s);
            if (t < 0) {
                continue;
            }
            int hNew = tapeOff + (t * batch + b) * stride + hp, dRow = dhs + b * hp, g = dg + (t * batch + b) * hp;
            if (w.acts != null) {
                System.arraycopy(ws, dRow, ws, g, hp);
                w.acts[0].scaleBySlope(tape, hNew + hp, tape, hNew, ws, g, hp);
                continue;
            }
            for (int j = 0; j < hp; j += L) {
                FloatVector y = FloatVector.fromArray(S, tape, hNew + j), d = FloatVector.fromArray(S, ws, dRow + j);
                // relu'(x) = 1 where the output is positive; tanh'(x) = 1 - tanh(x)^2
                FloatVector da = relu ? zero.blend(d, y.compare(VectorOperators.GT, 0f)) : d.mul(one.sub(y.mul(y)));
                da.intoArray(ws, g + j);
            }
        }
    }
}
