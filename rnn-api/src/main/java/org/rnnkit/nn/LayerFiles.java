package org.rnnkit.nn;

import java.io.IOException;
import java.nio.file.Path;
import org.rnnkit.backend.Backend;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.SafeTensorsFile;

/**
 * A layer's model files: safetensors with PyTorch's {@code state_dict} names and the configuration in the
 * metadata (keys of the golden format), read strictly.
 *
 * <p>Thread safety: stateless.
 */
final class LayerFiles {
    private LayerFiles() {}

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
