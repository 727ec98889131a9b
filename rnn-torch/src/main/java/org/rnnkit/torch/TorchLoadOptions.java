package org.rnnkit.torch;

import org.rnnkit.nn.CellType;

/**
 * What a state_dict cannot say, for {@link TorchImport}: a plain RNN's nonlinearity, whether the input is
 * batch-first, and which part of a larger model's state_dict is the recurrent layer.
 *
 * <p>Immutable and thread-safe.
 *
 * @param prefix the state_dict key prefix of the recurrent layer, e.g. {@code "rnn."}; empty for a state_dict
 *     of the layer itself
 * @param nonlinearity {@link CellType#RNN_TANH} or {@link CellType#RNN_RELU} for a plain RNN; null if not given
 * @param batchFirst the module's {@code batch_first}; null if not given
 */
public record TorchLoadOptions(String prefix, CellType nonlinearity, Boolean batchFirst) {
    public TorchLoadOptions {
        prefix = prefix == null ? "" : prefix;
        if (nonlinearity != null && nonlinearity != CellType.RNN_TANH && nonlinearity != CellType.RNN_RELU) {
            throw new IllegalArgumentException("nonlinearity: expected RNN_TANH or RNN_RELU, got " + nonlinearity);
        }
    }

    /** No prefix, nothing given. */
    public static TorchLoadOptions defaults() {
        return new TorchLoadOptions("", null, null);
    }

    /** {@code "tanh"} or {@code "relu"}, as {@code nn.RNN(nonlinearity=...)} names them. */
    public TorchLoadOptions withNonlinearity(String name) {
        CellType t = switch (name == null ? "" : name) {
            case "tanh" -> CellType.RNN_TANH;
            case "relu" -> CellType.RNN_RELU;
            default -> throw new IllegalArgumentException("nonlinearity: expected 'tanh' or 'relu', got '" + name + "'");
        };
        return new TorchLoadOptions(prefix, t, batchFirst);
    }

    public TorchLoadOptions withBatchFirst(boolean batchFirst) {
        return new TorchLoadOptions(prefix, nonlinearity, batchFirst);
    }

    public TorchLoadOptions withPrefix(String prefix) {
        return new TorchLoadOptions(prefix, nonlinearity, batchFirst);
    }
}
