package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/**
 * A batch row's results do not depend on the rows it runs with: each row of a batch gives, bit for bit,
 * what it gives alone. Backends choose their method by batch size (the native backend computes the input
 * projection per step from batch 16 on, apart before that), so this holds only if every method adds the
 * same terms in the same order. Odd sizes put rows in partial blocks and outputs in partial panels;
 * lengths and both directions change which rows run together at each step.
 */
class RowIndependenceTest {
    private static final int T = 7, INPUT = 37, HIDDEN = 70;

    private static Tensor normal(long seed, int... shape) {
        return TestData.normal(new SplittableRandom(seed), shape);
    }

    /** Row b of a tensor laid out (d0, B, d2). */
    private static Tensor row(Tensor t, int b) {
        int d0 = t.dim(0), batch = t.dim(1), d2 = t.dim(2);
        float[] out = new float[d0 * d2];
        for (int i = 0; i < d0; i++) {
            System.arraycopy(t.data(), (i * batch + b) * d2, out, i * d2, d2);
        }
        return Tensor.wrap(out, d0, 1, d2);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void eachRowGivesWhatItGivesAlone(Backend backend) {
        for (CellType type : new CellType[] {CellType.LSTM, CellType.GRU, CellType.RNN_TANH}) {
            for (int batch : new int[] {17, 20}) {
                RecurrentLayer layer = RecurrentLayer.builder(type).inputSize(INPUT).hiddenSize(HIDDEN).numLayers(2)
                        .bidirectional(true).seed(5 + batch).backend(backend).build();
                Tensor x = normal(batch, T, batch, INPUT), h0 = normal(100 + batch, 4, batch, HIDDEN);
                Tensor c0 = type == CellType.LSTM ? normal(200 + batch, 4, batch, HIDDEN) : null;
                int[] lengths = new int[batch];
                for (int b = 0; b < batch; b++) {
                    lengths[b] = 1 + (b * 5) % T;
                }
                lengths[3] = T;
                Workspace ws = new Workspace();
                LayerOutput all = layer.forward(x, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0).withWorkspace(ws));
                for (int b = 0; b < batch; b++) {
                    LayerOutput one = layer.forward(row(x, b), ForwardOptions.defaults().withLengths(new int[] {lengths[b]}).withInitialState(row(h0, b), c0 == null ? null : row(c0, b)).withWorkspace(ws));
                    String what = backend.name() + " " + type + " B=" + batch + " row " + b;
                    assertBits(row(all.output(), b), one.output(), what + ": output");
                    assertBits(row(all.hN(), b), one.hN(), what + ": h_n");
                    if (c0 != null) {
                        assertBits(row(all.cN(), b), one.cN(), what + ": c_n");
                    }
                }
            }
        }
    }

    private static void assertBits(Tensor want, Tensor got, String what) {
        float[] w = want.data(), g = got.data();
        assertEquals(w.length, g.length, what + ": size");
        for (int i = 0; i < w.length; i++) {
            if (Float.floatToRawIntBits(w[i]) != Float.floatToRawIntBits(g[i])) {
                throw new AssertionError(what + ": value " + i + " is " + g[i] + " alone, " + w[i] + " in the batch");
            }
        }
    }
}
