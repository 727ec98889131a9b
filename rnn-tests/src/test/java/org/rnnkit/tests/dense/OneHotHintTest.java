package org.rnnkit.tests.dense;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.StateView;
import org.rnnkit.tests.dense.DirectionCalls.Inputs;
import org.rnnkit.tests.dense.DirectionCalls.Results;

/**
 * The one-hot hint ({@link SequenceView#oneHot}) changes no result a kernel gives for the same rows without
 * it, whether the backend reads the classes (column lookups, a scatter-add for {@code dW_ih}) or ignores
 * them: for LSTM (with and without projection), GRU and RNN_TANH, with and without bias and per-row
 * lengths, both directions, time-major and batch-first strides, one and two threads, and the sizes at
 * which the backends change method (the native backend's per-step input projection from batch 16 on, the
 * split of a batch-1 step by hidden units, products large enough to be shared between threads).
 *
 * <p>Exact where the arithmetic is: the input projection of a one-hot row sums exact zeros and one
 * {@code 1 * W[o][c]} onto the bias, so the lookup {@code b + W[o][c]} is the same rounded sum; all the
 * rest of the forward, and every gradient but {@code dW_ih}, is computed from the same values in the
 * same way. {@code dW_ih} adds the same terms in another order (see {@link #assertWeightIhWithinBound}).
 */
class OneHotHintTest {
    private static final double U = Math.ulp(1.0f) / 2; // float32 unit roundoff, 2^-24

    /** One layer direction's calls: sizes, options, and the threads a call may use. */
    record Case(Recurrence type, int in, int hid, int proj, boolean bias, int seqLen, int batch, boolean lengths,
            boolean reverse, boolean batchFirst, int threads) {
        @Override
        public String toString() {
            return type + " in=" + in + " H=" + hid + (proj > 0 ? " P=" + proj : "") + (bias ? "" : " no bias") + " T="
                    + seqLen + " B=" + batch + (lengths ? " lengths" : "") + (reverse ? " reverse" : "")
                    + (batchFirst ? " batch-first" : "") + " threads=" + threads;
        }
    }

