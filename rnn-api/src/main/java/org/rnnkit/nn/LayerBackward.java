package org.rnnkit.nn;

import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.tensor.Tensor;

/**
 * The backward pass of a whole layer through a {@link LayerTrace}: from the top layer down, each direction's
 * kernel back in time, merged directions' gradients split, dropout masks applied, the input gradients of
 * one layer becoming the output gradients of the layer below.
 *
 * <p>Thread safety: stateless; each call works in its own {@link BackwardMemory}.
 */
final class LayerBackward {
    private LayerBackward() {}

    /**
     * Gradients of every parameter (named like the layer's parameters), of the input (when {@code mem} wants
     * it) and of the initial states, written into {@code mem}; returns them as a record of its tensors.
     */
    static Gradients run(LayerKernels lk, LayerTrace trace, Tensor gOutput, Tensor ghN, Tensor gcN,
            BackwardMemory mem) {
        final LayerCall call = trace.call;
        final RecurrentConfig cfg = lk.config;
        final int seqLen = call.seqLen(), batch = call.batch(), d = cfg.directions(), hOut = cfg.hOut(),
                hid = cfg.hiddenSize(), outW = cfg.outputSize();
        final boolean merge = d == 2 && cfg.mergeMode() != MergeMode.CONCAT;

        lk.requireMemory(seqLen, batch, true, true, trace.owner);
        mem.prepare(lk, trace);
        Tensor dh = mem.dh, dc = mem.dc;
        if (ghN == null) {
            java.util.Arrays.fill(dh.data(), 0f);
        } else {
            System.arraycopy(ghN.data(), 0, dh.data(), 0, dh.size());
        }
        if (dc != null) {
            if (gcN == null) {
                java.util.Arrays.fill(dc.data(), 0f);
            } else {
                System.arraycopy(gcN.data(), 0, dc.data(), 0, dc.size());
            }
        }
        Workspace args = mem.args;

        // The top layer's output gradient is in the user's layout; the layers below are time-major.
        float[] dOut = gOutput == null ? null : gOutput.data();
        boolean dOutBf = call.batchFirst();
        int between = seqLen * batch * outW;
        for (int k = cfg.numLayers() - 1; k >= 0; k--) {
            int inW = cfg.layerInputSize(k);
            boolean inBf = k == 0 && call.batchFirst();
            float[] in = k == 0 ? trace.input.data() : trace.layerOutputs[k - 1];
            float[] dIn;
            if (k == 0) {
                dIn = mem.dInput == null ? null : mem.dInput.data();
            } else {
                // the gradient of the layer below's output: two buffers, alternating with dOut's
                dIn = dOut == mem.dBetweenA ? (mem.dBetweenB = LayerTrace.reuse(mem.dBetweenB, between))
                        : (mem.dBetweenA = LayerTrace.reuse(mem.dBetweenA, between));
                java.util.Arrays.fill(dIn, 0, between, 0f);
            }
            float[] dBoth = null;
            if (dOut != null && merge) {
                dBoth = mem.dBoth = LayerTrace.reuse(mem.dBoth, 2L * seqLen * batch * hOut);
                DirectionLayout.unmerge(cfg.mergeMode(), DirectionLayout.rows(args.out, dOut, 0, dOutBf, seqLen, batch,
                        outW), trace.directionOutputs[k], seqLen, batch, hOut, dBoth);
            }
            for (int dir = 0; dir < d; dir++) {
                int state = k * d + dir;
                DirectionWeights g = LayerKernels.directionWeights(mem.grads, k, dir);
                if (dBoth != null) {
                    args.out.set(dBoth, dir * hOut, batch * 2 * hOut, 2 * hOut);
                } else if (dOut != null) {
                    DirectionLayout.rows(args.out, dOut, 0, dOutBf, seqLen, batch, outW);
                    args.out.set(dOut, dir * hOut, args.out.timeStride(), args.out.batchStride());
                }
                lk.kernel.backward(lk.prepared[state], args.seq.set(seqLen, batch, call.lengths(), cfg.reversed(dir)),
                        DirectionLayout.rows(args.in, in, 0, inBf, seqLen, batch, inW).oneHot(k == 0 ? trace.classes : null),
                        dOut == null ? null : args.out,
                        args.state.set(dh.data(), DirectionLayout.stateOffset(cfg, k, dir, batch, hOut),
                                dc == null ? null : dc.data(), DirectionLayout.stateOffset(cfg, k, dir, batch, hid)),
                        dIn == null ? null : DirectionLayout.rows(args.dIn, dIn, 0, inBf, seqLen, batch, inW),
                        g, args.scratch.set(trace.tapes[state], 0, mem.scratch, 0));
            }
            if (k > 0 && trace.dropoutMasks[k - 1] != null) {
                float[] mask = trace.dropoutMasks[k - 1];
                for (int i = 0; i < between; i++) {
                    dIn[i] *= mask[i];
                }
            }
            dOut = dIn;
            dOutBf = false;
        }
        return new Gradients(mem.grads, mem.dInput, dh, dc);
    }
}
