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
import org.rnnkit.backend.Backends;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.Activation.Function;
import org.rnnkit.variant.CellVariant;

/**
 * What a cell variant (issue 24) costs against PyTorch's form of the same layer: inference forward of S2
 * (LSTM 256/256, T = 100, B = 1) and S4 (GRU 256/256, same), one thread, in one JMH run so the ratios are
 * paired. Variants:
 * <ul>
 *   <li>{@code lstm-default}, {@code gru-default}: PyTorch's form (S2, S4 as the scenario suite runs them);
 *   <li>{@code lstm-peephole}: S2 with peepholes;
 *   <li>{@code lstm-acts}: S2 with Keras 2's {@code HardSigmoid(0.2, 0.5)} gates and {@code Softsign} for the
 *       candidate and the cell output;
 *   <li>{@code lstm-clip}: S2 with the pre-activations clipped to [-3, 3] (the type's own functions);
 *   <li>{@code gru-reset-before}: S4 with the reset gate before the recurrent product (ONNX's
 *       {@code linear_before_reset=0}, Keras's {@code reset_after=False}).
 * </ul>
 * Checked once per trial against the scalar reference within the golden tolerance. A backend whose kernels
 * do not run variants yet fails its variant trials at set-up with the kernel's message.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+AlwaysPreTouch", "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
public class VariantBenchmark {
    @Param({"native", "vector"})
    public String backend;

    @Param({"lstm-default", "lstm-peephole", "lstm-acts", "lstm-clip", "gru-default", "gru-reset-before"})
    public String variant;

    RecurrentLayer layer;
    Tensor x;
    ForwardOptions reused;
    LayerOutput into;

    @Setup(Level.Trial)
    public void setUp() {
        Scenario s = variant.startsWith("lstm") ? Scenario.S2 : Scenario.S4;
        CellVariant v = switch (variant) {
            case "lstm-default", "gru-default" -> CellVariant.NONE;
            case "lstm-peephole" -> CellVariant.NONE.withPeepholes(true);
            case "lstm-acts" -> CellVariant.NONE.withActivations(new Activation(Function.HARD_SIGMOID, 0.2f, 0.5f),
                    Activation.of(Function.SOFTSIGN), Activation.of(Function.SOFTSIGN));
            case "lstm-clip" -> CellVariant.NONE.withClip(3f);
            case "gru-reset-before" -> CellVariant.NONE.withResetBeforeProduct(true);
            default -> throw new IllegalArgumentException("variant: unknown '" + variant + "'");
        };
        layer = RecurrentLayer.builder(s.type).inputSize(s.input).hiddenSize(s.hidden).variant(v).seed(1234)
                .backend(Scenario.backend(backend)).build();
        x = s.input();
        LayerOutput ref = layer.withBackend(Backends.named("scalar")).forward(x);
        into = layer.forward(x);
        Tolerance.Check c = Tolerance.FORWARD.compare("output", into.output().data(), ref.output().data());
        if (!c.passed()) {
            throw new IllegalStateException(backend + " differs from scalar on " + variant + ": " + c);
        }
        reused = ForwardOptions.defaults().withWorkspace(new Workspace());
    }

    @Benchmark
    public LayerOutput forward() {
        return layer.forward(x, reused, into);
    }
}
