package org.rnnkit.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * {@link OnnxWriter}: what it writes, ONNX Runtime (the Java artifact) loads and runs to rnnkit's numbers
 * within the golden forward tolerance, and rnnkit's reader reads back to the same configuration and
 * weights. Every recurrence, stacked, bidirectional, reverse-only, batch_first, without bias, with and
 * without initial-state inputs, and the cell variants ONNX's operators have.
 */
class OnnxWriterTest {

    static List<RecurrentConfig> configs() {
        Activation hard = new Activation(Activation.Function.HARD_SIGMOID, 0.3f, 0.6f);
        Activation leaky = Activation.of(Activation.Function.LEAKY_RELU, 0.1f);
        Activation scaled = new Activation(Activation.Function.SCALED_TANH, 0.9f, 1.3f);
        List<RecurrentConfig> l = new ArrayList<>();
        l.add(RecurrentConfig.lstm(5, 7));
        l.add(RecurrentConfig.lstm(5, 7).withNumLayers(2).withBidirectional(true));
        l.add(RecurrentConfig.lstm(3, 4).withBatchFirst(true).withBias(false));
        l.add(RecurrentConfig.gru(5, 6).withNumLayers(3));
        l.add(RecurrentConfig.gru(5, 6).withBidirectional(true).withBatchFirst(true));
        l.add(RecurrentConfig.rnn(4, 9, CellType.RNN_TANH).withBidirectional(true));
        l.add(RecurrentConfig.rnn(4, 9, CellType.RNN_RELU).withNumLayers(2).withBias(false));
        l.add(RecurrentConfig.lstm(6, 5).withReverse(true));
        l.add(RecurrentConfig.gru(6, 5).withReverse(true).withNumLayers(2));
        // variants
        l.add(RecurrentConfig.lstm(5, 6).withBidirectional(true).withVariant(CellVariant.NONE.withPeepholes(true)));
        l.add(RecurrentConfig.lstm(5, 6).withVariant(CellVariant.NONE.withClip(0.7f).withInputForget(true)));
        l.add(RecurrentConfig.lstm(5, 6).withNumLayers(2).withVariant(CellVariant.NONE.withPeepholes(true)
                .withActivations(hard, leaky, Activation.of(Activation.Function.SOFTSIGN))));
        l.add(RecurrentConfig.gru(5, 6).withVariant(CellVariant.NONE.withResetBeforeProduct(true)));
        l.add(RecurrentConfig.gru(5, 6).withBidirectional(true).withVariant(CellVariant.NONE.withResetBeforeProduct(true)
                .withClip(1.5f).withActivations(Activation.SIGMOID, scaled, hard, Activation.of(Activation.Function.ELU))));
        l.add(RecurrentConfig.rnn(4, 8, CellType.RNN_TANH).withVariant(CellVariant.NONE.withActivations(
                new Activation(Activation.Function.AFFINE, 0.5f, 0.2f)).withClip(2f)));
        l.add(RecurrentConfig.rnn(4, 8, CellType.RNN_TANH).withBidirectional(true).withVariant(CellVariant.NONE
                .withActivations(Activation.of(Activation.Function.SOFTPLUS), hard)));
        return l;
    }

    static Map<String, Tensor> weights(RecurrentConfig cfg, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        double k = 1 / Math.sqrt(cfg.hiddenSize());
        for (ParameterLayout.Entry e : ParameterLayout.of(cfg).entries()) {
            Tensor t = Tensor.zeros(e.shape());
            for (int i = 0; i < t.size(); i++) {
                t.data()[i] = (float) r.nextDouble(-k, k);
            }
            m.put(e.name(), t);
        }
        return m;
    }

