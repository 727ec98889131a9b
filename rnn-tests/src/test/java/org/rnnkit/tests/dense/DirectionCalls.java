package org.rnnkit.tests.dense;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.StateView;

/**
 * One layer direction's kernel calls straight through the SPI, on strided views, for {@link OneHotHintTest}
 * and {@link RepackTest}: an inference forward, a training forward and the backward after it, from fixed
 * inputs, every result kept for bit-for-bit comparison.
 *
 * <p>Sequence tensors start at {@link #OFF} and each row is followed by {@link #GAP} floats that no kernel
 * may read or write: NaN in inputs (read, they would turn results into NaN), a sentinel in outputs (kept
 * by the comparison of whole arrays). Rows are time-major or, with {@code batchFirst}, batch-major.
 */
final class DirectionCalls {
    static final int OFF = 2, GAP = 1;
    private static final float SENTINEL = 5f;

    private DirectionCalls() {}

    /** Floats of a sequence tensor of rows of {@code width}. */
    static int size(int seqLen, int batch, int width) {
        return OFF + seqLen * batch * (width + GAP);
    }

    /** The view of such a tensor. */
    static SequenceView view(float[] data, int seqLen, int batch, int width, boolean batchFirst) {
        int row = width + GAP;
        return batchFirst ? new SequenceView().set(data, OFF, row, seqLen * row)
                : new SequenceView().set(data, OFF, batch * row, row);
    }

