package org.rnnkit.nn;

import java.util.SplittableRandom;
import org.rnnkit.tensor.Tensor;

/**
 * What {@link RecurrentLayer#forwardTraining} keeps for {@link RecurrentLayer#backward}: its results, the
 * input (by reference: do not change it before the backward pass), every layer's output, the kernels'
 * tapes and the dropout masks.
 *
 * <p>Thread safety: not thread-safe; one trace belongs to one forward/backward pair.
 */
public final class LayerTrace implements Trace {
    final RecurrentLayer owner;
    final LayerCall call;
    final Tensor input;
    final float[][] layerOutputs; // time-major outputs of layers 0..L-2
    final float[][] tapes; // per layer * D + direction
    final float[][] directionOutputs; // per layer, both directions side by side, when they are merged
    final float[][] dropoutMasks; // per layer below the top, when dropout > 0
    final double dropout; // between stacked layers
    final SplittableRandom dropoutRandom;
    LayerOutput output;

    LayerTrace(RecurrentLayer owner, LayerCall call, Tensor input, double dropout, long seed) {
        RecurrentConfig cfg = owner.config();
        this.owner = owner;
        this.call = call;
        this.input = input;
        this.layerOutputs = new float[cfg.numLayers()][];
        this.tapes = new float[cfg.stateCount()][];
        this.directionOutputs = new float[cfg.numLayers()][];
        this.dropoutMasks = new float[cfg.numLayers()][];
        boolean drops = dropout > 0 && cfg.numLayers() > 1;
        this.dropout = drops ? dropout : 0;
        this.dropoutRandom = drops ? new SplittableRandom(seed) : null;
    }

    /** The forward results, as {@link RecurrentLayer#forward} returns them. */
    public LayerOutput output() {
        return output;
    }
}
