package org.rnnkit.bench.peer;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.PointerScope;
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

/** LibTorch training step of S2 and S3: {@code zero_grad}, forward, {@code sum().backward()}. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class LibTorchTrainingBenchmark {
    @Param({"S2", "S3"})
    public String trainScenario;

    @Param({"1", "2"})
    public int threads;

    Module module;
    Tensor x;

    @Setup(Level.Trial)
    public void setUp() {
        Scenario s = Scenario.valueOf(trainScenario);
        LibTorch.threads(s, threads);
        module = LibTorch.module(s, s.layer(Backends.named("scalar")).stateDict());
        module.train(true);
        x = LibTorch.tensor(s.input().data(), s.seqLen, s.batch, s.input);
    }

    @Benchmark
    public long train() {
        try (PointerScope scope = new PointerScope()) {
            module.zero_grad(true);
            Tensor loss = LibTorch.forward(module, x).sum();
            loss.backward();
            return loss.numel();
        }
    }
}
