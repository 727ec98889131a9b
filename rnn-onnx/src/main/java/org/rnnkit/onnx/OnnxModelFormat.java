package org.rnnkit.onnx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.rnnkit.io.ModelFormat;
import org.rnnkit.io.SafeTensorsFile;

/**
 * ONNX as a {@link ModelFormat} of {@code RecurrentLayer.load}: a file whose first byte is the tag of
 * {@code ModelProto.ir_version} (field 1, a varint: {@code 0x08}), which ONNX's tools and PyTorch's
 * exporter write first, read by {@link OnnxModel} with its weights from the file.
 *
 * <p>Thread safety: stateless.
 */
public final class OnnxModelFormat implements ModelFormat {
    @Override
    public String name() {
        return "onnx";
    }

    @Override
    public boolean recognizes(Path file, byte[] head) {
        return head.length > 0 && head[0] == 0x08;
    }

    @Override
    public SafeTensorsFile read(Path file, Map<String, String> options) throws IOException {
        if (!options.isEmpty()) {
            throw new IllegalArgumentException("options: an ONNX model says its configuration itself; got " + options);
        }
        OnnxModel model = OnnxModel.read(file);
        if (!model.weightInputs().isEmpty()) {
            throw new OnnxFormatException(file.getFileName() + ": the weights are graph inputs ("
                    + String.join(", ", model.weightInputs()) + "), not in the file");
        }
        return new SafeTensorsFile(file.getFileName().toString(), model.stateDict(), model.config().toMetadata());
    }
}
