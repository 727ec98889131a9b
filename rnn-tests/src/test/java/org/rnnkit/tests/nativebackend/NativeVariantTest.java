package org.rnnkit.tests.nativebackend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.Gradients;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.LayerTrace;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.StreamState;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;
import org.rnnkit.tests.TestData;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.Activation.Function;
import org.rnnkit.variant.CellVariant;

/**
 * Cell variants on the native backend's paths that the property tests do not draw: batch 1 with steps
 * split by hidden units (LSTM 256, GRU 256, RNN 512), 17 rows (the input projection inside the steps, rows
 * split between threads), lengths with both directions, and streaming. On each: the scalar reference
 * within the golden tolerances (forward and every gradient, peepholes included), the same bits at 1, 2
 * and 3 threads (inference, training forward and gradients), and chunked streaming equal to one call.
 * Runs under each of the native executions of the pom (AVX-512, AVX2, generic kernels).
 */
class NativeVariantTest {

    record Case(String name, CellType type, int input, int hidden, int proj, int layers, boolean bidirectional,
            CellVariant variant) {
        RecurrentLayer build(Backend backend) {
            return RecurrentLayer.builder(type).inputSize(input).hiddenSize(hidden).projSize(proj).numLayers(layers)
                    .bidirectional(bidirectional).variant(variant).seed(17).backend(backend).build();
        }
    }

    static final CellVariant LSTM_PEEP_ACTS = new CellVariant(List.of(new Activation(Function.HARD_SIGMOID, 0.25f, 0.5f),
            Activation.of(Function.SOFTSIGN), Activation.of(Function.ELU)), 3f, true, false, false);

    static List<Case> cases() {
        List<Case> l = new ArrayList<>();
        l.add(new Case("lstm-256 peepholes", CellType.LSTM, 32, 256, 0, 1, false, CellVariant.NONE.withPeepholes(true)));
        l.add(new Case("lstm-256 activations, clip, peepholes", CellType.LSTM, 32, 256, 0, 2, false, LSTM_PEEP_ACTS));
        l.add(new Case("lstm-24 projection, peepholes, input_forget", CellType.LSTM, 9, 24, 5, 2, true,
                CellVariant.NONE.withPeepholes(true).withInputForget(true).withClip(2f)));
        l.add(new Case("gru-256 activations", CellType.GRU, 32, 256, 0, 1, false,
                CellVariant.NONE.withActivations(new Activation(Function.HARD_SIGMOID, 0.3f, 0.45f),
                        Activation.of(Function.SOFTPLUS))));
        l.add(new Case("gru-256 reset before the product, clip", CellType.GRU, 32, 256, 0, 2, false,
                CellVariant.NONE.withResetBeforeProduct(true).withClip(1.5f)));
        l.add(new Case("gru-40 reset before, activations", CellType.GRU, 11, 40, 0, 2, true,
                CellVariant.NONE.withResetBeforeProduct(true).withActivations(Activation.SIGMOID,
                        new Activation(Function.SCALED_TANH, 0.8f, 1.3f))));
        l.add(new Case("rnn-512 softsign, clip", CellType.RNN_TANH, 32, 512, 0, 1, false,
                CellVariant.NONE.withActivations(Activation.of(Function.SOFTSIGN)).withClip(2.5f)));
        l.add(new Case("rnn-33 leaky relu", CellType.RNN_TANH, 7, 33, 0, 2, true,
                CellVariant.NONE.withActivations(Activation.of(Function.LEAKY_RELU, 0.1f))));
        return l;
    }

    static List<org.junit.jupiter.api.Named<Object[]>> runs() {
        List<org.junit.jupiter.api.Named<Object[]>> l = new ArrayList<>();
        for (Case c : cases()) {
            for (int batch : new int[] {1, 3, 17}) {
                l.add(org.junit.jupiter.api.Named.of(c.name + " B=" + batch, new Object[] {c, batch}));
            }
        }
        return l;
    }

