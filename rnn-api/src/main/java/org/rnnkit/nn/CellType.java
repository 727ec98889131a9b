package org.rnnkit.nn;

import java.util.Locale;

/**
 * The recurrence a layer or cell computes, with PyTorch's equations and gate order.
 *
 * <ul>
 *   <li>{@link #RNN_TANH}, {@link #RNN_RELU}: {@code h' = act(W_ih x + b_ih + W_hh h + b_hh)} ({@code nn.RNN}).
 *   <li>{@link #LSTM}: gates {@code i, f, g, o}; {@code c' = f*c + i*g}, {@code h' = o*tanh(c')}, then
 *       {@code h' = W_hr h'} when {@code proj_size > 0} ({@code nn.LSTM}).
 *   <li>{@link #GRU}: gates {@code r, z, n}; {@code n = tanh(W_in x + b_in + r*(W_hn h + b_hn))},
 *       {@code h' = (1-z)*n + z*h} ({@code nn.GRU}).
 * </ul>
 *
 * <p>Thread safety: immutable.
 */
public enum CellType {
    RNN_TANH(1),
    RNN_RELU(1),
    LSTM(4),
    GRU(3);

    private final int gates;

    CellType(int gates) {
        this.gates = gates;
    }

    /** Number of gate blocks G: the weight matrices have {@code G * hidden_size} rows. */
    public int gates() {
        return gates;
    }

    /**
     * Activation slots of the cell (see {@link org.rnnkit.variant.CellVariant}): 1 for an RNN, 2 for the GRU
     * ({@code f} of the gates, {@code g} of the candidate), 3 for the LSTM ({@code f}, {@code g}, {@code h}).
     */
    public int activationSlots() {
        return this == LSTM ? 3 : this == GRU ? 2 : 1;
    }

    /** The type's own activations, one per slot: tanh or relu; sigmoid, tanh; sigmoid, tanh, tanh. */
    public java.util.List<org.rnnkit.variant.Activation> defaultActivations() {
        return recurrence().defaultActivations();
    }

    /** True for the LSTM, the only type with a cell state {@code c}. */
    public boolean hasCellState() {
        return this == LSTM;
    }

    /** The SPI's name for this recurrence (same constants). */
    org.rnnkit.spi.Recurrence recurrence() {
        return org.rnnkit.spi.Recurrence.valueOf(name());
    }

    /**
     * Parses the {@code mode} names of the model-file metadata ({@code RNN_TANH}, {@code RNN_RELU},
     * {@code LSTM}, {@code GRU}), case-insensitively; also {@code rnn} for tanh.
     */
    public static CellType parse(String mode) {
        String m = mode == null ? "" : mode.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        switch (m) {
            case "RNN", "RNN_TANH", "TANH":
                return RNN_TANH;
            case "RNN_RELU", "RELU":
                return RNN_RELU;
            case "LSTM":
                return LSTM;
            case "GRU":
                return GRU;
            default:
                throw new IllegalArgumentException(
                        "mode: expected one of RNN_TANH, RNN_RELU, LSTM, GRU, got '" + mode + "'");
        }
    }
}
