package org.rnnkit.tests.variant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.StreamState;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;
import org.rnnkit.tests.TestData;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * Layers with cell variants beyond what the property tests compare with the oracle: streaming gives the
 * bits of a whole-sequence run, the thread count changes no bit (forward and backward), a reverse-only
 * layer is exactly the reverse half of a bidirectional one, the model file round-trips the variant, the
 * configuration's normal form, and misconfigurations are refused with a message naming the option.
 */
class VariantLayerTest {

    /** One variant per recurrence, each with several options at once. */
    static List<RecurrentConfig> variants(int input, int hidden) {
        Activation hard = new Activation(Activation.Function.HARD_SIGMOID, 0.25f, 0.5f);
        return List.of(
                RecurrentConfig.lstm(input, hidden).withVariant(CellVariant.NONE.withPeepholes(true).withClip(3f)
                        .withActivations(hard, Activation.of(Activation.Function.SOFTSIGN), Activation.TANH)),
                RecurrentConfig.lstm(input, hidden).withVariant(CellVariant.NONE.withInputForget(true).withPeepholes(true)),
                RecurrentConfig.gru(input, hidden).withVariant(CellVariant.NONE.withResetBeforeProduct(true)
                        .withActivations(Activation.SIGMOID, Activation.of(Activation.Function.ELU))),
                RecurrentConfig.gru(input, hidden).withVariant(CellVariant.NONE.withClip(2f)),
                RecurrentConfig.rnn(input, hidden, CellType.RNN_TANH).withVariant(CellVariant.NONE.withClip(1.5f)
                        .withActivations(Activation.of(Activation.Function.LEAKY_RELU, 0.1f))));
    }

    /** PyTorch's default initialisation from {@code seed}. */
    static Map<String, Tensor> weights(RecurrentConfig cfg, long seed) {
        return org.rnnkit.nn.Initializer.uniform(ParameterLayout.of(cfg), cfg.hiddenSize(), seed);
    }

