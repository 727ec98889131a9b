package org.rnnkit.nn;

import java.io.IOException;
import java.nio.file.Path;
import org.rnnkit.backend.Backend;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.ModelFormat;
import org.rnnkit.io.SafeTensorsFile;

/**
 * A layer's model files: safetensors with PyTorch's {@code state_dict} names and the configuration in the
 * metadata (keys of the golden format), read strictly.
 *
 * <p>Thread safety: stateless.
 */
final class LayerFiles {
    private LayerFiles() {}

    /**
     * The layer a file of any known format describes, told by its content: rnnkit's safetensors, or a
     * format a {@link ModelFormat} on the class or module path recognises.
     */
    static RecurrentLayer load(Path file, LoadOptions options, Backend backend) throws IOException {
        byte[] head = new byte[64];
        int n;
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        head = java.util.Arrays.copyOf(head, n);
        if (isSafeTensors(head, java.nio.file.Files.size(file))) {
            if (!options.isEmpty()) {
                throw new IllegalArgumentException("options: " + file.getFileName() + " is a safetensors file, whose"
                        + " metadata says the configuration; options apply to files that cannot say it, got " + options);
            }
            return load(file, (RecurrentConfig) null, backend);
        }
        java.util.List<String> known = new java.util.ArrayList<>();
        for (ModelFormat format : java.util.ServiceLoader.load(ModelFormat.class, LayerFiles.class.getClassLoader())) {
            known.add(format.name());
            if (format.recognizes(file, head)) {
                SafeTensorsFile f = format.read(file, options.toMap());
                try {
                    return RecurrentLayer.of(RecurrentConfig.fromMetadata(f.metadata()), f.tensors(), backend);
                } catch (IllegalArgumentException e) {
                    throw new ModelFormatException(file + ": " + e.getMessage());
                }
            }
        }
        throw new ModelFormatException(file + ": not a safetensors file, and no model format on the class path"
                + " recognises it (formats: " + (known.isEmpty() ? "none; add rnn-onnx, rnn-torch" : String.join(", ", known))
                + ")");
    }

    /** An 8-byte little-endian header length that fits the file, then {@code '{'}. */
    private static boolean isSafeTensors(byte[] head, long size) {
        if (head.length < 9 || head[8] != '{') {
            return false;
        }
        long length = 0;
        for (int i = 7; i >= 0; i--) {
            length = (length << 8) | (head[i] & 0xff);
        }
        return length >= 2 && length <= size - 8;
    }

    /** The layer a file describes, its configuration from the metadata (or {@code config} when given). */
    static RecurrentLayer load(Path file, RecurrentConfig config, Backend backend) throws IOException {
        SafeTensorsFile f = SafeTensors.read(file);
        try {
            RecurrentConfig c = config != null ? config : RecurrentConfig.fromMetadata(f.metadata());
            return RecurrentLayer.of(c, f.tensors(), backend);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    static void save(Path file, RecurrentLayer layer) throws IOException {
        SafeTensors.write(file, layer.parameters(), layer.config().toMetadata());
    }
}
