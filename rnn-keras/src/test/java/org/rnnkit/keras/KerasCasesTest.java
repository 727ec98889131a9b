package org.rnnkit.keras;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.BackendInfo;
import org.rnnkit.io.Npy;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;

/**
 * Every case of {@code testdata/keras} (Keras 3's own {@code .keras} and legacy {@code .h5} files) on every
 * backend, one dynamic test per case and backend: the file read by {@link KerasFile}, the layer built by
 * {@link KerasImport}, its configuration checked against {@code case.json} (layer, units, layers, input size,
 * merge mode, go_backwards), run on {@code input.npy} with zero initial states and compared with
 * {@code output.npy} (through {@link KerasImport.Plan#kerasOutput}, which puts a {@code go_backwards} output in
 * Keras's processing order), {@code h_n.npy} and {@code c_n.npy} by the golden forward rule,
 * {@link Tolerance#FORWARD}. Shapes must match exactly.
 */
class KerasCasesTest {
    private static final Map<String, double[]> WORST = new TreeMap<>();
    private static final ObjectMapper JSON = new ObjectMapper();

    @TestFactory
    Stream<DynamicTest> everyCaseOnEveryBackend() throws IOException {
        List<Path> cases = KerasTestSupport.cases();
        assertEquals(17, cases.size(), "cases in testdata/keras");
        List<DynamicTest> tests = new ArrayList<>();
        for (BackendInfo b : KerasTestSupport.backends()) {
            for (Path c : cases) {
                tests.add(DynamicTest.dynamicTest(c.getFileName() + " on " + b.name(),
                        () -> run(c, KerasTestSupport.require(b))));
            }
        }
        return tests.stream();
    }

    @AfterAll
    static synchronized void report() {
        WORST.forEach((k, w) -> System.out.printf("[rnnkit keras] %-24s %2d cases passed, worst %.4f of the tolerance%n",
                k, (int) w[0], w[1]));
    }

    private static synchronized void record(String key, double worst) {
        double[] w = WORST.computeIfAbsent(key, k -> new double[2]);
        w[0]++;
        w[1] = Math.max(w[1], worst);
    }

    private static void run(Path dir, Backend backend) throws IOException {
        JsonNode cj = JSON.readTree(dir.resolve("case.json").toFile());
        String format = cj.get("model_format").asText();
        KerasFile file = KerasFile.read(dir.resolve(cj.get("model_file").asText()));
        assertEquals(format.equals("keras") ? KerasFile.Format.KERAS : KerasFile.Format.LEGACY_H5, file.format(),
                format);
        KerasImport.Plan plan = KerasImport.plan(file);
        RecurrentConfig c = plan.config();
        String layerKind = cj.get("layer").asText();
        JsonNode opts = cj.get("options");
        CellType type = switch (layerKind) {
            case "lstm" -> CellType.LSTM;
            case "gru" -> CellType.GRU;
            case "simplernn", "rnn" -> "relu".equals(opts.path("activation").asText()) ? CellType.RNN_RELU
                    : CellType.RNN_TANH;
            default -> throw new AssertionError("layer " + layerKind);
        };
        if (type != CellType.LSTM || !opts.has("activation")) {
            assertEquals(type, c.type(), "type");
        }
        assertEquals(cj.get("units").asInt(), c.hiddenSize(), "units");
        assertEquals(cj.get("input_size").asInt(), c.inputSize(), "input_size");
        assertEquals(cj.get("layers").asInt(), c.numLayers(), "layers");
        assertTrue(c.batchFirst(), "Keras input is (batch, seq, features)");
        JsonNode merge = cj.get("bidirectional_merge");
        assertEquals(merge != null && !merge.isNull(), c.bidirectional(), "bidirectional");
        if (c.bidirectional()) {
            assertEquals(MergeMode.parse(merge.asText()), c.mergeMode(), "merge_mode");
        }
        assertEquals(opts.path("go_backwards").asBoolean(false), c.reverse(), "go_backwards");
        assertEquals(type == CellType.GRU && !opts.path("reset_after").asBoolean(true),
                c.variant().resetBeforeProduct(), "reset_after");
        assertEquals(!opts.has("use_bias") || opts.get("use_bias").asBoolean(), c.bias(), "use_bias");

        RecurrentLayer layer = KerasImport.layer(file, backend);
        assertEquals(c, layer.config());
        Tensor x = Npy.readFloat32(dir.resolve("input.npy"));
        LayerOutput y = layer.forward(x);
        String name = dir.getFileName().toString();
        double worst = compare(name + " output", plan.kerasOutput(y.output()), Npy.readFloat32(dir.resolve("output.npy")));
        worst = Math.max(worst, compare(name + " h_n", y.hN(), Npy.readFloat32(dir.resolve("h_n.npy"))));
        if (Files.exists(dir.resolve("c_n.npy"))) {
            worst = Math.max(worst, compare(name + " c_n", y.cN(), Npy.readFloat32(dir.resolve("c_n.npy"))));
        } else {
            assertNull(y.cN(), "c_n without c_n.npy");
        }
        record(format + " on " + backend.name(), worst);
    }

    private static double compare(String what, Tensor got, Tensor expected) {
        assertArrayEquals(expected.shape(), got.shape(), what + ": shape");
        Tolerance.Check c = Tolerance.FORWARD.compare(what, got.data(), expected.data());
        assertTrue(c.passed(), c.toString());
        return c.fraction();
    }
}
