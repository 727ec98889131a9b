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
 * safetensors (whose metadata the commands may override), or any format {@code RecurrentLayer.load}
 * recognises (ONNX, PyTorch's {@code torch.save} files, Keras), completed by the load options.
 */
final class ModelFiles {
    private ModelFiles() {}

    /**
     * Whether the file is rnnkit's safetensors (an 8-byte little-endian header length that fits the file,
     * then {@code '{'}); anything else goes to {@code RecurrentLayer.load}'s formats.
     */
    static boolean isSafeTensors(Path file) throws IOException {
        byte[] head = new byte[9];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        if (n < 9 || head[8] != '{') {
            return false;
        }
        long length = 0;
        for (int i = 7; i >= 0; i--) {
            length = (length << 8) | (head[i] & 0xff);
        }
        return length >= 2 && length <= Files.size(file) - 8;
    }

    /**
     * A layer from a file of any format {@code RecurrentLayer.load} knows (ONNX, PyTorch, Keras, by their
     * content), with the command line's load options.
     */
    static RecurrentLayer anyLayer(Path file, org.rnnkit.nn.LoadOptions options, Backend backend) throws IOException {
        return RecurrentLayer.load(file, options, backend);
    }

    /** The load options from the command line: --nonlinearity, --batch-first, --prefix. */
    static org.rnnkit.nn.LoadOptions loadOptions(Args a) {
        org.rnnkit.nn.LoadOptions o = org.rnnkit.nn.LoadOptions.defaults();
        if (a.get("--nonlinearity") != null) {
            o = o.withNonlinearity(a.get("--nonlinearity"));
        }
        if (a.get("--batch-first") != null) {
            String v = a.get("--batch-first").trim();
            if (!v.equals("true") && !v.equals("false")) {
                throw new Args.BadValueException("--batch-first: expected true or false, got "
                        + org.rnnkit.io.Untrusted.quote(v));
            }
            o = o.withBatchFirst(Boolean.parseBoolean(v));
        }
        if (a.get("--prefix") != null) {
            o = o.withPrefix(a.get("--prefix"));
        }
        return o;
    }

    /** The options a PyTorch file's load takes (besides --batch-first, which is also a configuration option). */
    static final java.util.Set<String> TORCH_OPTIONS = java.util.Set.of("--nonlinearity", "--prefix");

    static final String TORCH_USAGE = """
            Other formats, told by their content: ONNX, Keras (.keras, legacy .h5), PyTorch's torch.save
            files (a state_dict, a whole nn.RNN/LSTM/GRU, or the legacy pre-1.6 format; read by a restricted
            unpickler that executes nothing). A PyTorch state_dict does not say a plain RNN's nonlinearity
            nor batch_first; give them, and the key prefix of a larger model's recurrent part:
              --nonlinearity tanh|relu  --batch-first true|false  --prefix rnn.
            """;
}
