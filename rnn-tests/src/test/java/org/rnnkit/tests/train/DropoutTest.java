package org.rnnkit.tests.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;

/** Dropout between stacked layers: PyTorch's training-mode semantics, seeded, with exact gradients. */
class DropoutTest {

    private static double dot(Tensor a, Tensor b) {
        double s = 0;
        for (int i = 0; i < a.size(); i++) {
            s += (double) a.data()[i] * b.data()[i];
        }
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void zeroDropoutIsTheInferencePass(Backend backend) {
        RecurrentLayer l = RecurrentLayer.gru(5, 7).numLayers(3).seed(1).backend(backend).build();
        Tensor x = TestData.normal(new SplittableRandom(2), 6, 3, 5);
        LayerOutput inference = l.forward(x);
        LayerOutput training = l.forwardTraining(x, ForwardOptions.defaults().withDropout(0.0, 42)).output();
        assertTrue(inference.output().bitEquals(training.output()));
        assertTrue(inference.hN().bitEquals(training.hN()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void masksAreSeededAndDropAboutP(Backend backend) {
        RecurrentLayer l = RecurrentLayer.lstm(4, 32).numLayers(2).seed(3).backend(backend).build();
        Tensor x = TestData.normal(new SplittableRandom(4), 20, 8, 4);
        LayerOutput a = l.forwardTraining(x, ForwardOptions.defaults().withDropout(0.5, 7)).output();
        LayerOutput b = l.forwardTraining(x, ForwardOptions.defaults().withDropout(0.5, 7)).output();
        LayerOutput c = l.forwardTraining(x, ForwardOptions.defaults().withDropout(0.5, 8)).output();
        assertTrue(a.output().bitEquals(b.output()), "same seed, same masks");
        assertTrue(!a.output().bitEquals(c.output()), "another seed, other masks");
        assertTrue(!a.output().bitEquals(l.forward(x).output()), "dropout changes the top layer's input");
        assertThrows(IllegalArgumentException.class, () -> l.forwardTraining(x, ForwardOptions.defaults().withDropout(1.0, 7)));
    }

    /**
     * The backward pass through the dropout masks matches central differences of the (seeded, hence
     * deterministic) training loss. Float32 differences with step 1e-2 carry a truncation error
     * O(step^2) ~ 1e-4 relative and a rounding error ~1e-7/1e-2 = 1e-5 relative to the loss scale:
     * 2e-3 relative (plus 2e-4 absolute) bounds both with margin, while dropping the mask in the backward
     * pass changes these gradients by tens of percent.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#usable")
    void gradientsFollowTheMasks(Backend backend) {
        SplittableRandom rnd = new SplittableRandom(5);
        RecurrentLayer l = RecurrentLayer.rnn(3, 6, CellType.RNN_TANH).numLayers(2).seed(6).backend(backend).build();
        Tensor x = TestData.normal(rnd, 5, 2, 3);
        Tensor gOut = TestData.normal(rnd, 5, 2, 6);
        double p = 0.4;
        long seed = 77;
        var t = l.forwardTraining(x, ForwardOptions.defaults().withDropout(p, seed));
        Gradients g = l.backward(t, gOut, null, null);
        // d loss / d x[i] and d loss / d weight_ih_l0[j]
        for (int i : new int[] {0, 7, 29}) {
            double fd = difference(l, x, gOut, p, seed, x.data(), i);
            check("input[" + i + "]", g.input().data()[i], fd);
        }
        Map<String, Tensor> sd = l.stateDict();
        for (int j : new int[] {0, 5, 17}) {
            float[] w = sd.get("weight_ih_l0").data();
            float keep = w[j];
            w[j] = keep + 1e-2f;
            double up = loss(RecurrentLayer.of(l.config(), sd, backend), x, gOut, p, seed);
            w[j] = keep - 1e-2f;
            double down = loss(RecurrentLayer.of(l.config(), sd, backend), x, gOut, p, seed);
            w[j] = keep;
            check("weight_ih_l0[" + j + "]", g.parameters().get("weight_ih_l0").data()[j], (up - down) / 2e-2);
        }
    }

    private static double difference(RecurrentLayer l, Tensor x, Tensor gOut, double p, long seed, float[] arr, int i) {
        float keep = arr[i];
        arr[i] = keep + 1e-2f;
        double up = loss(l, x, gOut, p, seed);
        arr[i] = keep - 1e-2f;
        double down = loss(l, x, gOut, p, seed);
        arr[i] = keep;
        return (up - down) / 2e-2;
    }

    private static double loss(RecurrentLayer l, Tensor x, Tensor gOut, double p, long seed) {
        return dot(l.forwardTraining(x, ForwardOptions.defaults().withDropout(p, seed)).output().output(), gOut);
    }

    private static void check(String what, float got, double fd) {
        double tol = 2e-4 + 2e-3 * Math.abs(fd);
        assertEquals(fd, got, tol, what + ": backward " + got + " vs central difference " + fd);
    }
}
