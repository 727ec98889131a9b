package org.rnnkit.nn;

import org.rnnkit.tensor.Tensor;

/**
 * What a training forward pass ({@link RecurrentLayer#forwardTraining}, {@link RecurrentCell#forwardTraining}) keeps for the backward pass: its
 * results, the input, every layer's output and the kernels' tapes.
 *
 * <p>Thread safety: not thread-safe; one trace belongs to one forward/backward pair.
 */
public final class Trace {
    final Object owner; // the RecurrentLayer or RecurrentCell that recorded it
    final RecurrentLayer.Call call;
    final Tensor input;
    final float[][] layerOutputs; // time-major outputs of layers 0..L-2
    final float[][] tapes; // per layer * D + direction
    final float[][] directionOutputs; // per layer, both directions side by side, when they are merged
    LayerOutput output;
    double dropout; // between stacked layers, training only
    java.util.SplittableRandom dropoutRandom;
    final float[][] dropoutMasks; // per layer below the top, when dropout > 0

    CellOutput cellOutput;

    Trace(Object owner, RecurrentLayer.Call call, Tensor input, int layers, int states) {
        this.owner = owner;
        this.call = call;
        this.input = input;
        this.layerOutputs = new float[layers][];
        this.tapes = new float[states][];
        this.directionOutputs = new float[layers][];
        this.dropoutMasks = new float[layers][];
    }

    /** The forward results of a layer, as {@link RecurrentLayer#forward} returns them; null for a cell. */
    public LayerOutput output() {
        return output;
    }

    /** The new state of a cell, as {@link RecurrentCell#forward} returns it; null for a layer. */
    public CellOutput cellOutput() {
        return cellOutput;
    }
}
