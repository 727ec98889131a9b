package org.rnnkit.bench.layer;

import java.util.SplittableRandom;
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
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.tensor.Tensor;

/**
 * What a batch of mixed lengths costs compared with a full batch: LSTM 128/128, T=100, B=16. The mixed
 * batch's lengths are drawn uniformly from 1..T (fixed seed), so it holds a known fraction of the full
 * batch's steps; with finished rows dropping out, its time should be that fraction of the full batch's.
 * {@code full} and {@code mixed} run in one JMH run, so their ratio is comparable.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class VariableLengthBenchmark {
    @Param({"scalar"})
    public String backend;

    static final int T = 100, B = 16, SIZE = 128;

    RecurrentLayer lstm;
    Tensor x;
    int[] full, mixed;
    Workspace ws;
    ForwardOptions fullRows, mixedRows; // made once: a call allocates only its results

    @Setup(Level.Trial)
    public void setUp() {
        lstm = RecurrentLayer.lstm(SIZE, SIZE).seed(1).backend(Backends.named(backend)).build();
        SplittableRandom rnd = new SplittableRandom(2);
        x = Tensor.zeros(T, B, SIZE);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) rnd.nextGaussian();
        }
        full = new int[B];
        mixed = new int[B];
        long sum = 0;
        for (int b = 0; b < B; b++) {
            full[b] = T;
            mixed[b] = 1 + rnd.nextInt(T);
            sum += mixed[b];
        }
        ws = new Workspace();
        fullRows = ForwardOptions.defaults().withLengths(full).withWorkspace(ws);
        mixedRows = ForwardOptions.defaults().withLengths(mixed).withWorkspace(ws);
        // reference check once per trial: a mixed row's last output is its own h_n
        LayerOutput o = lstm.forward(x, mixedRows);
        int b = 3, last = mixed[b] - 1;
        for (int j = 0; j < SIZE; j++) {
            if (o.output().data()[(last * B + b) * SIZE + j] != o.hN().data()[b * SIZE + j]) {
                throw new IllegalStateException("variable-length output does not end in h_n");
            }
        }
        System.out.printf("%n[setup] mixed lengths hold %d of %d steps (%.3f of the full batch)%n", sum, T * B,
                (double) sum / (T * B));
    }

    @Benchmark
    public LayerOutput full() {
        return lstm.forward(x, fullRows);
    }

    @Benchmark
    public LayerOutput mixed() {
        return lstm.forward(x, mixedRows);
    }
}
