package org.rnnkit.cli;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.rnnkit.backend.Backend;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.onnx.OnnxModel;

/**
 * The model files the commands read, told apart by their content, never by their name: rnnkit's
 * safetensors (an 8-byte little-endian header length, then a JSON object) or ONNX (a protobuf
 * {@code ModelProto}, whose own reader checks it).
 */
final class ModelFiles {
    private ModelFiles() {}

    enum Format {
        SAFETENSORS("safetensors"),
        ONNX("onnx");

        final String key;

        Format(String key) {
            this.key = key;
        }

        static Format parse(String option, String value) {
            for (Format f : values()) {
                if (f.key.equalsIgnoreCase(value.trim())) {
                    return f;
                }
            }
            throw new Args.BadValueException(option + ": expected safetensors or onnx, got " + org.rnnkit.io.Untrusted.quote(value));
        }
    }

    /**
     * The format of a model file from its first bytes: safetensors when they are a header length that fits
     * the file followed by {@code '{'}; anything else is taken as ONNX (whose reader refuses what is not).
     */
    static Format detect(Path file) throws IOException {
        byte[] head = new byte[9];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        if (n == 9 && head[8] == '{') {
            long length = 0;
            for (int i = 7; i >= 0; i--) {
                length = (length << 8) | (head[i] & 0xff);
            }
            if (length >= 2 && length <= Files.size(file) - 8) {
                return Format.SAFETENSORS;
            }
        }
        return Format.ONNX;
    }

    /** A layer from an ONNX file whose weights are in the file (initializers). */
    static RecurrentLayer onnxLayer(Path file, Backend backend) throws IOException {
        OnnxModel model = OnnxModel.read(file);
        if (!model.weightInputs().isEmpty()) {
            throw new ModelFormatException(file + ": the weights are graph inputs (" + String.join(", ",
                    model.weightInputs()) + "), not in the file: give them with 'rnnkit verify' test data, or save"
                    + " the model with its weights as initializers");
        }
        return model.bind(backend).layer();
    }
}
