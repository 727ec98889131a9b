package org.rnnkit.spi;

import org.rnnkit.variant.CellVariant;

/**
 * The fixed shape of one layer direction, as a kernel sees it.
 *
 * @param type the recurrence
 * @param inputSize width of each input row (for stacked layers: {@code D * hOut} of the layer below)
 * @param hiddenSize H, the width of the cell state and of each gate block
 * @param projSize P, the LSTM projection width, or 0
 * @param bias whether {@code bias_ih}/{@code bias_hh} exist
 * @param variant how the cell differs from PyTorch's form: {@link CellVariant#NONE}, or options valid for
 *     {@code type} with no activations (the type's own) or one per slot of this direction
 *
 * <p>Thread safety: immutable.
 */
public record KernelShape(Recurrence type, int inputSize, int hiddenSize, int projSize, boolean bias,
        CellVariant variant) {

    /** A shape of PyTorch's form. */
    public KernelShape(Recurrence type, int inputSize, int hiddenSize, int projSize, boolean bias) {
        this(type, inputSize, hiddenSize, projSize, bias, CellVariant.NONE);
    }

    public KernelShape {
        if (type == null || inputSize < 1 || hiddenSize < 1 || projSize < 0
                || (projSize > 0 && type != Recurrence.LSTM)) {
            // The layer API validates user input with precise messages; this only guards the SPI contract.
            throw new IllegalArgumentException("shape: expected a recurrence, input and hidden sizes >= 1 and a"
                    + " projection (LSTM only) >= 0, got " + type + " input=" + inputSize + " hidden=" + hiddenSize
                    + " proj=" + projSize);
        }
        if (variant == null) {
            variant = CellVariant.NONE;
        }
        int acts = variant.activations().size();
        if ((acts != 0 && acts != type.activationSlots())
                || ((variant.peepholes() || variant.inputForget()) && type != Recurrence.LSTM)
                || (variant.resetBeforeProduct() && type != Recurrence.GRU)) {
            throw new IllegalArgumentException("shape: variant " + variant + " does not fit a " + type + " direction"
                    + " (expected 0 or " + type.activationSlots() + " activations, peepholes and input_forget for"
                    + " LSTM only, reset_before_product for GRU only)");
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
