package org.rnnkit.bench.peer;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.Tensor;
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
import org.openjdk.jmh.annotations.Warmup;
import org.rnnkit.backend.Backends;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.verify.Tolerance;

/**
 * LibTorch as a peer: the scenario's {@code LSTMImpl}/{@code GRUImpl}/{@code RNNImpl} with rnnkit's
 * weights, in eval mode under {@code InferenceMode}; a {@link PointerScope} per call frees the outputs.
 * Set-up checks its output against rnnkit's within the golden tolerance.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class LibTorchBenchmark {
    @Param({"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"})
    public String scenario;

    @Param({"1", "2"})
    public int threads;

    Module module;
    Tensor x;

    @Setup(Level.Trial)
    public void setUp() {
        Scenario s = Scenario.valueOf(scenario);
        LibTorch.threads(s, threads);
        RecurrentLayer layer = s.layer(Backends.named("scalar"));
        org.rnnkit.tensor.Tensor input = s.input();
        module = LibTorch.module(s, layer.stateDict());
        module.eval();
        x = LibTorch.tensor(input.data(), s.seqLen, s.batch, s.input);
        float[] got;
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            got = LibTorch.values(LibTorch.forward(module, x));
        }
        Tolerance.Check c = Tolerance.FORWARD.compare("output", got, layer.forward(input).output().data());
        if (!c.passed()) {
            throw new IllegalStateException("LibTorch's " + scenario + " differs from rnnkit's: " + c);
        }
    }

    @Benchmark
    public long forward() {
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            return LibTorch.forward(module, x).numel();
        }
    }
}
