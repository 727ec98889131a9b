package org.rnnkit.bench.peer;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.rnnkit.backend.Backends;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.verify.Tolerance;

/**
 * ONNX Runtime as a peer, on the same weights and input as {@link org.rnnkit.bench.layer.ScenarioBenchmark}:
 * the model is built at set-up time from rnnkit's layer ({@link OnnxModels}), run with
 * {@code intra_op_threads = threads}, inter-op 1, sequential execution, all graph optimisations; the input
 * tensor is built once; one call = {@code session.run} and closing its result. Set-up checks that ORT's
 * output equals rnnkit's (scalar) within the golden tolerance and aborts the benchmark otherwise.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class OrtBenchmark {
    @Param({"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"})
    public String scenario;

    @Param({"1", "2"})
    public int threads;

    OrtEnvironment env;
    OrtSession session;
    OnnxTensor x;

    @Setup(Level.Trial)
    public void setUp() throws OrtException {
        Scenario s = Scenario.valueOf(scenario);
        RecurrentLayer layer = s.layer(Backends.named("scalar"));
        Tensor input = s.input();
        env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions opts = new OrtSession.SessionOptions();
        opts.setIntraOpNumThreads(threads);
        opts.setInterOpNumThreads(1);
        opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
        opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        session = env.createSession(OnnxModels.build(layer.config(), layer.stateDict()), opts);
        x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.data()), new long[] {s.seqLen, s.batch, s.input});
        float[] want = layer.forward(input).output().data();
        try (OrtSession.Result r = session.run(Map.of("X", x))) {
            FloatBuffer fb = ((OnnxTensor) r.get(0)).getFloatBuffer();
            float[] got = new float[fb.remaining()];
            fb.get(got);
            Tolerance.Check c = Tolerance.FORWARD.compare("output", got, want);
            if (!c.passed()) {
                throw new IllegalStateException("ONNX Runtime's " + scenario + " differs from rnnkit's: " + c);
            }
        }
    }

    @Benchmark
    public long forward() throws OrtException {
        try (OrtSession.Result r = session.run(Map.of("X", x))) {
            return r.size();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        x.close();
        session.close();
    }
}
