package org.rnnkit.nn;

import org.rnnkit.tensor.Tensor;

/**
 * What {@link RecurrentCell#forwardTraining} keeps for {@link RecurrentCell#backward}: the new state, the
 * input (by reference: do not change it before the backward pass) and the kernel's tape.
 *
 * <p>Thread safety: not thread-safe; one trace belongs to one forward/backward pair.
 */
public final class CellTrace implements Trace {
    final RecurrentCell owner;
    final LayerCall call;
    final Tensor input;
    float[] tape;
    CellOutput output;

    CellTrace(RecurrentCell owner, LayerCall call, Tensor input) {
        this.owner = owner;
        this.call = call;
        this.input = input;
    }

    /** The new state, as {@link RecurrentCell#forward} returns it. */
    public CellOutput output() {
        return output;
    }
}
