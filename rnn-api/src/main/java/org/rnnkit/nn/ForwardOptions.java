package org.rnnkit.nn;

import java.util.Objects;
import org.rnnkit.tensor.Tensor;

/**
 * The optional parts of a layer's forward pass, each with PyTorch's default: per-row lengths (none: every
 * row runs all steps), initial states (zeros), the scratch memory (a fresh {@link Workspace} per call) and,
 * for {@link RecurrentLayer#forwardTraining}, dropout between stacked layers (none). Start from
 * {@link #defaults()} and name what differs:
 *
 * <pre>{@code
 * ForwardOptions opts = ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0);
 * LayerOutput y = lstm.forward(x, opts);
 * }</pre>
 *
 * <p>A loop that keeps one options object (with its workspace) and one {@link LayerOutput} to write into
 * allocates nothing per call: {@link RecurrentLayer#forward(Tensor, ForwardOptions, LayerOutput)}.
 *
 * <p>Thread safety: immutable (the lengths array is copied in and out). The tensors and the workspace are
 * referenced, not copied: the tensors must not change while a call reads them, and a workspace belongs
 * to one thread, so an options object with a workspace must be used by that thread only.
 */
public final class ForwardOptions {
    private static final ForwardOptions DEFAULTS = new ForwardOptions(null, null, null, null, 0, 0);

    private final int[] lengths;
    private final Tensor h0, c0;
    private final Workspace workspace;
    private final double dropout;
    private final long seed;

    private ForwardOptions(int[] lengths, Tensor h0, Tensor c0, Workspace workspace, double dropout, long seed) {
        this.lengths = lengths;
        this.h0 = h0;
        this.c0 = c0;
        this.workspace = workspace;
        this.dropout = dropout;
        this.seed = seed;
    }

    /** Every row runs all steps, from zero states, in a fresh workspace, without dropout. */
    public static ForwardOptions defaults() {
        return DEFAULTS;
    }

    /**
     * Per-row lengths of a padded batch, PyTorch's {@code pack_padded_sequence(x, lengths,
     * enforce_sorted=False)}: one per batch row, each in {@code 1..T}, any order (checked by the call); null
     * for none.
     */
    public ForwardOptions withLengths(int[] lengths) {
        return new ForwardOptions(lengths == null ? null : lengths.clone(), h0, c0, workspace, dropout, seed);
    }

    /**
     * Initial states: {@code h0} of shape {@code (S, B, H_out)} ({@code (S, H_out)} unbatched, {@code S =
     * num_layers * D}) and, LSTM only, {@code c0} of shape {@code (S, B, H)}; each null for zeros.
     */
    public ForwardOptions withInitialState(Tensor h0, Tensor c0) {
        return new ForwardOptions(lengths, h0, c0, workspace, dropout, seed);
    }

    /**
     * Scratch memory reused across calls by one thread, so that calls allocate nothing but their results.
     *
     * @throws NullPointerException if {@code ws} is null
     */
    public ForwardOptions withWorkspace(Workspace ws) {
        Objects.requireNonNull(ws, "ws: expected a Workspace, got null");
        return new ForwardOptions(lengths, h0, c0, ws, dropout, seed);
    }

    /**
     * Dropout between stacked layers, as PyTorch's {@code dropout} argument in training mode: applies to
     * {@link RecurrentLayer#forwardTraining} only (inference never drops).
     *
     * @param p probability in {@code [0, 1)}
     * @param seed the masks' seed (PyTorch's distribution, not its random stream)
     * @throws IllegalArgumentException if {@code p} is outside {@code [0, 1)}
     */
    public ForwardOptions withDropout(double p, long seed) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: expected a probability in [0, 1), got " + p);
        }
        return new ForwardOptions(lengths, h0, c0, workspace, p, seed);
    }

    /** A copy of the per-row lengths, or null. */
    public int[] lengths() {
        return lengths == null ? null : lengths.clone();
    }

    /** The lengths without a copy, for this package: the call validates and copies them once. */
    int[] lengthsView() {
        return lengths;
    }

    public Tensor h0() {
        return h0;
    }

    public Tensor c0() {
        return c0;
    }

    /** The workspace, or null for a fresh one per call. */
    public Workspace workspace() {
        return workspace;
    }

    public double dropout() {
        return dropout;
    }

    public long seed() {
        return seed;
    }
}
