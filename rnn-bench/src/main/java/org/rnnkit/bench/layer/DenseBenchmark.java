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
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.MatrixView;

/**
 * The dense kernels on the head of a character-level LSTM's training step ({@code rnnkit train}'s default
 * job: 1024 rows of hidden size 128, 86 characters), one call per operation:
 * <ul>
 *   <li>{@code logits}: {@code Z (1024 x 86) = H (1024 x 128) W^T}, {@code W} stored {@code 86 x 128}
 *       ({@code b} transposed);
 *   <li>{@code dHidden}: {@code dH (1024 x 128) = dZ (1024 x 86) W} (both stored row by row);
 *   <li>{@code dWeight}: {@code dW (86 x 128) = dZ^T H}, {@code dZ} stored {@code 1024 x 86} ({@code a}
 *       transposed);
 *   <li>{@code softmax}: the row softmax of {@code Z} in place, with its log-sum-exp.
 * </ul>
 * Each product is {@code 2 m n k = 22 544 384} floating-point operations: GFLOP/s = 22 544 / (microseconds
 * per operation).
 *
 * <p>Thread safety: JMH state, one instance per trial.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class DenseBenchmark {
    private static final int ROWS = 1024, HIDDEN = 128, CLASSES = 86;

    @Param({"logits", "dHidden", "dWeight", "softmax"})
    public String form;

    /** A backend name, or {@code NAME:N} for that backend allowed N threads per call. */
    @Param({"scalar", "native", "vector"})
    public String backend;

    private DenseKernel dense;
    private final MatrixView a = new MatrixView(), b = new MatrixView(), c = new MatrixView();
    private float[] h, w, z, dz, out, lse;

    @Setup(Level.Trial)
    public void setUp() {
        dense = KernelAccess.kernels(Scenario.backend(backend)).dense();
        SplittableRandom rnd = new SplittableRandom(22);
        h = random(rnd, ROWS * HIDDEN);
        w = random(rnd, CLASSES * HIDDEN);
        z = random(rnd, ROWS * CLASSES);
        dz = random(rnd, ROWS * CLASSES);
        lse = new float[ROWS];
        switch (form) {
            case "logits" -> {
                a.rowMajor(h, 0, ROWS, HIDDEN);
                b.transposeOf(w, 0, HIDDEN, CLASSES, HIDDEN);
                c.rowMajor(out = new float[ROWS * CLASSES], 0, ROWS, CLASSES);
            }
            case "dHidden" -> {
                a.rowMajor(dz, 0, ROWS, CLASSES);
                b.rowMajor(w, 0, CLASSES, HIDDEN);
                c.rowMajor(out = new float[ROWS * HIDDEN], 0, ROWS, HIDDEN);
            }
            case "dWeight" -> {
                a.transposeOf(dz, 0, CLASSES, ROWS, CLASSES);
                b.rowMajor(h, 0, ROWS, HIDDEN);
                c.rowMajor(out = new float[CLASSES * HIDDEN], 0, CLASSES, HIDDEN);
            }
            case "softmax" -> c.rowMajor(out = z, 0, ROWS, CLASSES);
            default -> throw new IllegalArgumentException("form: expected logits, dHidden, dWeight or softmax, got " + form);
        }
    }

    @Benchmark
    public float[] run() {
        if (a.data() == null) { // softmax: in place, so the values stay those of a softmax after the first call
            dense.softmax(c, c, lse, 0);
        } else {
            dense.multiply(a, b, c, false);
        }
        return out;
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) rnd.nextDouble(-1, 1);
        }
        return v;
    }
}
