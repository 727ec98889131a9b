package org.rnnkit.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.rnnkit.backend.Backend;
import org.rnnkit.internal.json.Json;
import org.rnnkit.internal.json.JsonException;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.Npy;
import org.rnnkit.onnx.OnnxDataSet;
import org.rnnkit.onnx.OnnxLayer;
import org.rnnkit.onnx.OnnxModel;
import org.rnnkit.onnx.OnnxTensor;
import org.rnnkit.tck.CaseResult;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.Tensor;

/**
 * The ONNX cases {@code rnnkit verify} runs beside the golden ones:
 *
 * <ul>
 *   <li>ONNX's backend-test layout: {@code model.onnx} and {@code test_data_set_N/{input,output}_K.pb}
 *       (ONNX's own operator tests; weights may be graph inputs given in the data set). Run in ONNX's
 *       terms, every graph output of every data set compared;
 *   <li>import cases ({@code case.json} with {@code "kind": "import"}): a model file as a framework wrote
 *       it, with {@code input.npy} (and {@code h0.npy}, {@code c0.npy}) and the expected
 *       {@code output.npy}, {@code h_n.npy}, {@code c_n.npy}. Those of {@code model_format} {@code onnx}
 *       run by the graph's input and output names, the PyTorch ones ({@code pt-state-dict},
 *       {@code pt-module}, {@code pt-legacy}) with the case's {@code load_options}; other formats are
 *       listed as not run, with why.
 * </ul>
 *
 * Forward results only, with the golden forward tolerance; shapes must match exactly.
 */
final class OnnxCases {
    private OnnxCases() {}

    /** A case: its folder, its kind, and why it is not run (null when it is). */
    record OnnxCase(String name, Path dir, boolean dataSet, String notRun) {}

