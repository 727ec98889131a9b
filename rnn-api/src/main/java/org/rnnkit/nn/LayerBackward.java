package org.rnnkit.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.tensor.Tensor;

/**
 * The backward pass of a whole layer through a {@link LayerTrace}: from the top layer down, each direction's
 * kernel back in time, merged directions' gradients split, dropout masks applied, the input gradients of
 * one layer becoming the output gradients of the layer below.
 *
 * <p>Thread safety: stateless; each call allocates its own gradients and scratch.
 */
final class LayerBackward {
    private LayerBackward() {}

    /** Gradients of every parameter (named like {@code parameters}), of the input and of the initial states. */
    static Gradients run(LayerKernels lk, Map<String, Tensor> parameters, LayerTrace trace, Tensor gOutput,
            Tensor ghN, Tensor gcN) {
        LayerOutput fwd = trace.output;
        final LayerCall call = trace.call;
        final RecurrentConfig cfg = lk.config;
        final int seqLen = call.seqLen(), batch = call.batch(), d = cfg.directions(), hOut = cfg.hOut(),
                hid = cfg.hiddenSize(), outW = cfg.outputSize();
        final boolean merge = d == 2 && cfg.mergeMode() != MergeMode.CONCAT;

        lk.requireMemory(seqLen, batch, true, true, trace.owner);
        Map<String, Tensor> grads = new LinkedHashMap<>();
        parameters.forEach((name, t) -> grads.put(name, Tensor.zeros(t.shape())));
        Tensor dh = ghN == null ? Tensor.zeros(fwd.hN().shape()) : ghN.copy();
        Tensor dc = fwd.cN() == null ? null : gcN == null ? Tensor.zeros(fwd.cN().shape()) : gcN.copy();
        Tensor dInput = Tensor.zeros(trace.input.shape());
        float[] scratch = new float[Math.toIntExact(lk.maxWorkspace(seqLen, batch))];
        Workspace args = new Workspace();

        // The top layer's output gradient is in the user's layout; the layers below are time-major.
        float[] dOut = gOutput == null ? null : gOutput.data();
        boolean dOutBf = call.batchFirst();
        for (int k = cfg.numLayers() - 1; k >= 0; k--) {
            int inW = cfg.layerInputSize(k);
            boolean inBf = k == 0 && call.batchFirst();
            float[] in = k == 0 ? trace.input.data() : trace.layerOutputs[k - 1];
            float[] dIn = k == 0 ? dInput.data() : new float[seqLen * batch * inW];
            float[] dBoth = null;
            if (dOut != null && merge) {
                dBoth = new float[seqLen * batch * 2 * hOut];
                DirectionLayout.unmerge(cfg.mergeMode(), DirectionLayout.rows(args.out, dOut, 0, dOutBf, seqLen, batch,
                        outW), trace.directionOutputs[k], seqLen, batch, hOut, dBoth);
            }
            for (int dir = 0; dir < d; dir++) {
                int state = k * d + dir;
                DirectionWeights g = LayerKernels.directionWeights(grads, k, dir);
                if (dBoth != null) {
                    args.out.set(dBoth, dir * hOut, batch * 2 * hOut, 2 * hOut);
                } else if (dOut != null) {
                    DirectionLayout.rows(args.out, dOut, 0, dOutBf, seqLen, batch, outW);
                    args.out.set(dOut, dir * hOut, args.out.timeStride(), args.out.batchStride());
                }
                lk.kernel.backward(lk.prepared[state], args.seq.set(seqLen, batch, call.lengths(), dir == 1),
                        DirectionLayout.rows(args.in, in, 0, inBf, seqLen, batch, inW),
                        dOut == null ? null : args.out,
                        args.state.set(dh.data(), DirectionLayout.stateOffset(cfg, k, dir, batch, hOut),
                                dc == null ? null : dc.data(), DirectionLayout.stateOffset(cfg, k, dir, batch, hid)),
                        DirectionLayout.rows(args.dIn, dIn, 0, inBf, seqLen, batch, inW),
                        g, args.scratch.set(trace.tapes[state], 0, scratch, 0));
            }
            if (k > 0 && trace.dropoutMasks[k - 1] != null) {
                float[] mask = trace.dropoutMasks[k - 1];
                for (int i = 0; i < dIn.length; i++) {
                    dIn[i] *= mask[i];
                }
            }
            dOut = dIn;
            dOutBf = false;
        }
        return new Gradients(grads, dInput, dh, dc);
    }
}