    static RecurrentLayer layer(RecurrentConfig cfg, Map<String, Tensor> w, Backend backend) {
        return RecurrentLayer.of(cfg, w, backend);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void streamingGivesTheBitsOfAWholeRun(Backend backend) {
        for (RecurrentConfig base : variants(5, 19)) {
            RecurrentConfig cfg = base.withNumLayers(2);
            RecurrentLayer l = layer(cfg, weights(cfg, 11), backend);
            SplittableRandom rnd = new SplittableRandom(12);
            int len = 9, batch = 3;
            Tensor x = TestData.normal(rnd, len, batch, 5);
            Tensor h0 = TestData.normal(rnd, 2, batch, 19);
            Tensor c0 = cfg.type() == CellType.LSTM ? TestData.normal(rnd, 2, batch, 19) : null;
            LayerOutput whole = l.forward(x, h0, c0);
            StreamState st = l.newStream(batch);
            st.set(h0, c0);
            for (int t = 0; t < len; t += 3) { // chunks of three steps
                Tensor chunk = Tensor.zeros(3, batch, 5);
                System.arraycopy(x.data(), t * batch * 5, chunk.data(), 0, 3 * batch * 5);
                Tensor y = l.stream(st, chunk);
                for (int i = 0; i < y.size(); i++) {
                    assertEquals(Float.floatToRawIntBits(whole.output().data()[t * batch * 19 + i]),
                            Float.floatToRawIntBits(y.data()[i]), cfg.variant() + " t=" + t + " i=" + i);
                }
            }
            assertTrue(st.h().bitEquals(whole.hN()), cfg.variant() + ": h");
        }
    }

    /** Sizes large enough for a splitting backend to split (batched, and batch 1 by hidden units). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void theThreadCountChangesNoBit(Backend backend) {
        BackendSource.require(backend);
        for (RecurrentConfig base : variants(64, 128)) {
            for (int batch : new int[] {1, 16}) {
                RecurrentConfig cfg = base.withBidirectional(batch > 1);
                RecurrentLayer one = layer(cfg, weights(cfg, 5), backend.withThreads(1));
                SplittableRandom rnd = new SplittableRandom(31 + batch);
                Tensor x = TestData.normal(rnd, 50, batch, 64);
                var t1 = one.forwardTraining(x);
                Tensor gOut = TestData.normal(rnd, t1.output().output().shape());
                var g1 = one.backward(t1, gOut, null, null);
                RecurrentLayer two = one.withBackend(backend.withThreads(2));
                var t2 = two.forwardTraining(x);
                var g2 = two.backward(t2, gOut, null, null);
                String what = backend.name() + " " + cfg.type() + " " + cfg.variant() + " B=" + batch;
                assertTrue(t2.output().output().bitEquals(t1.output().output()), what + ": output");
                assertTrue(t2.output().hN().bitEquals(t1.output().hN()), what + ": h_n");
                assertTrue(g2.input().bitEquals(g1.input()), what + ": input gradient");
                for (var p : g1.parameters().entrySet()) {
                    assertTrue(g2.parameters().get(p.getKey()).bitEquals(p.getValue()), what + ": " + p.getKey());
                }
            }
        }
    }

    /**
     * A reverse-only layer computes what the reverse direction of a bidirectional layer with the same
     * weights computes: its output rows, final states and gradients, bit for bit (the same kernel call).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void aReverseLayerIsTheReverseHalfOfABidirectionalOne(Backend backend) {
        for (RecurrentConfig base : variants(6, 7)) {
            RecurrentConfig bi = base.withBidirectional(true), rev = base.withReverse(true);
            Map<String, Tensor> wBi = weights(bi, 21), wRev = new LinkedHashMap<>();
            wBi.forEach((k, v) -> {
                if (k.endsWith("_reverse")) {
                    wRev.put(k.substring(0, k.length() - "_reverse".length()), v);
                }
            });
            int[] lengths = {8, 3, 5};
            Tensor x = TestData.normal(new SplittableRandom(22), 8, 3, 6);
            ForwardOptions opts = ForwardOptions.defaults().withLengths(lengths);
            LayerOutput both = layer(bi, wBi, backend).forward(x, opts);
            LayerOutput one = layer(rev, wRev, backend).forward(x, opts);
            int hid = 7;
            for (int r = 0; r < 8 * 3; r++) {
                for (int j = 0; j < hid; j++) {
                    assertEquals(Float.floatToRawIntBits(both.output().data()[r * 2 * hid + hid + j]),
                            Float.floatToRawIntBits(one.output().data()[r * hid + j]), rev.variant() + " row " + r);
                }
            }
            for (int i = 0; i < 3 * hid; i++) {
                assertEquals(both.hN().data()[3 * hid + i], one.hN().data()[i], 0f, "h_n " + i);
            }
        }
    }

    @Test
    void theModelFileKeepsTheVariant(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Backend scalar = Backends.named("scalar");
        for (RecurrentConfig base : variants(4, 6)) {
            for (RecurrentConfig cfg : List.of(base.withBidirectional(true), base.withReverse(true).withNumLayers(2))) {
                RecurrentLayer l = RecurrentLayer.of(cfg, weights(cfg, 3), scalar);
                Path f = dir.resolve("m.safetensors");
                l.save(f);
                RecurrentLayer back = RecurrentLayer.load(f, scalar);
                assertEquals(cfg, back.config());
                Tensor x = TestData.normal(new SplittableRandom(4), 5, 2, 4);
                assertTrue(back.forward(x).output().bitEquals(l.forward(x).output()), cfg.toString());
                Files.delete(f);
            }
        }
        // activations per direction survive too
        RecurrentConfig perDirection = RecurrentConfig.gru(3, 4).withBidirectional(true).withVariant(CellVariant.NONE
                .withActivations(Activation.SIGMOID, Activation.TANH, Activation.of(Activation.Function.HARD_SIGMOID),
                        Activation.of(Activation.Function.SOFTSIGN)));
        Path f = dir.resolve("bi.safetensors");
        RecurrentLayer.of(perDirection, weights(perDirection, 1), scalar).save(f);
        assertEquals(perDirection, RecurrentLayer.load(f, scalar).config());
    }

    @Test
    void theConfigurationHasANormalForm() {
        CellVariant relu = CellVariant.NONE.withActivations(Activation.RELU);
        RecurrentConfig c = RecurrentConfig.rnn(3, 4, CellType.RNN_TANH).withVariant(relu);
        assertEquals(CellType.RNN_RELU, c.type());
        assertTrue(c.variant().isDefault());
        RecurrentConfig lstm = RecurrentConfig.lstm(3, 4).withVariant(CellVariant.NONE.withActivations(Activation.SIGMOID,
                Activation.TANH, Activation.TANH));
        assertEquals(RecurrentConfig.lstm(3, 4), lstm);
        RecurrentConfig bi = RecurrentConfig.gru(3, 4).withBidirectional(true).withVariant(CellVariant.NONE
                .withActivations(Activation.SIGMOID, Activation.RELU, Activation.SIGMOID, Activation.RELU));
        assertEquals(List.of(Activation.SIGMOID, Activation.RELU), bi.variant().activations());
        assertEquals("HardSigmoid(0.2,0.5)", Activation.of(Activation.Function.HARD_SIGMOID).toString());
        assertEquals(Activation.of(Activation.Function.LEAKY_RELU, 0.1f), Activation.parse("leaky_relu(0.1)"));
    }

    @Test
    void misconfigurationsAreRefusedWithTheirName() {
        assertMessage("peepholes: only LSTM layers have peepholes; got them for GRU",
                () -> RecurrentConfig.gru(3, 4).withVariant(CellVariant.NONE.withPeepholes(true)));
        assertMessage("reset_before_product: only GRU layers have a reset gate; got it for LSTM",
                () -> RecurrentConfig.lstm(3, 4).withVariant(CellVariant.NONE.withResetBeforeProduct(true)));
        assertMessage("activations: a LSTM layer takes 3 activations, got 2: [Sigmoid, Tanh]",
                () -> RecurrentConfig.lstm(3, 4).withVariant(CellVariant.NONE.withActivations(Activation.SIGMOID,
                        Activation.TANH)));
        assertMessage("clip: expected a positive bound (or +Infinity for none), got 0.0",
                () -> CellVariant.NONE.withClip(0f));
        assertMessage("reverse: a bidirectional layer already runs both directions; reverse=true needs"
                + " bidirectional=false", () -> RecurrentConfig.lstm(3, 4).withBidirectional(true).withReverse(true));
        assertMessage("activation: expected one of Sigmoid, Tanh, Relu, HardSigmoid, Affine, LeakyRelu,"
                + " ThresholdedRelu, ScaledTanh, Elu, Softsign, Softplus, got 'Swish'", () -> Activation.parse("Swish"));
        RecurrentConfig rev = RecurrentConfig.gru(3, 4).withReverse(true);
        RecurrentLayer l = RecurrentLayer.of(rev, weights(rev, 1), Backends.named("scalar"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> l.newStream(1));
        assertEquals("a reverse layer cannot stream: its reverse direction starts at the end of the sequence; run"
                + " whole sequences with forward()", e.getMessage());
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, call).getMessage());
    }
}
