package org.rnnkit.spi;

/**
 * The fixed shape of one layer direction, as a kernel sees it.
 *
 * @param type the recurrence
 * @param inputSize width of each input row (for stacked layers: {@code D * hOut} of the layer below)
 * @param hiddenSize H, the width of the cell state and of each gate block
 * @param projSize P, the LSTM projection width, or 0
 * @param bias whether {@code bias_ih}/{@code bias_hh} exist
 *
 * <p>Thread safety: immutable.
 */
public record KernelShape(Recurrence type, int inputSize, int hiddenSize, int projSize, boolean bias) {
    public KernelShape {
        if (type == null || inputSize < 1 || hiddenSize < 1 || projSize < 0
                || (projSize > 0 && type != Recurrence.LSTM)) {
            // The layer API validates user input with precise messages; this only guards the SPI contract.
            throw new IllegalArgumentException("shape: expected a recurrence, input and hidden sizes >= 1 and a"
                    + " projection (LSTM only) >= 0, got " + type + " input=" + inputSize + " hidden=" + hiddenSize
                    + " proj=" + projSize);
        }
    }

    /** G*H: rows of the gate weight matrices. */
    public int gateRows() {
        return type.gates() * hiddenSize;
    }

    /** Width of {@code h} and of each output row: P when projecting, else H. */
    public int hOut() {
        return projSize > 0 ? projSize : hiddenSize;
    }
}
