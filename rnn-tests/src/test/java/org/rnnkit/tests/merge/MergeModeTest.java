package org.rnnkit.tests.merge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/** Bidirectional merge modes (Keras's sum, mul, average beside PyTorch's concatenation), with gradients. */
class MergeModeTest {

    /** One layer: the merged output is exactly the mode applied to the two halves of the concatenated one. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void mergedOutputCombinesTheConcatenatedHalves(Backend backend) {
        for (MergeMode mode : new MergeMode[] {MergeMode.SUM, MergeMode.MUL, MergeMode.AVERAGE}) {
            RecurrentLayer concat = RecurrentLayer.lstm(4, 6).bidirectional(true).batchFirst(true).seed(5)
                    .backend(backend).build();
            RecurrentLayer merged = RecurrentLayer.of(new RecurrentConfig(CellType.LSTM, 4, 6, 1, true, true, true, 0,
                    mode), concat.stateDict(), backend);
            Tensor x = TestData.normal(new SplittableRandom(6), 3, 7, 4);
            LayerOutput a = concat.forward(x), b = merged.forward(x);
            assertTrue(a.hN().bitEquals(b.hN()), mode + ": h_n keeps both directions");
            assertEquals(3 * 7 * 6, b.output().size());
            for (int r = 0; r < 3 * 7; r++) {
                for (int j = 0; j < 6; j++) {
                    float want = mode.apply(a.output().data()[r * 12 + j], a.output().data()[r * 12 + 6 + j]);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(b.output().data()[r * 6 + j]),
                            mode + " row " + r + " j " + j);
                }
            }
        }
    }

    /**
     * Stacked merged layers: the backward pass matches central differences of the loss
     * {@code sum(output * gOut) + sum(h_n * ghN)} for the input and a weight of the lower layer. The
     * float32 differences (step 1e-2) carry errors of ~1e-4 relative (truncation, O(step^2)) and ~1e-5
     * (rounding); 2e-3 relative plus 2e-4 absolute bounds them, while a wrong merge gradient (e.g.
     * MUL treated as SUM, or AVERAGE without the 1/2) is off by tens of percent.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void mergedGradientsMatchFiniteDifferences(Backend backend) {
        for (MergeMode mode : new MergeMode[] {MergeMode.SUM, MergeMode.MUL, MergeMode.AVERAGE}) {
            SplittableRandom rnd = new SplittableRandom(mode.ordinal() + 10);
            RecurrentLayer l = RecurrentLayer.gru(3, 5).numLayers(2).bidirectional(true).mergeMode(mode).seed(7)
                    .backend(backend).build();
            Tensor x = TestData.normal(rnd, 6, 2, 3), gOut = TestData.normal(rnd, 6, 2, 5), ghN = TestData.normal(rnd, 4, 2, 5);
            Gradients g = l.backward(l.forwardTraining(x), gOut, ghN, null);
            for (int i : new int[] {0, 13, 35}) {
                float keep = x.data()[i];
                x.data()[i] = keep + 1e-2f;
                double up = loss(l, x, gOut, ghN);
                x.data()[i] = keep - 1e-2f;
                double down = loss(l, x, gOut, ghN);
                x.data()[i] = keep;
                check(mode + " input[" + i + "]", g.input().data()[i], (up - down) / 2e-2);
            }
            Map<String, Tensor> sd = l.stateDict();
            for (String name : new String[] {"weight_ih_l0", "weight_hh_l0_reverse", "weight_ih_l1"}) {
                float[] w = sd.get(name).data();
                int j = w.length / 3;
                float keep = w[j];
                w[j] = keep + 1e-2f;
                double up = loss(RecurrentLayer.of(l.config(), sd, backend), x, gOut, ghN);
                w[j] = keep - 1e-2f;
                double down = loss(RecurrentLayer.of(l.config(), sd, backend), x, gOut, ghN);
                w[j] = keep;
                check(mode + " " + name + "[" + j + "]", g.parameters().get(name).data()[j], (up - down) / 2e-2);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void modeIsSavedAndLoaded(Backend backend, @TempDir Path tmp) throws Exception {
        RecurrentLayer l = RecurrentLayer.lstm(3, 4).numLayers(2).bidirectional(true).mergeMode(MergeMode.AVERAGE)
                .seed(2).backend(backend).build();
        Path f = tmp.resolve("m.safetensors");
        l.save(f);
        RecurrentLayer back = RecurrentLayer.load(f, backend);
        assertEquals(MergeMode.AVERAGE, back.config().mergeMode());
        assertEquals(4, back.stateDict().get("weight_ih_l1").dim(1), "layer 1 reads H_out = 4 merged values");
        Tensor x = TestData.normal(new SplittableRandom(3), 5, 2, 3);
        assertTrue(l.forward(x).output().bitEquals(back.forward(x).output()));
        assertTrue(Files.size(f) > 0);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RecurrentLayer.gru(3, 4).mergeMode(MergeMode.SUM).build());
        assertTrue(e.getMessage().contains("needs bidirectional=true"), e.getMessage());
    }

    private static double loss(RecurrentLayer l, Tensor x, Tensor gOut, Tensor ghN) {
        LayerOutput o = l.forward(x);
        double s = 0;
        for (int i = 0; i < gOut.size(); i++) {
            s += (double) o.output().data()[i] * gOut.data()[i];
        }
        for (int i = 0; i < ghN.size(); i++) {
            s += (double) o.hN().data()[i] * ghN.data()[i];
        }
        return s;
    }

    private static void check(String what, float got, double fd) {
        assertEquals(fd, got, 2e-4 + 2e-3 * Math.abs(fd), what + ": backward " + got + " vs central difference " + fd);
    }
}
