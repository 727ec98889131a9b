package org.rnnkit.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.rnnkit.tensor.Tensor;

/**
 * What a layer's backward pass writes and works in: the parameter gradients, the state gradients, the input
 * gradient (or none), the kernel workspace and the gradients between stacked layers. {@link RecurrentLayer#backward}
 * makes a fresh one per call (its results belong to the caller); {@link TrainableLayer} keeps one and
 * reuses it every step.
 *
 * <p>Thread safety: not thread-safe; one backward pass at a time.
 */
final class BackwardMemory {
    final Map<String, Tensor> grads = new LinkedHashMap<>();
    final Workspace args = new Workspace();
    Tensor dh, dc, dInput;
    boolean wantInput;
    float[] scratch, dBetweenA, dBetweenB, dBoth;

    BackwardMemory(Map<String, Tensor> parameters, boolean wantInput) {
        parameters.forEach((name, t) -> grads.put(name, Tensor.zeros(t.shape())));
        this.wantInput = wantInput;
    }

    /** Zeros the parameter gradients (they are added to), and sizes everything else for this call. */
    void prepare(LayerKernels lk, LayerTrace trace) {
        for (Tensor g : grads.values()) {
            java.util.Arrays.fill(g.data(), 0f);
        }
        LayerOutput fwd = trace.output;
        dh = sized(dh, fwd.hN().shape());
        dc = fwd.cN() == null ? null : sized(dc, fwd.cN().shape());
        dInput = wantInput ? sized(dInput, trace.input.shape()) : null;
        if (dInput != null) {
            java.util.Arrays.fill(dInput.data(), 0f); // both directions add to it
        }
        scratch = LayerTrace.reuse(scratch, lk.maxWorkspace(trace.call.seqLen(), trace.call.batch()));
    }

    /** {@code t} if it has this shape, else a new tensor of it. */
    static Tensor sized(Tensor t, int[] shape) {
        return t != null && t.sameShape(shape) ? t : Tensor.zeros(shape);
    }
}