    /** A sequence tensor of random rows (NaN in the gaps and before the first row). */
    static float[] random(SplittableRandom rnd, int seqLen, int batch, int width, boolean batchFirst) {
        float[] a = new float[size(seqLen, batch, width)];
        Arrays.fill(a, Float.NaN);
        SequenceView v = view(a, seqLen, batch, width, batchFirst);
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < width; j++) {
                    a[v.row(t, b) + j] = (float) rnd.nextDouble(-1, 1);
                }
            }
        }
        return a;
    }

    /** An output tensor: the sentinel everywhere, for the kernels to overwrite their rows only. */
    static float[] sentinels(int seqLen, int batch, int width) {
        float[] a = new float[size(seqLen, batch, width)];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    static float[] random(SplittableRandom rnd, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextDouble(-scale, scale);
        }
        return a;
    }

    /** PyTorch-layout weights (or gradient accumulators) of a shape, uniform in {@code [-scale, scale)}. */
    static DirectionWeights weights(KernelShape s, SplittableRandom rnd, double scale) {
        int rows = s.gateRows();
        return new DirectionWeights(random(rnd, rows * s.inputSize(), scale), random(rnd, rows * s.hOut(), scale),
                s.bias() ? random(rnd, rows, scale) : null, s.bias() ? random(rnd, rows, scale) : null,
                s.projSize() > 0 ? random(rnd, s.projSize() * s.hiddenSize(), scale) : null);
    }

    static DirectionWeights copy(DirectionWeights w) {
        return new DirectionWeights(w.weightIh().clone(), w.weightHh().clone(), clone(w.biasIh()), clone(w.biasHh()),
                clone(w.weightHr()));
    }

    private static float[] clone(float[] a) {
        return a == null ? null : a.clone();
    }

    /**
     * What the calls start from besides x and the weights: the initial state, the upstream gradients of the
     * output and of the final state, and the initial values of dx and of the gradient accumulators (both are
     * added to).
     */
    record Inputs(float[] h0, float[] c0, float[] dOut, float[] dh, float[] dc, float[] dx, DirectionWeights grads) {
        static Inputs random(KernelShape s, int seqLen, int batch, boolean batchFirst, SplittableRandom rnd) {
            boolean lstm = s.type().hasCellState();
            return new Inputs(DirectionCalls.random(rnd, batch * s.hOut(), 1),
                    lstm ? DirectionCalls.random(rnd, batch * s.hiddenSize(), 1) : null,
                    DirectionCalls.random(rnd, seqLen, batch, s.hOut(), batchFirst),
                    DirectionCalls.random(rnd, batch * s.hOut(), 1),
                    lstm ? DirectionCalls.random(rnd, batch * s.hiddenSize(), 1) : null,
                    DirectionCalls.random(rnd, seqLen, batch, s.inputSize(), batchFirst), weights(s, rnd, 1));
        }
    }

    /**
     * The results of an inference forward ({@code out}, {@code h}, {@code c}), a training forward
     * ({@code trainOut}, {@code trainH}, {@code trainC}) and its backward ({@code dh}, {@code dc} of the
     * initial state, {@code dx}, {@code grads}).
     */
    record Results(float[] out, float[] h, float[] c, float[] trainOut, float[] trainH, float[] trainC, float[] dh,
            float[] dc, float[] dx, DirectionWeights grads) {

        /** Every result but {@code grads.weightIh()} the same bits as {@code o}'s ({@code what} names the pair). */
        void assertSameBitsButWeightIh(Results o, String what) {
            assertArrayEquals(o.out, out, what + ": inference output");
            assertArrayEquals(o.h, h, what + ": inference h");
            assertArrayEquals(o.c, c, what + ": inference c");
            assertArrayEquals(o.trainOut, trainOut, what + ": training output");
            assertArrayEquals(o.trainH, trainH, what + ": training h");
            assertArrayEquals(o.trainC, trainC, what + ": training c");
            assertArrayEquals(o.dh, dh, what + ": dh0");
            assertArrayEquals(o.dc, dc, what + ": dc0");
            assertArrayEquals(o.dx, dx, what + ": dx");
            assertArrayEquals(o.grads.weightHh(), grads.weightHh(), what + ": dW_hh");
            assertArrayEquals(o.grads.biasIh(), grads.biasIh(), what + ": db_ih");
            assertArrayEquals(o.grads.biasHh(), grads.biasHh(), what + ": db_hh");
            assertArrayEquals(o.grads.weightHr(), grads.weightHr(), what + ": dW_hr");
        }

        void assertSameBits(Results o, String what) {
            assertSameBitsButWeightIh(o, what);
            assertArrayEquals(o.grads.weightIh(), grads.weightIh(), what + ": dW_ih");
        }
    }

    /**
     * The three calls with {@code w}; {@code classes} non-null marks x's rows one-hot. {@code withDx}: whether
     * the backward computes dx. Nothing of {@code in} or {@code x} is changed.
     */
    static Results run(RecurrentKernel<?> k, PreparedWeights w, SequenceGeometry seq, boolean batchFirst,
            float[] x, int[] classes, Inputs in, boolean withDx) {
        KernelShape s = w.shape();
        int seqLen = seq.seqLen(), batch = seq.batch(), hOut = s.hOut();
        SequenceView xv = view(x, seqLen, batch, s.inputSize(), batchFirst);
        if (classes != null) {
            xv.oneHot(classes);
        }
        float[] ws = new float[Math.toIntExact(k.workspaceSize(s, seqLen, batch))];
        float[] tape = new float[Math.toIntExact(k.tapeSize(s, seqLen, batch))];

        float[] out = sentinels(seqLen, batch, hOut), h = in.h0.clone(), c = clone(in.c0);
        k.forward(w, seq, xv, view(out, seqLen, batch, hOut, batchFirst), new StateView().set(h, 0, c, 0),
                new Scratch().set(null, 0, ws, 0));

        float[] trainOut = sentinels(seqLen, batch, hOut), trainH = in.h0.clone(), trainC = clone(in.c0);
        Scratch scratch = new Scratch().set(tape, 0, ws, 0);
        k.forward(w, seq, xv, view(trainOut, seqLen, batch, hOut, batchFirst), new StateView().set(trainH, 0, trainC, 0),
                scratch);
        float[] dh = in.dh.clone(), dc = clone(in.dc), dx = withDx ? in.dx.clone() : null;
        DirectionWeights grads = copy(in.grads);
        k.backward(w, seq, xv, view(in.dOut, seqLen, batch, hOut, batchFirst), new StateView().set(dh, 0, dc, 0),
                dx == null ? null : view(dx, seqLen, batch, s.inputSize(), batchFirst), grads, scratch);
        return new Results(out, h, c, trainOut, trainH, trainC, dh, dc, dx, grads);
    }
}
