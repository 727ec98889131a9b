package org.rnnkit.tests.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.LayerTrace;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.TrainableLayer;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/**
 * {@link TrainableLayer}: the same kernels in the same order as {@link RecurrentLayer}'s training passes, so
 * the same bits, while its memory is reused between steps; and the kernels see parameter changes exactly
 * when {@link TrainableLayer#parametersChanged} is called.
 */
class TrainableLayerTest {

    /** Stacked, bidirectional, with lengths, dropout and an initial state: every path of the passes. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void stepsGiveTheBitsOfTheImmutableLayerAndReuseTheirMemory(Backend backend) {
        RecurrentLayer ref = RecurrentLayer.lstm(5, 6).numLayers(2).bidirectional(true).seed(3).backend(backend).build();
        TrainableLayer live = TrainableLayer.of(ref.config(), ref.stateDict(), backend);
        SplittableRandom rnd = new SplittableRandom(8);
        LayerOutput previous = null;
        for (int seqLen : new int[] {7, 7, 4}) { // the second call reuses, the third shrinks
            Tensor x = TestData.normal(rnd, seqLen, 3, 5), gOut = TestData.normal(rnd, seqLen, 3, 12);
            Tensor h0 = TestData.normal(rnd, 4, 3, 6), ghN = TestData.normal(rnd, 4, 3, 6);
            ForwardOptions options = ForwardOptions.defaults().withLengths(new int[] {seqLen, seqLen - 2, 1})
                    .withInitialState(h0, null).withDropout(0.3, 11);
            LayerTrace trace = ref.forwardTraining(x, options);
            Gradients want = ref.backward(trace, gOut, ghN, null);
            LayerOutput got = live.forward(x, options);
            assertTrue(got.output().bitEquals(trace.output().output()), seqLen + ": output");
            assertTrue(got.hN().bitEquals(trace.output().hN()) && got.cN().bitEquals(trace.output().cN()), seqLen + ": states");
            if (previous != null && previous.output().sameShape(got.output().shape())) {
                assertSame(previous.output(), got.output(), "a step of the same shape reuses the output");
            }
            previous = got;
            Gradients g = live.backward(gOut, ghN, null);
            assertNull(g.input(), "a trainable layer computes no input gradient");
            assertTrue(g.h0().bitEquals(want.h0()) && g.c0().bitEquals(want.c0()), seqLen + ": state gradients");
            for (Map.Entry<String, Tensor> e : want.parameters().entrySet()) {
                assertTrue(g.parameters().get(e.getKey()).bitEquals(e.getValue()), seqLen + ": " + e.getKey());
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void theKernelsSeeChangedParametersAfterParametersChanged(Backend backend) {
        for (RecurrentLayer.Builder b : new RecurrentLayer.Builder[] {RecurrentLayer.gru(4, 9),
                RecurrentLayer.lstm(4, 9).projSize(3), RecurrentLayer.rnn(4, 9, org.rnnkit.nn.CellType.RNN_RELU)}) {
            RecurrentLayer initial = b.seed(5).backend(backend).build();
            Map<String, Tensor> params = initial.stateDict();
            TrainableLayer live = TrainableLayer.of(initial.config(), params, backend);
            Tensor x = TestData.normal(new SplittableRandom(6), 5, 2, 4);
            for (Tensor p : params.values()) { // an "optimizer step"
                float[] d = p.data();
                for (int i = 0; i < d.length; i++) {
                    d[i] = d[i] * 0.5f + 0.01f;
                }
            }
            live.parametersChanged();
            LayerOutput fresh = RecurrentLayer.of(initial.config(), params, backend).forward(x);
            LayerOutput got = live.forward(x, ForwardOptions.defaults());
            assertTrue(got.output().bitEquals(fresh.output()), initial.config() + ": output after the change");
            assertTrue(!got.output().bitEquals(initial.forward(x).output()), "the change matters");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void aBackwardPassNeedsAForwardPassWithTheCurrentParameters(Backend backend) {
        RecurrentLayer l = RecurrentLayer.gru(3, 4).seed(1).backend(backend).build();
        Map<String, Tensor> params = new LinkedHashMap<>(l.stateDict());
        TrainableLayer live = TrainableLayer.of(l.config(), params, backend);
        String expected = "backward: expected a forward pass since the last parametersChanged(), got none";
        assertEquals(expected, assertThrows(IllegalStateException.class, () -> live.backward(null, null, null)).getMessage());
        live.forward(TestData.normal(new SplittableRandom(1), 2, 1, 3), ForwardOptions.defaults());
        live.parametersChanged();
        assertEquals(expected, assertThrows(IllegalStateException.class, () -> live.backward(null, null, null)).getMessage());
        params.remove("bias_hh_l0");
        assertThrows(IllegalArgumentException.class, () -> TrainableLayer.of(l.config(), params, backend));
    }
}
