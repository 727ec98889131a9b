package org.rnnkit.nn;

import java.util.SplittableRandom;

/**
 * The forward pass of a whole layer: every stacked layer and direction, one kernel call each, the merge
 * of merged directions and, when training, dropout between layers and what the backward pass keeps.
 *
 * <p>Thread safety: stateless; each call works in the caller's workspace and outputs.
 */
final class LayerForward {
    private LayerForward() {}

    /**
     * Runs every layer and direction on validated arguments, reading the input at {@code x[xOff..]}
     * ({@code batchFirst} or time-major), writing the output at {@code output[outputOff..]} in the same
     * layout and updating the states {@code h} ({@code (S, B, H_out)}) and {@code c} in place. With a trace,
     * keeps each layer's output and records the tapes. Allocates nothing without a trace once {@code ws}
     * has grown.
     */
    static void run(LayerKernels lk, int seqLen, int batch, boolean batchFirst, int[] lengths, float[] x, int xOff,
            float[] output, int outputOff, float[] h, float[] c, Workspace ws, LayerTrace trace) {
        final RecurrentConfig cfg = lk.config;
        final int hOut = cfg.hOut(), hid = cfg.hiddenSize(), d = cfg.directions(), outW = cfg.outputSize();
        long kws = lk.maxWorkspace(seqLen, batch);
        float[] scratch = ws.get(Workspace.KERNEL, kws * d); // one region per direction
        long between = (long) seqLen * batch * outW;
        float[] bufA = cfg.numLayers() > 1 && trace == null ? ws.get(Workspace.LAYER_A, between) : null;
        float[] bufB = cfg.numLayers() > 2 && trace == null ? ws.get(Workspace.LAYER_B, between) : null;
        final boolean merge = d == 2 && cfg.mergeMode() != MergeMode.CONCAT;

        float[] in = x;
        int inOff = xOff;
        int inW = cfg.inputSize();
        boolean inBf = batchFirst;
        // One-hot input (a class per row, as character models feed it): the kernels may look columns up
        // instead of multiplying by zeros.
        int[] classes = OneHotRows.detect(x, xOff, seqLen, batch, inW, batchFirst, lengths,
                trace != null ? trace.classBuffer : ws.classes);
        if (classes != null && trace != null) {
            trace.classBuffer = classes;
        } else if (classes != null) {
            ws.classes = classes;
        }
        if (trace != null) {
            trace.classes = classes;
        }
        for (int k = 0; k < cfg.numLayers(); k++) {
            boolean top = k == cfg.numLayers() - 1;
            float[] out = top ? output
                    : trace != null ? (trace.layerOutputs[k] = LayerTrace.reuse(trace.layerOutputs[k], between))
                    : (k % 2 == 0 ? bufA : bufB);
            int outOff = top ? outputOff : 0;
            boolean outBf = top && batchFirst;
            // Merged directions are written side by side (time-major, 2*hOut wide) first, then combined.
            float[] both = null;
            if (merge) {
                long size = 2L * seqLen * batch * hOut;
                both = trace != null ? (trace.directionOutputs[k] = LayerTrace.reuse(trace.directionOutputs[k], size))
                        : ws.get(Workspace.MERGE, size);
            }
            for (int dir = 0; dir < d; dir++) {
                int state = k * d + dir;
                float[] tape = null;
                if (trace != null) {
                    tape = trace.tapes[state] = LayerTrace.reuse(trace.tapes[state], lk.tapeSize(k, dir, seqLen, batch));
                }
                if (merge) {
                    ws.out.set(both, dir * hOut, batch * 2 * hOut, 2 * hOut);
                } else {
                    DirectionLayout.rows(ws.out, out, outOff, outBf, seqLen, batch, outW);
                    ws.out.set(out, outOff + dir * hOut, ws.out.timeStride(), ws.out.batchStride());
                }
                lk.kernel.forward(lk.prepared[state], ws.seq.set(seqLen, batch, lengths, cfg.reversed(dir)),
                        DirectionLayout.rows(ws.in, in, inOff, inBf, seqLen, batch, inW).oneHot(k == 0 ? classes : null),
                        ws.out,
                        ws.state.set(h, DirectionLayout.stateOffset(cfg, k, dir, batch, hOut),
                                c, DirectionLayout.stateOffset(cfg, k, dir, batch, hid)),
                        ws.scratch.set(tape, 0, scratch, (int) (dir * kws)));
            }
            if (merge) {
                DirectionLayout.merge(cfg.mergeMode(), both, seqLen, batch, hOut,
                        DirectionLayout.rows(ws.out, out, outOff, outBf, seqLen, batch, outW));
            }
            if (trace != null && trace.dropout > 0 && !top) {
                trace.dropoutMasks[k] = applyDropout(out, (int) between, trace.dropout, trace.dropoutRandom,
                        trace.dropoutMasks[k]);
            }
            in = out;
            inOff = 0;
            inW = outW;
            inBf = false;
        }
    }

    /**
     * Inverted dropout of {@code values[0..n)} in place; returns the mask of factors (0 or {@code 1/(1-p)})
     * for the backward pass, in {@code reuse} when it is large enough.
     */
    private static float[] applyDropout(float[] values, int n, double p, SplittableRandom rnd, float[] reuse) {
        float keep = (float) (1.0 / (1.0 - p));
        float[] mask = LayerTrace.reuse(reuse, n);
        for (int i = 0; i < n; i++) {
            mask[i] = rnd.nextDouble() < p ? 0f : keep;
            values[i] *= mask[i];
        }
        return mask;
    }
}
