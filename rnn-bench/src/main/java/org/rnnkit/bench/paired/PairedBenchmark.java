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
 * The forward pass of a scenario on several contenders whose calls alternate in one process
 * ({@link Alternation}); the primary score is the time of one round (every contender once), the
 * per-contender times are the secondary results of {@link Times}. Same fork settings as the other
 * scenario benchmarks.
 *
 * <p>A change against the code before it: {@code -p contenders=native+before:native} runs this build's
 * native backend and that of an older build side by side ({@link Baseline}: the older build's jars, made by
 * {@code scripts/ab-baseline.sh COMMIT DIR}, named by {@code -jvmArgsPrepend -Drnnkit.bench.baseline=DIR});
 * {@link PairedTrainingBenchmark} takes the same names.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class PairedBenchmark {
    @Param({"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"})
    public String scenario;

    /** Contenders joined by {@code +}, see {@link Alternation#of}; their order numbers the counters of {@link Times}. */
    @Param({"native+vector+libtorch+ort"})
    public String contenders;

    Alternation alternation;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        alternation = Alternation.of(scenario, contenders, false);
    }

    @Benchmark
    public void forward(Times times, Blackhole bh) throws Exception {
        alternation.round(times, bh);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        alternation.close();
    }
}
