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
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.train.Adam;
import org.rnnkit.train.Clipping;
import org.rnnkit.train.SequenceModel;

/**
 * One training step of {@code rnnkit train}'s default job as a {@link SequenceModel} runs it: LSTM over
 * one-hot input of 86 classes, hidden 128, 16 streams, a Linear head, softmax cross-entropy per step,
 * backward, global-norm clipping at 5 and an Adam update ({@code seqLen} 64 in the job). Run it with
 * {@code -prof gc} at two sequence lengths: a warm step's allocation must not grow with {@code seqLen}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class ModelStepBenchmark {
    static final int CLASSES = 86, HIDDEN = 128, BATCH = 16;

    /** A backend name, or {@code NAME:N} for that backend allowed N threads per call. */
    @Param({"native"})
    public String backend;

    @Param({"64"})
    public int seqLen;

    SequenceModel model;
    Adam adam;
    Clipping clipping;
    Tensor x, h, c;
    int[] targets;

    @Setup(Level.Trial)
    public void setUp() {
        RecurrentConfig cfg = new RecurrentConfig(CellType.LSTM, CLASSES, HIDDEN, 1, true, false, false, 0);
        model = SequenceModel.create(cfg, CLASSES, 1, Scenario.backend(backend));
        adam = new Adam(3e-3);
        clipping = Clipping.byNorm(5);
        SplittableRandom rnd = new SplittableRandom(3);
        x = Tensor.zeros(seqLen, BATCH, CLASSES);
        targets = new int[seqLen * BATCH];
        for (int r = 0; r < seqLen * BATCH; r++) {
            x.data()[r * CLASSES + rnd.nextInt(CLASSES)] = 1f;
            targets[r] = rnd.nextInt(CLASSES);
        }
        h = Tensor.zeros(1, BATCH, HIDDEN);
        c = Tensor.zeros(1, BATCH, HIDDEN);
    }

    /** A step from a carried state, as truncated BPTT runs it (the state is not updated: same work each time). */
    @Benchmark
    public double step() {
        return model.trainStep(SequenceModel.Task.PER_STEP, x, targets, adam, clipping,
                ForwardOptions.defaults().withInitialState(h, c)).loss();
    }
}