    static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (Recurrence type : new Recurrence[] {Recurrence.LSTM, Recurrence.GRU, Recurrence.RNN_TANH}) {
            for (int flags = 0; flags < 8; flags++) {
                boolean lengths = (flags & 1) != 0, reverse = (flags & 2) != 0, batchFirst = (flags & 4) != 0;
                for (int threads = 1; threads <= 2; threads++) {
                    // few rows; then batch 17 (the native per-step projection) with gate blocks across panels
                    cases.add(new Case(type, 7, 5, 0, flags != 5, 5, 3, lengths, reverse, batchFirst, threads));
                    cases.add(new Case(type, 11, 70, 0, true, 6, 17, lengths, reverse, batchFirst, threads));
                }
            }
            // products large enough to be split between two threads, forward and backward
            cases.add(new Case(type, 64, 128, 0, true, 32, 16, false, false, false, 2));
            cases.add(new Case(type, 64, 128, 0, true, 32, 16, true, true, true, 2));
            cases.add(new Case(type, 64, 128, 0, true, 20, 9, true, false, false, 2));
        }
        for (int flags = 0; flags < 4; flags++) { // the projection; and batch 1 split by hidden units
            boolean lengths = (flags & 1) != 0, reverse = (flags & 2) != 0;
            cases.add(new Case(Recurrence.LSTM, 9, 12, 5, true, 6, 18, lengths, reverse, flags == 3, 1 + flags % 2));
            cases.add(new Case(Recurrence.LSTM, 9, 12, 5, false, 4, 2, lengths, reverse, flags == 1, 2));
            cases.add(new Case(Recurrence.GRU, 40, 256, 0, true, 24, 1, lengths, reverse, false, 2));
        }
        // more rows than the native side copies the classes of on its stack
        cases.add(new Case(Recurrence.RNN_TANH, 5, 8, 0, true, 70, 16, true, true, false, 1));
        return cases;
    }

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void theHintChangesNoResult(Backend backend) {
        SplittableRandom seeds = new SplittableRandom(22);
        for (Case c : cases()) {
            check(backend, c, seeds.nextLong());
        }
    }

    private static void check(Backend backend, Case c, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        RecurrentKernel<?> k = KernelAccess.kernels(backend.withThreads(c.threads)).kernel(c.type);
        KernelShape s = new KernelShape(c.type, c.in, c.hid, c.proj, c.bias);
        int T = c.seqLen, B = c.batch, R = T * B;
        DirectionWeights weights = DirectionCalls.weights(s, rnd, 0.5);
        int[] lengths = null;
        if (c.lengths) {
            lengths = new int[B];
            for (int b = 0; b < B; b++) {
                lengths[b] = 1 + rnd.nextInt(T);
            }
            lengths[B / 2] = T;
        }
        SequenceGeometry seq = new SequenceGeometry().set(T, B, lengths, c.reverse);
        // classes of every row, padded steps included (the hint covers every row); one more entry, past
        // T*B, that no kernel may read
        int[] classes = new int[R + 1];
        for (int r = 0; r < R; r++) {
            classes[r] = rnd.nextInt(c.in);
        }
        classes[R] = -1;
        float[] x = oneHotRows(classes, T, B, c.in, c.batchFirst);
        Inputs in = Inputs.random(s, T, B, c.batchFirst, rnd);
        PreparedWeights w = k.prepare(s, weights);
        String what = backend.name() + " " + c;

        Results dense = DirectionCalls.run(k, w, seq, c.batchFirst, x, null, in, true);
        Results hinted = DirectionCalls.run(k, w, seq, c.batchFirst, x, classes, in, true);
        hinted.assertSameBitsButWeightIh(dense, what + ", with the hint vs without");
        assertWeightIhWithinBound(backend, c, s, weights, seq, classes, in, dense, hinted, what);
    }

    /** x with row (t, b) one-hot at {@code classes[t*B + b]}, NaN in the gaps between rows. */
    private static float[] oneHotRows(int[] classes, int T, int B, int width, boolean batchFirst) {
        float[] x = new float[DirectionCalls.size(T, B, width)];
        Arrays.fill(x, Float.NaN);
        SequenceView v = DirectionCalls.view(x, T, B, width, batchFirst);
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                Arrays.fill(x, v.row(t, b), v.row(t, b) + width, 0f);
                x[v.row(t, b) + classes[t * B + b]] = 1f;
            }
        }
        return x;
    }

    /**
     * {@code dW_ih[j][k]} (accumulated onto its initial value {@code g0}) is {@code g0 + sum dG[r][j]} over the
     * rows {@code r} of class {@code k}: products with x in {0, 1} are exact, so with and without the hint a
     * kernel adds the same terms, only in another order (rows ascending for the scatter-add; for a dense
     * product whatever its blocking does, the zero terms exact). Higham (Accuracy and Stability of
     * Numerical Algorithms, 4.2): a float sum of n terms in any order is within
     * {@code gamma_(n-1) * sum |terms|} of the exact sum, {@code gamma_n = n u / (1 - n u)}; with n counting
     * {@code g0} and every row of the class, {@code gamma_n} is a safe bound for each result, which is held
     * to it against the exact sum in double (plus the smallest normal float, for underflow).
     *
     * <p>The terms {@code dG[r][j]}, which the kernels keep to themselves, are read from a second layer
     * whose input has one column per row: its {@code W_ih} column {@code r} is column {@code classes[r]}
     * of this one, and row {@code r} is one-hot at {@code r}. Its gates are this layer's, bit for bit
     * (checked), so its gate gradients are too, and its {@code dW_ih[j][r]}, accumulated from zero, is the
     * single term {@code dG[r][j]}, exactly.
     */
    private static void assertWeightIhWithinBound(Backend backend, Case c, KernelShape s, DirectionWeights weights,
            SequenceGeometry seq, int[] classes, Inputs in, Results dense, Results hinted, String what) {
        int T = c.seqLen, B = c.batch, R = T * B, rows = s.gateRows();
        RecurrentKernel<?> k = KernelAccess.kernels(backend.withThreads(c.threads)).kernel(c.type);
        KernelShape wide = new KernelShape(c.type, R, c.hid, c.proj, c.bias);
        float[] wih = new float[rows * R];
        int[] identity = new int[R];
        for (int r = 0; r < R; r++) {
            identity[r] = r;
            for (int j = 0; j < rows; j++) {
                wih[j * R + r] = weights.weightIh()[j * c.in + classes[r]];
            }
        }
        PreparedWeights ww = k.prepare(wide, new DirectionWeights(wih, weights.weightHh(), weights.biasIh(),
                weights.biasHh(), weights.weightHr()));
        DirectionWeights zeros = new DirectionWeights(new float[rows * R], new float[in.grads().weightHh().length],
                s.bias() ? new float[rows] : null, s.bias() ? new float[rows] : null,
                s.projSize() > 0 ? new float[in.grads().weightHr().length] : null);
        Inputs wideIn = new Inputs(in.h0(), in.c0(), in.dOut(), in.dh(), in.dc(), null, zeros);
        Results terms = DirectionCalls.run(k, ww, seq, c.batchFirst, oneHotRows(identity, T, B, R, c.batchFirst),
                identity, wideIn, false);
        assertArrayEquals(dense.trainOut(), terms.trainOut(), what + ": the one-column-per-row layer's output");
        assertArrayEquals(dense.dh(), terms.dh(), what + ": the one-column-per-row layer's dh0");

        float[] g0 = in.grads().weightIh(), dW = terms.grads().weightIh();
        double[] exact = new double[rows * c.in], magnitude = new double[rows * c.in];
        int[] n = new int[c.in];
        for (int i = 0; i < g0.length; i++) {
            exact[i] = g0[i];
            magnitude[i] = Math.abs(g0[i]);
        }
        for (int r = 0; r < R; r++) {
            int kk = classes[r];
            n[kk]++;
            for (int j = 0; j < rows; j++) {
                double term = dW[j * R + r];
                exact[j * c.in + kk] += term;
                magnitude[j * c.in + kk] += Math.abs(term);
            }
        }
        for (int j = 0; j < rows; j++) {
            for (int kk = 0; kk < c.in; kk++) {
                int i = j * c.in + kk, terms1 = n[kk] + 1;
                double bound = terms1 * U / (1 - terms1 * U) * magnitude[i] + Float.MIN_NORMAL;
                for (Results got : new Results[] {dense, hinted}) {
                    double err = Math.abs(got.grads().weightIh()[i] - exact[i]);
                    if (!(err <= bound)) {
                        throw new AssertionError(what + (got == hinted ? ", with the hint" : ", without the hint")
                                + ": dW_ih[" + j + "][" + kk + "] = " + got.grads().weightIh()[i] + ", expected "
                                + exact[i] + " within " + bound + " (" + terms1 + " terms)");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void aClassOutOfRangeIsRefusedInTheSameWords(Backend backend) {
        final int T = 3, B = 2, IN = 4, H = 5;
        RecurrentKernel<?> k = KernelAccess.kernels(backend).kernel(Recurrence.GRU);
        KernelShape s = new KernelShape(Recurrence.GRU, IN, H, 0, true);
        SplittableRandom rnd = new SplittableRandom(3);
        PreparedWeights w = k.prepare(s, DirectionCalls.weights(s, rnd, 0.5));
        int[] classes = {0, 1, 2, 3, 0, 1};
        float[] x = oneHotRows(classes, T, B, IN, false), out = new float[DirectionCalls.size(T, B, H)];
        float[] ws = new float[Math.toIntExact(k.workspaceSize(s, T, B))];
        float[] tape = new float[Math.toIntExact(k.tapeSize(s, T, B))];
        SequenceGeometry seq = new SequenceGeometry().set(T, B, null, false);
        SequenceView xv = DirectionCalls.view(x, T, B, IN, false), outv = DirectionCalls.view(out, T, B, H, false);
        StateView state = new StateView().set(new float[B * H], 0, null, 0);
        Scratch scratch = new Scratch().set(tape, 0, ws, 0);
        k.forward(w, seq, xv.oneHot(classes), outv, state, scratch); // valid

        int[][] bad = {{0, 1, 2, 3, 4, 1}, {0, -1, 2, 3, 0, 1}, {0, 1, 2, 3, 0}};
        String[] expected = {"x.oneHotClasses[4]: expected a class in 0..3, got 4",
            "x.oneHotClasses[1]: expected a class in 0..3, got -1", "x.oneHotClasses: expected 6 classes (T*B), got 5"};
        DirectionWeights grads = new DirectionWeights(new float[3 * H * IN], new float[3 * H * H], new float[3 * H],
                new float[3 * H], null);
        StateView dState = new StateView().set(new float[B * H], 0, null, 0);
        for (int i = 0; i < bad.length; i++) {
            SequenceView hinted = DirectionCalls.view(x, T, B, IN, false).oneHot(bad[i]);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> k.forward(w, seq, hinted, outv, state, scratch));
            assertEquals(expected[i], e.getMessage(), "forward");
            e = assertThrows(IllegalArgumentException.class,
                    () -> k.backward(w, seq, hinted, outv, dState, null, grads, scratch));
            assertEquals(expected[i], e.getMessage(), "backward");
        }
    }
}
