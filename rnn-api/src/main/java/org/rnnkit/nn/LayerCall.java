package org.rnnkit.nn;

import org.rnnkit.tensor.Tensor;

/**
 * A validated forward call of a layer or cell: sizes, layout and the shapes of the results. Made by
 * {@link #validate}, after which nothing that depends on user input can fail.
 *
 * @param lengths per-row lengths (a copy of the caller's), or null
 * @param outShape the output's shape, or null for a cell
 *
 * <p>Thread safety: immutable (its arrays are never written after validation).
 */
record LayerCall(int seqLen, int batch, boolean batchFirst, int[] lengths, int[] outShape, int[] hShape, int[] cShape) {

    /** Checks every argument of a layer's forward call against its configuration. */
    static LayerCall validate(RecurrentConfig cfg, Tensor input, int[] lengths, Tensor h0, Tensor c0) {
        Checks.requireNonNull("input", input);
        final boolean unbatched = input.rank() == 2;
        if (input.rank() != 2 && input.rank() != 3) {
            throw new IllegalArgumentException("input: expected " + (cfg.batchFirst() ? "(B, T, I)" : "(T, B, I)")
                    + " or unbatched (T, I) with I=" + cfg.inputSize() + ", got " + input.shapeString());
        }
        final int seqLen = unbatched ? input.dim(0) : input.dim(cfg.batchFirst() ? 1 : 0);
        final int batch = unbatched ? 1 : input.dim(cfg.batchFirst() ? 0 : 1);
        if (input.dim(-1) != cfg.inputSize()) {
            throw new IllegalArgumentException("input: expected last dimension input_size=" + cfg.inputSize()
                    + ", got " + input.shapeString());
        }
        if (seqLen < 1) {
            throw new IllegalArgumentException("input: sequence length must be at least 1, got "
                    + input.shapeString());
        }
        if (batch < 1) {
            throw new IllegalArgumentException("input: batch size must be at least 1, got " + input.shapeString());
        }
        if (lengths != null) {
            if (unbatched) {
                throw new IllegalArgumentException("lengths: per-row lengths need batched input; got unbatched input "
                        + input.shapeString());
            }
            if (lengths.length != batch) {
                throw new IllegalArgumentException("lengths: expected " + batch + " values (one per batch row), got "
                        + lengths.length);
            }
            for (int b = 0; b < batch; b++) {
                if (lengths[b] < 1 || lengths[b] > seqLen) {
                    throw new IllegalArgumentException("lengths[" + b + "]: expected 1.." + seqLen
                            + " (the sequence length), got " + lengths[b]);
                }
            }
            lengths = lengths.clone(); // the caller may change its array while we run
        }
        final int s = cfg.stateCount();
        int[] hShape = unbatched ? new int[] {s, cfg.hOut()} : new int[] {s, batch, cfg.hOut()};
        int[] cShape = unbatched ? new int[] {s, cfg.hiddenSize()} : new int[] {s, batch, cfg.hiddenSize()};
        if (h0 != null) {
            Checks.requireShape("h0", h0, hShape);
        }
        if (c0 != null) {
            if (!cfg.type().hasCellState()) {
                throw new IllegalArgumentException("c0: only LSTM layers have a cell state; got c0 for " + cfg.type());
            }
            Checks.requireShape("c0", c0, cShape);
        }
        int outW = cfg.outputSize();
        int[] outShape = unbatched ? new int[] {seqLen, outW}
                : cfg.batchFirst() ? new int[] {batch, seqLen, outW} : new int[] {seqLen, batch, outW};
        Tensor.checkedSize("output", outShape);
        return new LayerCall(seqLen, batch, cfg.batchFirst() && !unbatched, lengths, outShape, hShape, cShape);
    }

    /** Checks the upstream gradients of a backward pass against the forward results they belong to (null: none). */
    static void requireUpstream(RecurrentConfig cfg, LayerOutput fwd, Tensor gOutput, Tensor ghN, Tensor gcN) {
        if (gOutput != null) {
            Checks.requireShape("gOutput", gOutput, fwd.output().shape());
        }
        if (ghN != null) {
            Checks.requireShape("ghN", ghN, fwd.hN().shape());
        }
        if (gcN != null) {
            if (fwd.cN() == null) {
                throw new IllegalArgumentException("gcN: only LSTM layers have a cell state; got gcN for " + cfg.type());
            }
            Checks.requireShape("gcN", gcN, fwd.cN().shape());
        }
    }
}
