package org.rnnkit.bench.peer;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;
import org.rnnkit.backend.Backends;
import org.rnnkit.bench.Contender;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tck.Tolerance;

/**
 * ONNX Runtime as a contender, on the same weights and input as rnnkit's: the model is built at set-up
 * from rnnkit's layer ({@link org.rnnkit.onnx.OnnxWriter}, the file rnnkit writes for a layer) and run with {@code intra_op_threads = threads}, inter-op 1,
 * sequential execution, all graph optimisations; the input tensor is built once; one call is
 * {@code session.run} and closing its result.
 *
 * <p>Thread safety: stateless; the contenders it makes are not thread-safe.
 */
public final class Ort {
    private Ort() {}

    /** The scenario's output at one thread, for {@code bench --accuracy}. */
    public static float[] output(String scenario) throws OrtException {
        Scenario s = Scenario.valueOf(scenario);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession session = session(env, s.layer(Backends.named("scalar")), 1);
                OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(s.input().data()),
                        new long[] {s.seqLen, s.batch, s.input});
                OrtSession.Result r = session.run(Map.of("input", x))) {
            return firstOutput(r);
        }
    }

    /** The run's first output ({@code Y}), copied out of ORT's buffer. */
    private static float[] firstOutput(OrtSession.Result r) throws OrtException {
        FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
        float[] got = new float[fb.remaining()];
        fb.get(got);
        return got;
    }

    private static OrtSession session(OrtEnvironment env, RecurrentLayer layer, int threads) throws OrtException {
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(threads);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            return env.createSession(org.rnnkit.onnx.OnnxWriter.write(layer), opts);
        }
    }

    /** The scenario's forward pass; set-up checks ORT's output against rnnkit's (scalar) within the golden tolerance. */
    public static Contender forward(String scenario, int threads) throws OrtException {
        Scenario s = Scenario.valueOf(scenario);
        RecurrentLayer layer = s.layer(Backends.named("scalar"));
        Tensor input = s.input();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = session(env, layer, threads);
        OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()), new long[] {s.seqLen, s.batch, s.input});
        float[] want = layer.forward(input).output().data();
        try (OrtSession.Result r = session.run(Map.of("input", x))) {
            Tolerance.Check c = Tolerance.FORWARD.compare("output", firstOutput(r), want);
            if (!c.passed()) {
                x.close();
                session.close();
                throw new IllegalStateException("ONNX Runtime's " + scenario + " differs from rnnkit's: " + c);
            }
        }
        Map<String, OnnxTensor> inputs = Map.of("input", x);
        return new Contender() {
            @Override
            public Object call() throws OrtException {
                try (OrtSession.Result r = session.run(inputs)) {
                    return r.size();
                }
            }

            @Override
            public void close() throws OrtException {
                x.close();
                session.close();
            }
        };
    }
}
