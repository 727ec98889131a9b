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
    final Object owner; // the RecurrentLayer or TrainableLayer that recorded it
    LayerCall call;
    Tensor input;
    final float[][] layerOutputs; // time-major outputs of layers 0..L-2
    final float[][] tapes; // per layer * D + direction
    final float[][] directionOutputs; // per layer, both directions side by side, when they are merged
    final float[][] dropoutMasks; // per layer below the top, when dropout > 0
    int[] classes; // the input's one-hot classes (time-major), or null when its rows are general
    int[] classBuffer; // kept for the next call
    double dropout; // between stacked layers
    SplittableRandom dropoutRandom;
    LayerOutput output;

    LayerTrace(Object owner, RecurrentConfig cfg) {
        this.owner = owner;
        this.layerOutputs = new float[cfg.numLayers()][];
        this.tapes = new float[cfg.stateCount()][];
        this.directionOutputs = new float[cfg.numLayers()][];
        this.dropoutMasks = new float[cfg.numLayers()][];
    }

    /** Starts a forward call: the arrays of an earlier call are kept and reused where large enough. */
    LayerTrace begin(RecurrentConfig cfg, LayerCall call, Tensor input, double dropout, long seed) {
        this.call = call;
        this.input = input;
        boolean drops = dropout > 0 && cfg.numLayers() > 1;
        this.dropout = drops ? dropout : 0;
        this.dropoutRandom = drops ? new SplittableRandom(seed) : null;
        this.output = null;
        return this;
    }

    /** {@code a} if it holds at least {@code n} floats, else a new array of {@code n}. */
    static float[] reuse(float[] a, long n) {
        return a != null && a.length >= n ? a : new float[Math.toIntExact(n)];
    }

    /** The forward results, as {@link RecurrentLayer#forward} returns them. */
    public LayerOutput output() {
        return output;
    }
}
