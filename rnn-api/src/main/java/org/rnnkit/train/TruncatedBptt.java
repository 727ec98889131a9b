package org.rnnkit.train;

import java.util.Objects;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.tensor.Tensor;

/**
 * Truncated back-propagation through time (DL4J's {@code tBPTTLength}): a long sequence is trained in
 * chunks of at most {@code chunkLength} steps; the state is carried from one chunk to the next, but no
 * gradient crosses a cut (the carried state is "detached"). The state also carries over between calls,
 * so a stream can be fed piece by piece; {@link #reset} starts afresh.
 *
 * <p>Works on time-major input {@code (T, B, I)} (a model with {@code batch_first=false}), per-step targets.
 *
 * <p>Thread safety: not thread-safe.
 */
public final class TruncatedBptt {
    private final SequenceModel model;
    private final int chunkLength;
    private final double dropout;
    private final java.util.SplittableRandom seeds;
    private Tensor h, c; // carried state, null = zeros
    private Tensor chunkBuffer; // the last chunk's steps when a call spans several chunks
    private int[] targetBuffer;

    /** Without dropout. */
    public TruncatedBptt(SequenceModel model, int chunkLength) {
        this(model, chunkLength, 0, 0);
    }

    /**
     * @param dropout between stacked layers, applied in every chunk (fresh masks each time), 0 for none
     * @param seed the seed of the dropout masks
     */
    public TruncatedBptt(SequenceModel model, int chunkLength, double dropout, long seed) {
        this.model = Objects.requireNonNull(model, "model");
        if (chunkLength < 1) {
            throw new IllegalArgumentException("chunkLength: expected >= 1, got " + chunkLength);
        }
        if (model.config().batchFirst()) {
            throw new IllegalArgumentException("model: truncated BPTT takes time-major input; build it with batch_first=false");
        }
        if (model.config().bidirectional()) {
            throw new IllegalArgumentException("model: a bidirectional layer cannot carry state across chunks");
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("dropout: expected a probability in [0, 1), got " + dropout);
        }
        this.chunkLength = chunkLength;
        this.dropout = dropout;
        this.seeds = new java.util.SplittableRandom(seed);
    }

    /** {@code into} (or a new tensor of the same shape) holding a copy of {@code value}. */
    private static Tensor carry(Tensor into, Tensor value) {
        if (into == null || !into.sameShape(value.shape())) {
            return value.copy();
        }
        System.arraycopy(value.data(), 0, into.data(), 0, value.size());
        return into;
    }

    /** Forgets the carried state: the next chunk starts from zeros. */
    public void reset() {
        h = null;
        c = null;
    }

    /**
     * Trains on {@code input} {@code (T, B, I)} with targets {@code (T*B)} in time-major order, chunk by
     * chunk, one optimizer step per chunk. Returns the mean of the chunks' losses, weighted by length.
     */
    public double train(Tensor input, int[] targets, Optimizer optimizer, Clipping clipping) {
        Objects.requireNonNull(input, "input");
        Objects.requireNonNull(targets, "targets");
        if (input.rank() != 3) {
            throw new IllegalArgumentException("input: expected (T, B, I), got " + input.shapeString());
        }
        int seqLen = input.dim(0), batch = input.dim(1), width = input.dim(2);
        if (targets.length != seqLen * batch) {
            throw new IllegalArgumentException("targets: expected " + seqLen * batch + " values (T*B), got " + targets.length);
        }
        double weighted = 0;
        for (int t0 = 0; t0 < seqLen; t0 += chunkLength) {
            int len = Math.min(chunkLength, seqLen - t0);
            Tensor chunk = input;
            int[] chunkTargets = targets;
            if (len != seqLen) {
                // time-major: the chunk's steps are one contiguous block, copied into buffers kept for the next chunk
                int rowSize = batch * width;
                if (chunkBuffer == null || !chunkBuffer.sameShape(len, batch, width)) {
                    chunkBuffer = Tensor.zeros(len, batch, width);
                    targetBuffer = new int[len * batch];
                }
                System.arraycopy(input.data(), t0 * rowSize, chunkBuffer.data(), 0, len * rowSize);
                System.arraycopy(targets, t0 * batch, targetBuffer, 0, len * batch);
                chunk = chunkBuffer;
                chunkTargets = targetBuffer;
            }
            // the carried state starts the chunk; fresh dropout masks for every chunk
            ForwardOptions options = ForwardOptions.defaults().withInitialState(h, c).withDropout(dropout, seeds.nextLong());
            SequenceModel.Step s = model.trainStep(SequenceModel.Task.PER_STEP, chunk, chunkTargets, optimizer, clipping,
                    options);
            // values only (the next chunk's backward stops here), copied: the step's tensors are the model's
            h = carry(h, s.output().hN());
            c = s.output().cN() == null ? null : carry(c, s.output().cN());
            weighted += s.loss() * len;
        }
        return weighted / seqLen;
    }
}
