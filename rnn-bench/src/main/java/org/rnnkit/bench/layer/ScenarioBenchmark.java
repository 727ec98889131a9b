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

/**
 * Forward pass of every scenario on an rnnkit backend ({@link Rnnkit#forward}: checked once per trial
 * against the scalar reference, within the golden tolerance).
 *
 * <p>Every benchmark of the suite forks with the same settings: a 2 GB heap touched at start-up
 * ({@code AlwaysPreTouch}: otherwise the first pass over the heap pays a page fault per page, which made
 * allocating calls such as training 2x slower for the first seconds of a fork), and 5 x 2 s of warm-up:
 * the Vector API runs 100-500x slower before C2 compiles it, and the vector backend's largest calls
 * (S7, training) need 2-6 s to reach C2 code on this machine.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class ScenarioBenchmark {
    @Param({"S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"})
    public String scenario;

    /** A backend name, or {@code NAME:N} for that backend allowed N threads per call. */
    @Param({"scalar"})
    public String backend;

    Contender contender;

    @Setup(Level.Trial)
    public void setUp() {
        contender = Rnnkit.forward(scenario, backend);
    }

    @Benchmark
    public Object forward() throws Exception {
        return contender.call();
    }
}
