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

    /** Whether the state has a cell part {@code c} besides {@code h} (LSTM only). */
    public boolean hasCellState() {
        return this == LSTM;
    }
}
