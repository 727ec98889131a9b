package org.rnnkit.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.BackendInfo;
import org.rnnkit.io.Npy;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;

/**
 * Every case of {@code testdata/onnx} on every backend, one dynamic test per case and backend:
 *
 * <ul>
 *   <li>{@code node/} (ONNX's own operator tests: weights are graph inputs) and {@code dialects/} (every
 *       attribute; weights are initializers): {@link OnnxModel#bind(Map, Backend)} with the test data set's
 *       inputs, {@link OnnxLayer#run} in ONNX's terms, every graph output compared with its
 *       {@code output_k.pb};
 *   <li>{@code torch/} (PyTorch's exported graphs): the graph recognised as one layer whose configuration
 *       matches the module in {@code case.json}, run on {@code input.npy}, {@code h0.npy}, {@code c0.npy}
 *       by the graph's input names, compared with {@code output.npy}, {@code h_n.npy}, {@code c_n.npy}.
 * </ul>
 *
 * <p>Tolerance: the golden rule for forward results, {@link Tolerance#FORWARD}, per element {@code |got -
 * expected| <= 1e-5 * max(1, max|expected|) + 1e-4 * |expected|}. testdata/onnx/README.md says what it
 * bounds: two correct float32 evaluations that differ in summation order, FMA use and activation
 * rounding; the stored values themselves use at most 0.007 of it against float64. Shapes must match
 * exactly.
 */
class OnnxCasesTest {
    private static final Map<String, double[]> WORST = new TreeMap<>(); // "set on backend" -> {cases, worst}

    @TestFactory
    Stream<DynamicTest> everyCaseOnEveryBackend() throws IOException {
        List<Path> node = OnnxTestSupport.cases("node"), dialects = OnnxTestSupport.cases("dialects"),
                torch = OnnxTestSupport.cases("torch");
        assertEquals(18, node.size(), "node cases");
        assertEquals(16, dialects.size(), "dialects cases");
        assertEquals(6, torch.size(), "torch cases");
        List<DynamicTest> tests = new ArrayList<>();
        for (BackendInfo b : OnnxTestSupport.backends()) {
            for (Path c : node) {
                tests.add(DynamicTest.dynamicTest("node/" + c.getFileName() + " on " + b.name(),
                        () -> runDataSet("node", c, OnnxTestSupport.require(b))));
            }
            for (Path c : dialects) {
                tests.add(DynamicTest.dynamicTest("dialects/" + c.getFileName() + " on " + b.name(),
                        () -> runDataSet("dialects", c, OnnxTestSupport.require(b))));
            }
            for (Path c : torch) {
                tests.add(DynamicTest.dynamicTest("torch/" + c.getFileName() + " on " + b.name(),
                        () -> runTorch(c, OnnxTestSupport.require(b))));
            }
        }
        return tests.stream();
    }

    @AfterAll
    static synchronized void report() {
        WORST.forEach((k, w) -> System.out.printf("[rnnkit onnx] %-22s %2d cases passed, worst %.4f of the tolerance%n",
                k, (int) w[0], w[1]));
    }

    private static synchronized void record(String key, double worst) {
        double[] w = WORST.computeIfAbsent(key, k -> new double[2]);
        w[0]++;
        w[1] = Math.max(w[1], worst);
    }

    /** An ONNX backend-test case: inputs and expected outputs by graph position. */
    private static void runDataSet(String set, Path dir, Backend backend) throws IOException {
        OnnxModel model = OnnxModel.read(dir.resolve("model.onnx"));
        assertTrue(model.isSingleNode(), model.toString());
        OnnxDataSet data = OnnxDataSet.read(model, dir.resolve("test_data_set_0"));
        Map<String, OnnxTensor> inputs = data.inputs();
        if (set.equals("node")) {
            assertEquals(!model.weightInputs().isEmpty(), true, "ONNX's node tests give the weights as inputs");
        }
        OnnxLayer bound = model.bind(inputs, backend);
        Map<String, OnnxTensor> got = bound.run(inputs);
        assertEquals(model.outputNames(), new ArrayList<>(got.keySet()));
        double worst = 0;
        for (var e : data.outputs().entrySet()) {
            worst = Math.max(worst, compare(dir.getFileName() + " " + e.getKey(), got.get(e.getKey()).toTensor(),
                    e.getValue().toTensor()));
        }
        record(set + " on " + backend.name(), worst);
    }

    private static final Pattern NAME = Pattern.compile("\\d+_onnx_(lstm|gru|rnntanh|rnnrelu)((?:_[a-z0-9]+)*)_i(\\d+)_h(\\d+)_s\\d+_b\\d+");

    /** A PyTorch export: configuration from the case's name, values from its .npy files. */
    private static void runTorch(Path dir, Backend backend) throws IOException {
        OnnxModel model = OnnxModel.read(dir.resolve("model.onnx"));
        Matcher m = NAME.matcher(dir.getFileName().toString());
        assertTrue(m.matches(), dir.getFileName().toString());
        String flags = m.group(2);
        Matcher layers = Pattern.compile("_l(\\d+)").matcher(flags);
        int numLayers = layers.find() ? Integer.parseInt(layers.group(1)) : 1;
        CellType type = switch (m.group(1)) {
            case "lstm" -> CellType.LSTM;
            case "gru" -> CellType.GRU;
            case "rnntanh" -> CellType.RNN_TANH;
            default -> CellType.RNN_RELU;
        };
        RecurrentConfig expected = new RecurrentConfig(type, Integer.parseInt(m.group(3)), Integer.parseInt(m.group(4)),
                numLayers, !flags.contains("_nobias"), flags.contains("_bf"), flags.contains("_bi"), 0);
        String module = Files.readString(dir.resolve("case.json"));
        assertTrue(module.contains("\"model_format\": \"onnx\""), "case.json model_format");
        assertTrue(!model.isSingleNode() || numLayers == 1, model.toString());
        OnnxLayer bound = model.bind(backend); // PyTorch's form: no variant, every backend runs it
        assertEquals(expected, bound.layer().config(), "configuration recognised from the graph");
        Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
        for (String name : model.inputNames()) {
            Path npy = dir.resolve(name + ".npy");
            assertTrue(Files.exists(npy), "graph input " + name + " has no " + npy.getFileName());
            inputs.put(name, OnnxTensor.of(name, Npy.readFloat32(npy)));
        }
        Map<String, OnnxTensor> got = bound.run(inputs);
        assertEquals(model.outputNames(), new ArrayList<>(got.keySet()));
        double worst = 0;
        for (String name : model.outputNames()) {
            worst = Math.max(worst, compare(dir.getFileName() + " " + name, got.get(name).toTensor(),
                    Npy.readFloat32(dir.resolve(name + ".npy"))));
        }
        // every expected file is produced by the graph: nothing is left unchecked
        for (String f : List.of("output", "h_n", "c_n")) {
            assertEquals(Files.exists(dir.resolve(f + ".npy")), model.outputNames().contains(f), f);
        }
        record("torch on " + backend.name(), worst);
    }

    /** Shape exactly, values by the golden rule; returns the worst fraction of the tolerance. */
    private static double compare(String what, Tensor got, Tensor expected) {
        assertArrayEquals(expected.shape(), got.shape(), what + ": shape");
        Tolerance.Check c = Tolerance.FORWARD.compare(what, got.data(), expected.data());
        assertTrue(c.passed(), c.toString());
        return c.fraction();
    }
}