    static Tensor normal(SplittableRandom r, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.size(); i++) {
            t.data()[i] = (float) r.nextGaussian();
        }
        return t;
    }

    @Test
    void onnxRuntimeRunsWhatTheWriterWritesToRnnkitsNumbers() throws Exception {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        StringBuilder report = new StringBuilder();
        double worst = 0;
        long seed = 1;
        for (RecurrentConfig cfg : configs()) {
            for (boolean initialState : new boolean[] {false, true}) {
                seed++;
                RecurrentLayer layer = RecurrentLayer.of(cfg, weights(cfg, seed), Backends.named("scalar"));
                byte[] model = OnnxWriter.write(layer, initialState);
                int seq = 7, batch = 3;
                SplittableRandom r = new SplittableRandom(seed);
                Tensor x = cfg.batchFirst() ? normal(r, batch, seq, cfg.inputSize()) : normal(r, seq, batch, cfg.inputSize());
                Tensor h0 = initialState ? normal(r, cfg.stateCount(), batch, cfg.hiddenSize()) : null;
                Tensor c0 = initialState && cfg.type() == CellType.LSTM ? normal(r, cfg.stateCount(), batch, cfg.hiddenSize())
                        : null;
                LayerOutput want = layer.forward(x, ForwardOptions.defaults().withInitialState(h0, c0));
                Map<String, ai.onnxruntime.OnnxTensor> inputs = new HashMap<>();
                try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
                    opts.setIntraOpNumThreads(1);
                    try (OrtSession session = env.createSession(model, opts)) {
                        inputs.put("input", ort(env, x));
                        if (h0 != null) {
                            inputs.put("h0", ort(env, h0));
                        }
                        if (c0 != null) {
                            inputs.put("c0", ort(env, c0));
                        }
                        try (OrtSession.Result res = session.run(inputs)) {
                            String what = cfg + (initialState ? " with h0" : "");
                            worst = Math.max(worst, check(what, "output", res, want.output()));
                            worst = Math.max(worst, check(what, "h_n", res, want.hN()));
                            if (cfg.type() == CellType.LSTM) {
                                worst = Math.max(worst, check(what, "c_n", res, want.cN()));
                            }
                        }
                    }
                } finally {
                    inputs.values().forEach(ai.onnxruntime.OnnxTensor::close);
                }
            }
        }
        System.out.printf("[rnnkit onnx] ONNX Runtime on %d written models: worst %.4f of the golden tolerance%n",
                2 * configs().size(), worst);
    }

    private static ai.onnxruntime.OnnxTensor ort(OrtEnvironment env, Tensor t) throws Exception {
        long[] shape = new long[t.shape().length];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = t.shape()[i];
        }
        return ai.onnxruntime.OnnxTensor.createTensor(env, FloatBuffer.wrap(t.data()), shape);
    }

    /** ONNX Runtime's output {@code name} against rnnkit's within the golden forward tolerance; the fraction used. */
    private static double check(String what, String name, OrtSession.Result res, Tensor want) throws Exception {
        ai.onnxruntime.OnnxTensor got = (ai.onnxruntime.OnnxTensor) res.get(name).orElseThrow();
        long[] shape = got.getInfo().getShape();
        int[] wantShape = want.shape();
        assertEquals(wantShape.length, shape.length, what + ": " + name + " rank");
        for (int i = 0; i < shape.length; i++) {
            assertEquals(wantShape[i], shape[i], what + ": " + name + " shape");
        }
        FloatBuffer fb = got.getFloatBuffer();
        float[] values = new float[fb.remaining()];
        fb.get(values);
        Tolerance.Check c = Tolerance.FORWARD.compare(name, values, want.data());
        assertTrue(c.passed(), what + ": ONNX Runtime's " + c);
        return c.fraction();
    }

    @Test
    void theReaderReadsWhatTheWriterWritesBackToTheSameLayer() throws Exception {
        long seed = 100;
        for (RecurrentConfig cfg : configs()) {
            for (boolean initialState : new boolean[] {false, true}) {
                Map<String, Tensor> w = weights(cfg, ++seed);
                OnnxModel model = OnnxModel.read(OnnxWriter.write(cfg, w, initialState), "written");
                RecurrentLayer back = model.bind(Backends.named("scalar")).layer();
                assertEquals(cfg.withBias(true), back.config().withBias(true), "configuration");
                Map<String, Tensor> got = back.stateDict();
                for (var e : w.entrySet()) {
                    Tensor g = got.get(e.getKey());
                    assertTrue(g != null && g.bitEquals(e.getValue()), cfg + ": " + e.getKey());
                }
            }
        }
    }

    @Test
    void whatOnnxCannotExpressIsRefused() {
        RecurrentConfig proj = RecurrentConfig.lstm(3, 5).withProjSize(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OnnxWriter.write(proj, weights(proj, 1), false));
        assertEquals("proj_size: ONNX's LSTM has no projection; a layer with proj_size=2 cannot be written as ONNX",
                e.getMessage());
        RecurrentConfig sum = RecurrentConfig.gru(3, 5).withBidirectional(true).withMergeMode(MergeMode.SUM);
        e = assertThrows(IllegalArgumentException.class, () -> OnnxWriter.write(sum, weights(sum, 1), false));
        assertEquals("merge_mode: ONNX's operators concatenate the two directions; a layer merging them by sum is not"
                + " written as ONNX", e.getMessage());
    }
}
