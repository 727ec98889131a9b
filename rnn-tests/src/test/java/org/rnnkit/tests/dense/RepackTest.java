package org.rnnkit.tests.dense;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
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
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.tests.dense.DirectionCalls.Inputs;
import org.rnnkit.tests.dense.DirectionCalls.Results;

/**
 * {@link RecurrentKernel#update} gives weights that compute, bit for bit, what weights freshly prepared from
 * the changed values compute: inference and training forward, and every gradient. A kernel that re-packs
 * in place (overrides {@code repack}) returns the same weights object and keeps no reference to the
 * changed arrays; updated back to the first values, the weights give the first results again (nothing of
 * the old values survives, nothing of the new is missed). Weights of another kernel are refused.
 */
class RepackTest {
    /** Every packed part: gates across panel boundaries (H = 70), GRU's W_hn and b_hn, the projection, no bias. */
    private static final KernelShape[] SHAPES = {
        new KernelShape(Recurrence.LSTM, 7, 5, 0, true),
        new KernelShape(Recurrence.LSTM, 6, 9, 4, true),
        new KernelShape(Recurrence.LSTM, 13, 70, 0, false),
        new KernelShape(Recurrence.GRU, 5, 70, 0, true),
        new KernelShape(Recurrence.GRU, 9, 3, 0, false),
        new KernelShape(Recurrence.RNN_TANH, 4, 6, 0, true),
        new KernelShape(Recurrence.RNN_RELU, 11, 66, 0, false),
    };

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void updatedWeightsComputeWhatFreshlyPreparedOnesCompute(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(41);
        for (KernelShape s : SHAPES) {
            for (int batch : new int[] {3, 17}) { // the native input projection apart, and per step
                check(backend, s, batch, rnd);
            }
        }
    }

    private static void check(Backend backend, KernelShape s, int batch, SplittableRandom rnd) {
        RecurrentKernel<?> k = KernelAccess.kernels(backend).kernel(s.type());
        String what = backend.name() + " " + s + " B=" + batch;
        final int seqLen = 5;
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) {
            lengths[b] = 1 + rnd.nextInt(seqLen);
        }
        lengths[0] = seqLen;
        SequenceGeometry seq = new SequenceGeometry().set(seqLen, batch, lengths, false);
        float[] x = DirectionCalls.random(rnd, seqLen, batch, s.inputSize(), false);
        Inputs in = Inputs.random(s, seqLen, batch, false, rnd);
        DirectionWeights first = DirectionCalls.weights(s, rnd, 0.5), changed = DirectionCalls.weights(s, rnd, 0.5);

        PreparedWeights w = k.prepare(s, DirectionCalls.copy(first));
        Results before = DirectionCalls.run(k, w, seq, false, x, null, in, true);
        Results fresh = DirectionCalls.run(k, k.prepare(s, DirectionCalls.copy(changed)), seq, false, x, null, in, true);

        DirectionWeights given = DirectionCalls.copy(changed);
        PreparedWeights updated = k.update(w, given);
        boolean inPlace = repacksInPlace(k);
        if (inPlace) {
            assertSame(w, updated, what + ": re-packed in place");
            for (float[] a : new float[][] {given.weightIh(), given.weightHh(), given.biasIh(), given.biasHh(),
                given.weightHr()}) {
                if (a != null) {
                    Arrays.fill(a, Float.NaN); // the weights must hold their own copy
                }
            }
        }
        DirectionCalls.run(k, updated, seq, false, x, null, in, true).assertSameBits(fresh, what + ": updated vs fresh");

        PreparedWeights back = k.update(updated, DirectionCalls.copy(first));
        if (inPlace) {
            assertSame(w, back, what + ": re-packed in place again");
        }
        DirectionCalls.run(k, back, seq, false, x, null, in, true).assertSameBits(before, what + ": updated back vs first");
    }

    /** Whether the kernel overrides {@code RecurrentKernel.repack}, i.e. updates weights in place. */
    private static boolean repacksInPlace(RecurrentKernel<?> k) {
        for (Class<?> c = k.getClass(); c != RecurrentKernel.class; c = c.getSuperclass()) {
            if (Arrays.stream(c.getDeclaredMethods()).anyMatch(m -> m.getName().equals("repack"))) {
                return true;
            }
        }
        return false;
    }

    @ParameterizedTest
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void anUpdateOfWeightsOfAnotherKernelIsRefused(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(43);
        KernelShape lstm = SHAPES[0], gru = new KernelShape(Recurrence.GRU, 7, 5, 0, true);
        RecurrentKernel<?> k = KernelAccess.kernels(backend).kernel(Recurrence.LSTM);
        DirectionWeights changed = DirectionCalls.weights(lstm, rnd, 0.5);

        PreparedWeights foreign = () -> lstm; // weights no kernel of this backend prepared
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> k.update(foreign, changed));
        assertTrue(e.getMessage().startsWith("weights: expected ") && e.getMessage().contains(" prepared by this kernel, got "),
                e.getMessage());

        PreparedWeights ofGru = KernelAccess.kernels(backend).kernel(Recurrence.GRU).prepare(gru,
                DirectionCalls.weights(gru, rnd, 0.5));
        assertThrows(IllegalArgumentException.class, () -> k.update(ofGru, changed), "weights of the GRU kernel");

        PreparedWeights w = k.prepare(lstm, DirectionCalls.weights(lstm, rnd, 0.5));
        DirectionWeights shortHh = new DirectionWeights(changed.weightIh(), Arrays.copyOf(changed.weightHh(), 99),
                changed.biasIh(), changed.biasHh(), null);
        e = assertThrows(IllegalArgumentException.class, () -> k.update(w, shortHh));
        assertEquals("changed.weight_hh: expected 100 floats, got 99", e.getMessage());
        NullPointerException npe = assertThrows(NullPointerException.class, () -> k.update(w, null));
        assertEquals("changed: expected DirectionWeights, got null", npe.getMessage());
    }
}
