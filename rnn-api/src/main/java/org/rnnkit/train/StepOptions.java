package org.rnnkit.train;

import java.util.Objects;
import org.rnnkit.tensor.Tensor;

/**
 * The optional parts of a {@link SequenceModel} step, each with PyTorch's default: per-row lengths (none:
 * every row runs all steps), initial states (zeros), dropout between stacked layers (none) and gradient
 * clipping (none). Start from {@link #defaults()} and name what differs:
 *
 * <pre>{@code
 * StepOptions opts = StepOptions.defaults().withClipping(Clipping.byNorm(1.0)).withDropout(0.2, seed);
 * model.trainStep(Task.PER_SEQUENCE, x, targets, adam, opts);
 * }</pre>
 *
 * <p>Thread safety: immutable (the lengths array is copied in and out); the tensors are referenced, not
 * copied, and must not change while a step uses them.
 */
public final class StepOptions {
    private static final StepOptions DEFAULTS = new StepOptions(null, null, null, 0, 0, Clipping.none());

    private final int[] lengths;
    private final Tensor h0, c0;
    private final double dropout;
    private final long seed;
    private final Clipping clipping;

    private StepOptions(int[] lengths, Tensor h0, Tensor c0, double dropout, long seed, Clipping clipping) {
        this.lengths = lengths;
        this.h0 = h0;
        this.c0 = c0;
        this.dropout = dropout;
        this.seed = seed;
        this.clipping = clipping;
    }

    /** Every row runs all steps, from zero states, no dropout, no clipping. */
    public static StepOptions defaults() {
        return DEFAULTS;
    }

    /** Per-row lengths of a padded batch (checked by the step: one per row, each in {@code 1..T}); null for none. */
    public StepOptions withLengths(int[] lengths) {
        return new StepOptions(lengths == null ? null : lengths.clone(), h0, c0, dropout, seed, clipping);
    }

    /** Initial states {@code h0} and (LSTM) {@code c0}, in the layer's state shapes; null for zeros. */
    public StepOptions withInitialState(Tensor h0, Tensor c0) {
        return new StepOptions(lengths, h0, c0, dropout, seed, clipping);
    }

    /**
     * Dropout between stacked layers with probability {@code p} in {@code [0, 1)}, masks drawn from {@code seed}.
     *
     * @throws IllegalArgumentException if {@code p} is outside {@code [0, 1)}
     */
    public StepOptions withDropout(double p, long seed) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: expected a probability in [0, 1), got " + p);
        }
        return new StepOptions(lengths, h0, c0, p, seed, clipping);
    }

    /** How gradients are clipped before the optimizer's update. */
    public StepOptions withClipping(Clipping clipping) {
        return new StepOptions(lengths, h0, c0, dropout, seed, Objects.requireNonNull(clipping, "clipping"));
    }

    /** A copy of the per-row lengths, or null. */
    public int[] lengths() {
        return lengths == null ? null : lengths.clone();
    }

    int[] lengthsView() {
        return lengths;
    }

    public Tensor h0() {
        return h0;
    }

    public Tensor c0() {
        return c0;
    }

    public double dropout() {
        return dropout;
    }

    public long seed() {
        return seed;
    }

    public Clipping clipping() {
        return clipping;
    }
}
