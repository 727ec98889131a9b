package org.rnnkit.spi;

/**
 * The recurrence a kernel runs, as the SPI names it (the user API's {@code CellType} maps onto it one to
 * one): PyTorch's {@code nn.RNN} with tanh or ReLU, {@code nn.LSTM} (gates {@code i, f, g, o}) and
 * {@code nn.GRU} (gates {@code r, z, n}).
 *
 * <p>Thread safety: immutable.
 */
public enum Recurrence {
    RNN_TANH(1),
    RNN_RELU(1),
    LSTM(4),
    GRU(3);

    private final int gates;

    Recurrence(int gates) {
        this.gates = gates;
    }

    /** Gate blocks of {@code H} rows in the weight matrices: 1, 4 (LSTM) or 3 (GRU). */
    public int gates() {
        return gates;
    }

    /** Activation slots of a {@link org.rnnkit.variant.CellVariant}: 1 (RNN), 2 (GRU: f, g) or 3 (LSTM: f, g, h). */
    public int activationSlots() {
        return this == LSTM ? 3 : this == GRU ? 2 : 1;
    }

    /** The recurrence's own activations, one per slot: tanh or relu; sigmoid, tanh; sigmoid, tanh, tanh. */
    public java.util.List<org.rnnkit.variant.Activation> defaultActivations() {
        org.rnnkit.variant.Activation s = org.rnnkit.variant.Activation.SIGMOID, t = org.rnnkit.variant.Activation.TANH;
        return switch (this) {
            case RNN_TANH -> java.util.List.of(t);
            case RNN_RELU -> java.util.List.of(org.rnnkit.variant.Activation.RELU);
            case GRU -> java.util.List.of(s, t);
            case LSTM -> java.util.List.of(s, t, t);
        };
    }

    /** Whether the state has a cell part {@code c} besides {@code h} (LSTM only). */
    public boolean hasCellState() {
        return this == LSTM;
    }
}
