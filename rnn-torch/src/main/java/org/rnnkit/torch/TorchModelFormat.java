package org.rnnkit.torch;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipFile;
import org.rnnkit.io.ModelFormat;
import org.rnnkit.io.SafeTensorsFile;

/**
 * PyTorch's {@code torch.save} files as a {@link ModelFormat} of {@code RecurrentLayer.load}: a zip archive
 * holding {@code <archive>/data.pkl} (PyTorch 1.6+), or the legacy format, which starts with a pickle's
 * {@code PROTO} opcode ({@code 0x80}). Read by {@link TorchFile} and {@link TorchImport} with the options
 * {@code nonlinearity}, {@code batch_first} and {@code prefix}.
 *
 * <p>Thread safety: stateless.
 */
public final class TorchModelFormat implements ModelFormat {
    @Override
    public String name() {
        return "pytorch";
    }

    @Override
    public boolean recognizes(Path file, byte[] head) {
        if (head.length >= 2 && (head[0] & 0xff) == 0x80) {
            return true;
        }
        if (head.length < 4 || head[0] != 'P' || head[1] != 'K' || head[2] != 3 || head[3] != 4) {
            return false;
        }
        try (ZipFile zip = new ZipFile(file.toFile())) { // only the entry names: TorchFile reads it for real
            return zip.stream().limit(10_000).anyMatch(e -> e.getName().endsWith("/data.pkl"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public SafeTensorsFile read(Path file, Map<String, String> options) throws IOException {
        TorchLoadOptions o = TorchLoadOptions.defaults();
        for (var e : options.entrySet()) {
            o = switch (e.getKey()) {
                case NONLINEARITY -> o.withNonlinearity(e.getValue());
                case BATCH_FIRST -> o.withBatchFirst(Boolean.parseBoolean(e.getValue()));
                case PREFIX -> o.withPrefix(e.getValue());
                default -> throw new IllegalArgumentException("options: unknown option '" + e.getKey() + "'");
            };
        }
        TorchFile f = TorchFile.read(file);
        // a missing or contradicting option is the caller's IllegalArgumentException, naming the option
        return new SafeTensorsFile(f.source(), TorchImport.stateDict(f, o), TorchImport.config(f, o).toMetadata());
    }
}
