package org.rnnkit.bench.layer;

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
import org.openjdk.jmh.annotations.Warmup;
import org.rnnkit.bench.Contender;

/** Training step of S2 and S3: forward with a tape plus the backward pass of {@code sum(output)}. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class TrainingBenchmark {
    /** Named apart from the forward benchmarks' {@code scenario} so a run can choose both independently. */
    @Param({"S2", "S3"})
    public String trainScenario;

    /** A backend name, or {@code NAME:N} for that backend allowed N threads per call. */
    @Param({"scalar"})
    public String backend;

    Contender contender;

    @Setup(Level.Trial)
    public void setUp() {
        contender = Rnnkit.training(trainScenario, backend);
    }

    @Benchmark
    public Object train() throws Exception {
        return contender.call();
    }
}
