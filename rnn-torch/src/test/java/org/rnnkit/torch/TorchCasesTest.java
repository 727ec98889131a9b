package org.rnnkit.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
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
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;

/**
 * Every case of {@code testdata/torch} (PyTorch's own {@code torch.save} files: state_dicts, whole pickled
 * modules, the legacy format) on every backend, one dynamic test per case and backend: the file read by
 * {@link TorchFile}, the layer built by {@link TorchImport} with the case's {@code load_options}, its
 * configuration checked against the constructor call in {@code case.json} {@code module}, run on
 * {@code input.npy}, {@code h0.npy}, {@code c0.npy} and compared with {@code output.npy}, {@code h_n.npy},
 * {@code c_n.npy} by the golden forward rule, {@link Tolerance#FORWARD}. Shapes must match exactly.
 */
class TorchCasesTest {
    private static final Map<String, double[]> WORST = new TreeMap<>();

    @TestFactory
    Stream<DynamicTest> everyCaseOnEveryBackend() throws IOException {
        List<Path> cases = TorchTestSupport.cases();
        assertEquals(7, cases.size(), "cases in testdata/torch");
        List<DynamicTest> tests = new ArrayList<>();
        for (BackendInfo b : TorchTestSupport.backends()) {
            for (Path c : cases) {
                tests.add(DynamicTest.dynamicTest(c.getFileName() + " on " + b.name(),
                        () -> run(c, TorchTestSupport.require(b))));
            }
        }
        return tests.stream();
    }

    @AfterAll
    static synchronized void report() {
        WORST.forEach((k, w) -> System.out.printf("[rnnkit torch] %-24s %2d cases passed, worst %.4f of the tolerance%n",
                k, (int) w[0], w[1]));
    }

    private static synchronized void record(String key, double worst) {
        double[] w = WORST.computeIfAbsent(key, k -> new double[2]);
        w[0]++;
        w[1] = Math.max(w[1], worst);
    }

    private static String field(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\\s*(\"([^\"]*)\"|true|false)").matcher(json);
        return m.find() ? (m.group(2) != null ? m.group(2) : m.group(1)) : null;
    }

    private static void run(Path dir, Backend backend) throws IOException {
        String json = Files.readString(dir.resolve("case.json"));
        String format = field(json, "model_format");
        TorchFile file = TorchFile.read(dir.resolve(field(json, "model_file")));
        switch (format) {
            case "pt-state-dict" -> {
                assertEquals(TorchFile.Format.ZIP, file.format());
                assertTrue(file.module().isEmpty(), "a state_dict has no module configuration");
            }
            case "pt-module" -> {
                assertEquals(TorchFile.Format.ZIP, file.format());
                assertTrue(file.module().isPresent(), "a pickled module gives its configuration");
            }
            case "pt-legacy" -> assertEquals(TorchFile.Format.LEGACY, file.format());
            default -> throw new AssertionError("model_format " + format);
        }
        assertTrue(file.otherTensors().isEmpty(), file.toString());

        // load_options, exactly as case.json gives them (pt-module cases give none)
        String loadOptions = json.substring(json.indexOf("\"load_options\""), json.indexOf("\"notes\""));
        TorchLoadOptions options = TorchLoadOptions.defaults();
        String nl = field(loadOptions, "nonlinearity"), bf = field(loadOptions, "batch_first");
        if (nl != null) {
            options = options.withNonlinearity(nl);
        }
        if (bf != null) {
            options = options.withBatchFirst(Boolean.parseBoolean(bf));
        }
        RecurrentLayer layer = TorchImport.layer(file, options, backend);
        assertEquals(expectedConfig(field(json, "module")), layer.config(), "configuration from " + format);

        Tensor x = Npy.readFloat32(dir.resolve("input.npy"));
        Tensor h0 = Npy.readFloat32(dir.resolve("h0.npy"));
        Tensor c0 = Files.exists(dir.resolve("c0.npy")) ? Npy.readFloat32(dir.resolve("c0.npy")) : null;
        LayerOutput y = layer.forward(x, h0, c0);
        String name = dir.getFileName().toString();
        double worst = compare(name + " output", y.output(), Npy.readFloat32(dir.resolve("output.npy")));
        worst = Math.max(worst, compare(name + " h_n", y.hN(), Npy.readFloat32(dir.resolve("h_n.npy"))));
        if (Files.exists(dir.resolve("c_n.npy"))) {
            worst = Math.max(worst, compare(name + " c_n", y.cN(), Npy.readFloat32(dir.resolve("c_n.npy"))));
        } else {
            assertNull(c0, "c0 without c_n");
        }
        record(format + " on " + backend.name(), worst);
    }

    /** {@code torch.nn.LSTM(16, 3, num_layers=2, bidirectional=True)} as a configuration, PyTorch's defaults. */
    static RecurrentConfig expectedConfig(String module) {
        Matcher m = Pattern.compile("torch\\.nn\\.(LSTM|GRU|RNN)\\((.*)\\)").matcher(module);
        assertTrue(m.matches(), module);
        List<Integer> positional = new ArrayList<>();
        Map<String, String> kw = new HashMap<>();
        for (String arg : m.group(2).split(",\\s*")) {
            int eq = arg.indexOf('=');
            if (eq < 0) {
                positional.add(Integer.parseInt(arg.trim()));
            } else {
                kw.put(arg.substring(0, eq).trim(), arg.substring(eq + 1).trim().replace("'", ""));
            }
        }
        CellType type = switch (m.group(1)) {
            case "LSTM" -> CellType.LSTM;
            case "GRU" -> CellType.GRU;
            default -> kw.getOrDefault("nonlinearity", "tanh").equals("relu") ? CellType.RNN_RELU : CellType.RNN_TANH;
        };
        return new RecurrentConfig(type, positional.get(0), positional.get(1),
                Integer.parseInt(kw.getOrDefault("num_layers", "1")), !"False".equals(kw.get("bias")),
                "True".equals(kw.get("batch_first")), "True".equals(kw.get("bidirectional")),
                Integer.parseInt(kw.getOrDefault("proj_size", "0")));
    }

    private static double compare(String what, Tensor got, Tensor expected) {
        assertArrayEquals(expected.shape(), got.shape(), what + ": shape");
        Tolerance.Check c = Tolerance.FORWARD.compare(what, got.data(), expected.data());
        assertTrue(c.passed(), c.toString());
        return c.fraction();
    }
}
