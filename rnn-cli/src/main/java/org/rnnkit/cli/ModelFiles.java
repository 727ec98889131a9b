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
 * safetensors (an 8-byte little-endian header length, then a JSON object), PyTorch's {@code torch.save}
 * files (a zip archive, or the legacy format, which starts with a pickle), or ONNX (a protobuf
 * {@code ModelProto}, whose own reader checks it).
 */
final class ModelFiles {
    private ModelFiles() {}

    enum Format {
        SAFETENSORS("safetensors"),
        ONNX("onnx"),
        TORCH("pytorch");

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
        // a zip's local file header (torch.save since PyTorch 1.6), or a pickle's PROTO opcode (the legacy format)
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4 || n >= 2 && (head[0] & 0xff) == 0x80) {
            return Format.TORCH;
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

    /** A layer from a PyTorch file: a state_dict (with {@code options} for what it cannot say) or a pickled module. */
    static RecurrentLayer torchLayer(Path file, org.rnnkit.torch.TorchLoadOptions options, Backend backend)
            throws IOException {
        org.rnnkit.torch.TorchFile f = org.rnnkit.torch.TorchFile.read(file);
        try {
            return org.rnnkit.torch.TorchImport.layer(f, options, backend);
        } catch (IllegalArgumentException e) { // a missing or contradicting option, or tensors that do not fit
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    /** The load options of a PyTorch file from the command line: --nonlinearity, --batch-first, --prefix. */
    static org.rnnkit.torch.TorchLoadOptions torchOptions(Args a) {
        org.rnnkit.torch.TorchLoadOptions o = org.rnnkit.torch.TorchLoadOptions.defaults();
        if (a.get("--nonlinearity") != null) {
            o = o.withNonlinearity(a.get("--nonlinearity").trim());
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
            PyTorch files (torch.save of a state_dict, of a whole nn.RNN/LSTM/GRU, or the legacy pre-1.6
            format; read by a restricted unpickler that executes nothing): a state_dict does not say a plain
            RNN's nonlinearity nor batch_first; give them, and the key prefix of a larger model's recurrent
            part:
              --nonlinearity tanh|relu  --batch-first true|false  --prefix rnn.
            """;

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
