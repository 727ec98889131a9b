package org.rnnkit.bench.paired;

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
import org.openjdk.jmh.infra.Blackhole;

/**
 * A training step of S2 or S3 (forward with a tape, backward of {@code sum(output)}) on several
 * contenders whose calls alternate in one process, as {@link PairedBenchmark} does for forward passes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class PairedTrainingBenchmark {
    @Param({"S2", "S3"})
    public String trainScenario;

    /**
     * Contenders joined by {@code +}, see {@link Alternation#of}; their order numbers the counters of
     * {@link Times}. Named apart from the forward benchmark's, which may include ONNX Runtime.
     */
    @Param({"native+vector+libtorch"})
    public String trainContenders;

    Alternation alternation;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        alternation = Alternation.of(trainScenario, trainContenders, true);
    }

    @Benchmark
    public void train(Times times, Blackhole bh) throws Exception {
        alternation.round(times, bh);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        alternation.close();
    }
}
