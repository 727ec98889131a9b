package org.rnnkit.onnx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One test data set in ONNX's backend-test layout, {@code test_data_set_N/input_K.pb} and
 * {@code output_K.pb}: the {@code K}-th graph input and the {@code K}-th graph output (expected) of a model,
 * by name.
 *
 * @param inputs the graph inputs, in graph order
 * @param outputs the expected graph outputs, in graph order
 *
 * <p>Thread safety: immutable.
 */
public record OnnxDataSet(Map<String, OnnxTensor> inputs, Map<String, OnnxTensor> outputs) {

    public OnnxDataSet {
        inputs = Collections.unmodifiableMap(new LinkedHashMap<>(inputs));
        outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
    }

    /**
     * Reads the data set in {@code dir} for {@code model}: one {@code input_K.pb} per graph input and one
     * {@code output_K.pb} per graph output, no more, no fewer.
     *
     * @throws OnnxFormatException when a file is missing, extra or malformed
     * @throws IOException when a file cannot be read
     */
    public static OnnxDataSet read(OnnxModel model, Path dir) throws IOException {
        Objects.requireNonNull(model, "model");
        return new OnnxDataSet(read(dir, "input", model.inputNames()), read(dir, "output", model.outputNames()));
    }

    private static Map<String, OnnxTensor> read(Path dir, String kind, List<String> names) throws IOException {
        Map<String, OnnxTensor> m = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            Path f = dir.resolve(kind + "_" + k + ".pb");
            if (!Files.isRegularFile(f)) {
                throw new OnnxFormatException(dir.getFileName() + ": missing " + f.getFileName() + " for graph " + kind
                        + " " + org.rnnkit.io.Untrusted.quote(names.get(k)));
            }
            m.put(names.get(k), OnnxTensor.read(f));
        }
        Path extra = dir.resolve(kind + "_" + names.size() + ".pb");
        if (Files.exists(extra)) {
            throw new OnnxFormatException(dir.getFileName() + ": " + extra.getFileName() + ": the model has only "
                    + names.size() + " graph " + kind + "s");
        }
        return m;
    }
}