    /** Whether {@code dir} is an ONNX case (either layout) rather than a golden one. */
    static boolean isCase(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve("model.onnx")) && Files.isDirectory(dir.resolve("test_data_set_0"))) {
            return true;
        }
        Path json = dir.resolve("case.json");
        return Files.isRegularFile(json) && "import".equals(field(json, "kind"));
    }

    static OnnxCase load(Path dir) throws IOException {
        String name = dir.getFileName().toString();
        if (!Files.isRegularFile(dir.resolve("case.json"))) {
            return new OnnxCase(name, dir, true, null);
        }
        Path json = dir.resolve("case.json");
        String format = field(json, "model_format"), file = field(json, "model_file");
        if (format != null && (format.startsWith("pt-") || format.equals("keras") || format.equals("keras-h5"))) {
            return new OnnxCase(name, dir, false, null);
        }
        if (!"onnx".equals(format)) {
            return new OnnxCase(name, dir, false, "model_format " + org.rnnkit.io.Untrusted.quote(String.valueOf(format))
                    + ": rnnkit reads ONNX, PyTorch and Keras import cases; this format is not read yet");
        }
        if (!"model.onnx".equals(file)) {
            throw new ModelFormatException(json + ": model_file: expected \"model.onnx\", got "
                    + org.rnnkit.io.Untrusted.quote(String.valueOf(file)));
        }
        return new OnnxCase(name, dir, false, null);
    }

    /** A string field of a case.json, or null when it is absent. */
    private static String field(Path json, String key) throws IOException {
        try {
            Object v = Json.parseObject(Files.readString(json)).get(key);
            return v == null ? null : Json.asString(v, key);
        } catch (JsonException e) {
            throw new ModelFormatException(json + ": " + e.getMessage(), e);
        }
    }

    /** Runs a case on a backend: PASS, FAIL with the worst element, or ERROR with the exception. */
    static CaseResult verify(OnnxCase c, Backend backend) {
        if (c.notRun() != null) {
            return new CaseResult(c.name(), backend.name(), CaseResult.Status.NOT_RUN, null, null, null, c.notRun());
        }
        try {
            List<Tolerance.Check> checks = c.dataSet() ? dataSets(c.dir(), backend) : importCase(c.dir(), backend);
            Tolerance.Check worst = null;
            List<String> failed = new ArrayList<>();
            for (Tolerance.Check k : checks) {
                if (worst == null || !(k.fraction() <= worst.fraction())) {
                    worst = k;
                }
                if (!k.passed()) {
                    failed.add(k.toString());
                }
            }
            return new CaseResult(c.name(), backend.name(), failed.isEmpty() ? CaseResult.Status.PASS
                    : CaseResult.Status.FAIL, worst, null, null, String.join("; ", failed));
        } catch (IOException | RuntimeException e) {
            return new CaseResult(c.name(), backend.name(), CaseResult.Status.ERROR, null, null, null, Main.message(e));
        }
    }

    private static List<Tolerance.Check> dataSets(Path dir, Backend backend) throws IOException {
        OnnxModel model = OnnxModel.read(dir.resolve("model.onnx"));
        List<Tolerance.Check> checks = new ArrayList<>();
        List<Path> sets;
        try (Stream<Path> s = Files.list(dir)) {
            sets = s.filter(p -> p.getFileName().toString().startsWith("test_data_set_") && Files.isDirectory(p))
                    .sorted().toList();
        }
        for (Path set : sets) {
            OnnxDataSet data = OnnxDataSet.read(model, set);
            OnnxLayer bound = model.weightInputs().isEmpty() ? model.bind(backend) : model.bind(data.inputs(), backend);
            Map<String, OnnxTensor> got = bound.run(data.inputs());
            for (var e : data.outputs().entrySet()) {
                checks.add(check(set.getFileName() + "/" + e.getKey(), got.get(e.getKey()).toTensor(),
                        e.getValue().toTensor()));
            }
        }
        return checks;
    }

    private static List<Tolerance.Check> importCase(Path dir, Backend backend) throws IOException {
        if (!Files.isRegularFile(dir.resolve("model.onnx"))) {
            return frameworkCase(dir, backend);
        }
        OnnxModel model = OnnxModel.read(dir.resolve("model.onnx"));
        Map<String, OnnxTensor> inputs = new java.util.LinkedHashMap<>();
        for (String name : model.inputNames()) {
            Path npy = dir.resolve(name + ".npy");
            if (!Files.isRegularFile(npy)) {
                throw new ModelFormatException(dir.getFileName() + ": graph input " + org.rnnkit.io.Untrusted.quote(name)
                        + " has no " + npy.getFileName());
            }
            inputs.put(name, OnnxTensor.of(name, Npy.readFloat32(npy)));
        }
        Map<String, OnnxTensor> got = model.bind(backend).run(inputs);
        List<Tolerance.Check> checks = new ArrayList<>();
        for (String name : model.outputNames()) {
            Path npy = dir.resolve(name + ".npy");
            if (!Files.isRegularFile(npy)) {
                throw new ModelFormatException(dir.getFileName() + ": graph output " + org.rnnkit.io.Untrusted.quote(name)
                        + " has no expected " + npy.getFileName());
            }
            checks.add(check(name, got.get(name).toTensor(), Npy.readFloat32(npy)));
        }
        return checks;
    }

    /**
     * A PyTorch or Keras import case: {@code model_file} read by {@code RecurrentLayer.load} with the case's
     * {@code load_options}, run on
     * {@code input.npy} (and {@code h0.npy}, {@code c0.npy}), compared with every expected {@code .npy}.
     */
    private static List<Tolerance.Check> frameworkCase(Path dir, Backend backend) throws IOException {
        Path json = dir.resolve("case.json");
        Map<String, Object> c;
        try {
            c = Json.parseObject(Files.readString(json));
        } catch (JsonException e) {
            throw new ModelFormatException(json + ": " + e.getMessage(), e);
        }
        String file = Json.asString(c.get("model_file"), "model_file");
        if (file.contains("/") || file.contains("\\") || file.startsWith(".")) {
            throw new ModelFormatException(json + ": model_file: expected a file name in the case's folder, got "
                    + org.rnnkit.io.Untrusted.quote(file));
        }
        org.rnnkit.nn.LoadOptions options = org.rnnkit.nn.LoadOptions.defaults();
        Object lo = c.get("load_options");
        if (lo != null) {
            Map<String, Object> o = Json.asObject(lo, "load_options");
            for (var e : o.entrySet()) {
                options = switch (e.getKey()) {
                    case "nonlinearity" -> options.withNonlinearity(Json.asString(e.getValue(), "nonlinearity"));
                    case "batch_first" -> options.withBatchFirst(Json.asBoolean(e.getValue(), "batch_first"));
                    case "prefix" -> options.withPrefix(Json.asString(e.getValue(), "prefix"));
                    default -> throw new ModelFormatException(json + ": load_options: unknown option "
                            + org.rnnkit.io.Untrusted.quote(e.getKey()));
                };
            }
        }
        String format = Json.asString(c.get("model_format"), "model_format");
        org.rnnkit.nn.RecurrentLayer layer = ModelFiles.anyLayer(dir.resolve(file), options, backend);
        Tensor h0 = optional(dir.resolve("h0.npy")), c0 = optional(dir.resolve("c0.npy"));
        org.rnnkit.nn.LayerOutput got = layer.forward(Npy.readFloat32(dir.resolve("input.npy")),
                org.rnnkit.nn.ForwardOptions.defaults().withInitialState(h0, c0));
        Tensor output = got.output();
        if (format.startsWith("keras")) { // Keras returns a go_backwards layer's output in processing order
            output = org.rnnkit.keras.KerasImport.plan(org.rnnkit.keras.KerasFile.read(dir.resolve(file)))
                    .kerasOutput(output);
        }
        List<Tolerance.Check> checks = new ArrayList<>();
        checks.add(check("output", output, Npy.readFloat32(dir.resolve("output.npy"))));
        checks.add(check("h_n", got.hN(), Npy.readFloat32(dir.resolve("h_n.npy"))));
        Tensor cN = optional(dir.resolve("c_n.npy"));
        if (cN != null || got.cN() != null) {
            if (cN == null || got.cN() == null) {
                throw new ModelFormatException(dir.getFileName() + ": c_n.npy " + (cN == null ? "is missing" : "given")
                        + " for a layer " + (got.cN() == null ? "without" : "with") + " a cell state");
            }
            checks.add(check("c_n", got.cN(), cN));
        }
        return checks;
    }

    private static Tensor optional(Path npy) throws IOException {
        return Files.isRegularFile(npy) ? Npy.readFloat32(npy) : null;
    }

    /** Shapes must match; values by the golden forward rule. */
    private static Tolerance.Check check(String name, Tensor got, Tensor expected) {
        if (!java.util.Arrays.equals(got.shape(), expected.shape())) {
            return new Tolerance.Check(name + " shape " + got.shapeString() + ", expected " + expected.shapeString(),
                    Double.POSITIVE_INFINITY, -1, Float.NaN, Float.NaN);
        }
        return Tolerance.FORWARD.compare(name, got.data(), expected.data());
    }
}