    private static Backend nativeBackend() {
        Backend b = BackendSource.all().map(n -> n.getPayload()).filter(x -> x.name().equals("native")).findFirst()
                .orElse(null);
        org.junit.jupiter.api.Assumptions.assumeTrue(b != null, "native is not among the backends under test");
        return BackendSource.require(b);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void variantRunsLikeTheReferenceOnEveryPath(Object[] run) {
        Case c = (Case) run[0];
        int batch = (Integer) run[1];
        Backend nat = nativeBackend();
        int seqLen = c.hidden >= 256 ? 30 : 23;
        SplittableRandom rnd = new SplittableRandom(c.hashCode() * 31L + batch);
        Tensor x = TestData.normal(rnd, seqLen, batch, c.input);
        int[] lengths = batch == 3 ? new int[] {seqLen, 7, seqLen - 4} : null;
        ForwardOptions opts = ForwardOptions.defaults().withLengths(lengths);
        String what = "native " + c.name + " B=" + batch;

        RecurrentLayer one = c.build(nat.withThreads(1));
        RecurrentLayer ref = one.withBackend(Backends.named("scalar"));
        LayerOutput want = ref.forward(x, opts);
        LayerOutput got = one.forward(x, opts);
        within(Tolerance.FORWARD, what + " output", got.output(), want.output());
        within(Tolerance.FORWARD, what + " h_n", got.hN(), want.hN());
        if (want.cN() != null) {
            within(Tolerance.FORWARD, what + " c_n", got.cN(), want.cN());
        }

        LayerTrace t1 = one.forwardTraining(x, opts);
        assertTrue(t1.output().output().bitEquals(got.output()), what + ": training forward differs from inference");
        Tensor gOut = TestData.normal(new SplittableRandom(99), t1.output().output().shape());
        Gradients g1 = one.backward(t1, gOut, null, null);
        Gradients gRef = ref.backward(ref.forwardTraining(x, opts), gOut, null, null);
        within(Tolerance.GRADIENT, what + " input gradient", g1.input(), gRef.input());
        for (Map.Entry<String, Tensor> p : gRef.parameters().entrySet()) {
            within(Tolerance.GRADIENT, what + " " + p.getKey(), g1.parameters().get(p.getKey()), p.getValue());
        }

        for (int threads : new int[] {2, 3}) {
            RecurrentLayer many = one.withBackend(nat.withThreads(threads));
            String at = what + " at " + threads + " threads";
            LayerOutput o = many.forward(x, opts);
            assertTrue(o.output().bitEquals(got.output()), at + ": output");
            assertTrue(o.hN().bitEquals(got.hN()), at + ": h_n");
            assertTrue(o.cN() == null || o.cN().bitEquals(got.cN()), at + ": c_n");
            LayerTrace tn = many.forwardTraining(x, opts);
            Gradients gn = many.backward(tn, gOut, null, null);
            assertTrue(gn.input().bitEquals(g1.input()), at + ": input gradient");
            for (Map.Entry<String, Tensor> p : g1.parameters().entrySet()) {
                assertTrue(gn.parameters().get(p.getKey()).bitEquals(p.getValue()), at + ": " + p.getKey());
            }
        }

        if (!c.bidirectional && lengths == null) { // streaming: chunks of 1 to 6 steps, state carried over
            for (int threads : new int[] {1, 2}) {
                RecurrentLayer s = one.withBackend(nat.withThreads(threads));
                StreamState state = s.newStream(batch);
                int hOut = c.proj > 0 ? c.proj : c.hidden;
                float[] out = new float[seqLen * batch * hOut];
                SplittableRandom chunks = new SplittableRandom(5);
                for (int t0 = 0; t0 < seqLen; ) {
                    int n = Math.min(seqLen - t0, 1 + chunks.nextInt(6));
                    s.stream(state, x.data(), t0 * batch * c.input, n, out, t0 * batch * hOut);
                    t0 += n;
                }
                String at = what + " streamed at " + threads + " threads";
                assertTrue(Tensor.wrap(out, seqLen, batch, hOut).bitEquals(got.output()), at + ": output");
                assertTrue(state.h().bitEquals(got.hN()), at + ": h");
                assertTrue(state.c() == null || state.c().bitEquals(got.cN()), at + ": c");
            }
        }
    }

    private static void within(Tolerance tol, String what, Tensor got, Tensor want) {
        Tolerance.Check ch = tol.compare(what, got.data(), want.data());
        assertTrue(ch.passed(), ch.toString());
    }
}
