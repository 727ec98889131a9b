package org.rnnkit.tests.dense;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.LayerTrace;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/**
 * One-hot input recognised by the layer (batch-first, variable lengths, stacked, bidirectional) gives what the
 * dense product gives. The dense side is forced without touching the layer: the same rows scaled by 2 (not
 * one-hot, so multiplied) through {@code weight_ih_l0 / 2}; both scalings are exact, so each pre-activation
 * is the same bias plus the same weight, and the forward results must be bit-identical. The gradient of
 * {@code weight_ih_l0} is the same terms in another order (a lookup's scatter-add against a product), scaled
 * by exactly 2: within {@code gamma_n * sum|terms|}, bounded here by {@code n u} of the largest magnitude
 * times the number of rows.
 */
class OneHotInputTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void recognisedOneHotInputGivesTheDenseResults(Backend backend) {
        int classes = 11, seqLen = 7, batch = 5;
        for (CellType type : new CellType[] {CellType.LSTM, CellType.GRU, CellType.RNN_TANH}) {
            RecurrentLayer lookup = RecurrentLayer.builder(type).inputSize(classes).hiddenSize(9).numLayers(2)
                    .bidirectional(true).batchFirst(true).seed(3).backend(backend).build();
            Map<String, Tensor> halved = new LinkedHashMap<>(lookup.stateDict());
            for (String w : new String[] {"weight_ih_l0", "weight_ih_l0_reverse"}) {
                Tensor t = halved.get(w).copy();
                for (int i = 0; i < t.size(); i++) {
                    t.data()[i] *= 0.5f;
                }
                halved.put(w, t);
            }
            RecurrentLayer dense = RecurrentLayer.of(lookup.config(), halved, backend);
            SplittableRandom rnd = new SplittableRandom(7);
            Tensor oneHot = Tensor.zeros(batch, seqLen, classes), twos = Tensor.zeros(batch, seqLen, classes);
            for (int r = 0; r < batch * seqLen; r++) {
                int c = rnd.nextInt(classes);
                oneHot.data()[r * classes + c] = 1f;
                twos.data()[r * classes + c] = 2f;
            }
            ForwardOptions o = ForwardOptions.defaults().withLengths(new int[] {7, 3, 1, 5, 7});
            LayerTrace a = lookup.forwardTraining(oneHot, o), b = dense.forwardTraining(twos, o);
            assertTrue(a.output().output().bitEquals(b.output().output()), type + ": output");
            assertTrue(a.output().hN().bitEquals(b.output().hN()), type + ": h_n");
            Tensor gOut = TestData.normal(rnd, a.output().output().shape());
            Gradients ga = lookup.backward(a, gOut, null, null), gb = dense.backward(b, gOut, null, null);
            for (Map.Entry<String, Tensor> e : ga.parameters().entrySet()) {
                float[] x = e.getValue().data(), y = gb.parameters().get(e.getKey()).data();
                boolean scaled = e.getKey().startsWith("weight_ih_l0");
                double max = 0;
                for (float v : x) {
                    max = Math.max(max, Math.abs(v));
                }
                double bound = scaled ? (batch * seqLen + 1) * Math.ulp(1.0f) * max + Float.MIN_NORMAL : 0;
                for (int i = 0; i < x.length; i++) {
                    double expected = scaled ? 2.0 * x[i] : x[i];
                    assertEquals(expected, y[i], bound, type + ": " + e.getKey() + "[" + i + "]");
                }
            }
            LayerOutput inference = lookup.forward(oneHot, o);
            assertTrue(inference.output().bitEquals(a.output().output()), type + ": inference path");
        }
    }
}
