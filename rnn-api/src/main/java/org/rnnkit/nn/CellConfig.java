package org.rnnkit.nn;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The hyper-parameters of a single-step cell ({@code nn.RNNCell}, {@code nn.LSTMCell}, {@code nn.GRUCell}).
 *
 * <p>Thread safety: immutable.
 */
public record CellConfig(CellType type, int inputSize, int hiddenSize, boolean bias) {
    public CellConfig {
        if (type == null) {
            throw new IllegalArgumentException("mode: expected RNN_TANH, RNN_RELU, LSTM or GRU, got null");
        }
        RecurrentConfig.requirePositive("input_size", inputSize);
        RecurrentConfig.requirePositive("hidden_size", hiddenSize);
        if ((long) type.gates() * hiddenSize * Math.max(inputSize, hiddenSize) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("hidden_size: " + hiddenSize + " with input_size " + inputSize
                    + " makes a weight matrix of more than 2^31 elements");
        }
    }

    /** The model-file metadata for this cell (as for layers, with {@code cell=true}). */
    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(RecurrentConfig.KEY_MODE, type.name());
        m.put(RecurrentConfig.KEY_INPUT, Integer.toString(inputSize));
        m.put(RecurrentConfig.KEY_HIDDEN, Integer.toString(hiddenSize));
        m.put(RecurrentConfig.KEY_LAYERS, "1");
        m.put(RecurrentConfig.KEY_BIDIRECTIONAL, "false");
        m.put(RecurrentConfig.KEY_BATCH_FIRST, "false");
        m.put(RecurrentConfig.KEY_BIAS, Boolean.toString(bias));
        m.put(RecurrentConfig.KEY_PROJ, "0");
        m.put(RecurrentConfig.KEY_CELL, "true");
        return m;
    }

    /**
     * Reads a cell configuration from model-file metadata ({@code cell=true} required).
     *
     * @throws IllegalArgumentException naming the key when one is missing or malformed
     */
    public static CellConfig fromMetadata(Map<String, String> meta) {
        if (!RecurrentConfig.parseBool(meta, RecurrentConfig.KEY_CELL, false)) {
            throw new IllegalArgumentException("metadata: expected cell=true for a cell, got "
                    + meta.getOrDefault(RecurrentConfig.KEY_CELL, "no 'cell' key"));
        }
        return new CellConfig(CellType.parse(RecurrentConfig.required(meta, RecurrentConfig.KEY_MODE)),
                RecurrentConfig.parseInt(meta, RecurrentConfig.KEY_INPUT, null),
                RecurrentConfig.parseInt(meta, RecurrentConfig.KEY_HIDDEN, null),
                RecurrentConfig.parseBool(meta, RecurrentConfig.KEY_BIAS, true));
    }
}
