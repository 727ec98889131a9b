package org.rnnkit.nn;

import org.rnnkit.spi.SequenceView;

/**
 * Where a layer's rows lie, in one place: the input and output views of a layer and direction (time-major,
 * or batch-first at the user's edge), the state rows of each layer and direction, how two merged
 * directions combine into one output row and split their gradient, and how the top layer's final states
 * form a many-to-one feature. Used by the forward pass, streaming, the backward pass and
 * {@link LastHidden}.
 *
 * <p>Thread safety: stateless.
 */
final class DirectionLayout {
    private DirectionLayout() {}

    /** Rows of {@code width} floats from {@code off}: {@code (B, T, width)} if batch-first, else {@code (T, B, width)}. */
    static SequenceView rows(SequenceView v, float[] data, int off, boolean batchFirst, int seqLen, int batch, int width) {
        return batchFirst ? v.batchMajor(data, off, seqLen, width) : v.timeMajor(data, off, batch, width);
    }

    /** Where the state rows of layer {@code k}, direction {@code dir} start in an {@code (S, B, width)} state. */
    static int stateOffset(RecurrentConfig cfg, int k, int dir, int batch, int width) {
        return (k * cfg.directions() + dir) * batch * width;
    }

    /**
     * Combines merged directions: {@code both} holds the two directions' rows side by side, time-major
     * ({@code 2*hOut} wide); each output row of {@code out} becomes {@code mode(forward, reverse)}.
     */
    static void merge(MergeMode mode, float[] both, int seqLen, int batch, int hOut, SequenceView out) {
        float[] o = out.data();
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                int src = (t * batch + b) * 2 * hOut, dst = out.row(t, b);
                for (int j = 0; j < hOut; j++) {
                    o[dst + j] = mode.apply(both[src + j], both[src + hOut + j]);
                }
            }
        }
    }

    /**
     * The backward of {@link #merge}: spreads the gradient of each merged output row ({@code dOut}) over the
     * two directions' rows, side by side in {@code dBoth} as {@code both} holds their values.
     */
    static void unmerge(MergeMode mode, SequenceView dOut, float[] both, int seqLen, int batch, int hOut, float[] dBoth) {
        float[] g = dOut.data();
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                int src = dOut.row(t, b), dst = (t * batch + b) * 2 * hOut;
                for (int j = 0; j < hOut; j++) {
                    float v = g[src + j];
                    dBoth[dst + j] = mode.gradForward(v, both[dst + hOut + j]);
                    dBoth[dst + hOut + j] = mode.gradReverse(v, both[dst + j]);
                }
            }
        }
    }

    /**
     * The top layer's final {@code h} of each direction, concatenated or merged like the output rows:
     * {@code features} is {@code (B, outputSize)}.
     */
    static void lastHidden(RecurrentConfig cfg, float[] hN, int batch, float[] features) {
        int d = cfg.directions(), hOut = cfg.hOut(), w = cfg.outputSize(), top = cfg.numLayers() - 1;
        for (int b = 0; b < batch; b++) {
            int fwd = stateOffset(cfg, top, 0, batch, hOut) + b * hOut;
            int rev = stateOffset(cfg, top, d - 1, batch, hOut) + b * hOut;
            for (int j = 0; j < hOut; j++) {
                if (w == d * hOut) {
                    features[b * w + j] = hN[fwd + j];
                    if (d == 2) {
                        features[b * w + hOut + j] = hN[rev + j];
                    }
                } else {
                    features[b * w + j] = cfg.mergeMode().apply(hN[fwd + j], hN[rev + j]);
                }
            }
        }
    }

    /** The backward of {@link #lastHidden}: the gradient of the features written into {@code ghN}'s top rows. */
    static void lastHiddenGradient(RecurrentConfig cfg, float[] hN, int batch, float[] gFeatures, float[] ghN) {
        int d = cfg.directions(), hOut = cfg.hOut(), w = cfg.outputSize(), top = cfg.numLayers() - 1;
        for (int b = 0; b < batch; b++) {
            int fwd = stateOffset(cfg, top, 0, batch, hOut) + b * hOut;
            int rev = stateOffset(cfg, top, d - 1, batch, hOut) + b * hOut;
            for (int j = 0; j < hOut; j++) {
                if (w == d * hOut) {
                    ghN[fwd + j] = gFeatures[b * w + j];
                    if (d == 2) {
                        ghN[rev + j] = gFeatures[b * w + hOut + j];
                    }
                } else {
                    ghN[fwd + j] = cfg.mergeMode().gradForward(gFeatures[b * w + j], hN[rev + j]);
                    ghN[rev + j] = cfg.mergeMode().gradReverse(gFeatures[b * w + j], hN[fwd + j]);
                }
            }
        }
    }
}
