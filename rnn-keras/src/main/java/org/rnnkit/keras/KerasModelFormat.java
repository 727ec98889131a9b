package org.rnnkit.keras;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipFile;
import org.rnnkit.io.ModelFormat;
import org.rnnkit.io.SafeTensorsFile;

/**
 * Keras files as a {@link ModelFormat} of {@code RecurrentLayer.load}: a Keras 3 {@code .keras} zip (its
 * entries {@code config.json} and {@code model.weights.h5}) or a legacy HDF5 {@code .h5} (HDF5's signature
 * {@code \x89HDF\r\n\x1a\n}), read by {@link KerasFile} and {@link KerasImport}. The layer runs in rnnkit's
 * layout: for a {@code go_backwards} layer, rnnkit's output is in input-step order, where Keras returns
 * the processing order ({@link KerasImport.Plan#kerasOutput} gives Keras's).
 *
 * <p>Thread safety: stateless.
 */
public final class KerasModelFormat implements ModelFormat {
    private static final byte[] HDF5 = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

    @Override
    public String name() {
        return "keras";
    }

    @Override
    public boolean recognizes(Path file, byte[] head) {
        if (head.length >= HDF5.length && java.util.Arrays.equals(head, 0, HDF5.length, HDF5, 0, HDF5.length)) {
            return true;
        }
        if (head.length < 4 || head[0] != 'P' || head[1] != 'K' || head[2] != 3 || head[3] != 4) {
            return false;
        }
        try (ZipFile zip = new ZipFile(file.toFile())) { // only the entry names: KerasFile reads it for real
            return zip.getEntry("config.json") != null && zip.getEntry("model.weights.h5") != null;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public SafeTensorsFile read(Path file, Map<String, String> options) throws IOException {
        if (!options.isEmpty()) {
            throw new IllegalArgumentException("options: a Keras model says its configuration itself; got " + options);
        }
        KerasFile f = KerasFile.read(file);
        KerasImport.Plan plan = KerasImport.plan(f);
        return new SafeTensorsFile(f.source(), plan.stateDict(), plan.config().toMetadata());
    }
}
