package org.rnnkit.nn;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.rnnkit.io.ModelFormat;

/**
 * What a model file cannot say, for {@link RecurrentLayer#load(java.nio.file.Path, LoadOptions,
 * org.rnnkit.backend.Backend)}: a PyTorch state_dict knows neither a plain RNN's nonlinearity nor
 * {@code batch_first}, and a larger model's state_dict needs the key prefix of its recurrent part.
 * Formats whose files say it all (safetensors with metadata, ONNX) refuse options.
 *
 * @param nonlinearity {@code "tanh"} or {@code "relu"}, or null when not given
 * @param batchFirst the module's {@code batch_first}, or null when not given
 * @param prefix the state_dict key prefix of the recurrent layer (e.g. {@code "rnn."}), or null
 *
 * <p>Thread safety: immutable.
 */
public record LoadOptions(String nonlinearity, Boolean batchFirst, String prefix) {

    public LoadOptions {
        if (nonlinearity != null) {
            nonlinearity = nonlinearity.trim().toLowerCase(Locale.ROOT);
            if (!nonlinearity.equals("tanh") && !nonlinearity.equals("relu")) {
                throw new IllegalArgumentException("nonlinearity: expected 'tanh' or 'relu', got '" + nonlinearity + "'");
            }
        }
    }

    /** Nothing given. */
    public static LoadOptions defaults() {
        return new LoadOptions(null, null, null);
    }

    public LoadOptions withNonlinearity(String name) {
        return new LoadOptions(name, batchFirst, prefix);
    }

    public LoadOptions withBatchFirst(boolean on) {
        return new LoadOptions(nonlinearity, on, prefix);
    }

    public LoadOptions withPrefix(String p) {
        return new LoadOptions(nonlinearity, batchFirst, p);
    }

    /** Whether nothing is given. */
    public boolean isEmpty() {
        return nonlinearity == null && batchFirst == null && prefix == null;
    }

    /** The options by {@link ModelFormat}'s keys, only those given. */
    Map<String, String> toMap() {
        Map<String, String> m = new LinkedHashMap<>();
        if (nonlinearity != null) {
            m.put(ModelFormat.NONLINEARITY, nonlinearity);
        }
        if (batchFirst != null) {
            m.put(ModelFormat.BATCH_FIRST, batchFirst.toString());
        }
        if (prefix != null) {
            m.put(ModelFormat.PREFIX, prefix);
        }
        return m;
    }
}
