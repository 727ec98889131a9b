package org.rnnkit.spi;

import java.util.Objects;

/**
 * Runs one layer direction over a whole sequence in one call: the unit of work every backend implements.
 *
 * <h2>Checked here, computed by the backend</h2>
 * The public methods are final: they check every argument (shapes, lengths, offsets, strides, array
 * bounds), once per call and without allocating, and only then call the backend's {@link #pack},
 * {@link #runForward} and {@link #runBackward}, which may therefore index without further checks. Every
 * backend, a third-party one included, so reports the same bad call with the same
 * {@link IllegalArgumentException} (or {@link NullPointerException} for a missing array) naming the
 * argument, the expected and the actual value.
 *
 * <h2>Layouts</h2>
 * For time step {@code t} and batch row {@code b}, the input row is {@code x.row(t, b)} ({@code inputSize}
 * floats), the output row {@code out.row(t, b)} ({@code hOut} floats; {@code out == null} means "no
 * per-step output", as for cells), and the state is a {@link StateView}. {@link SequenceGeometry} says which
 * steps each row runs; a row's output at {@code t >= length(b)} is written as zeros. The workspace and
 * the tape are a {@link Scratch}; a kernel allocates nothing per time step.
 *
 * <h2>Training</h2>
 * With a tape, {@code forward} also records what {@link #backward} needs. {@code backward} then runs the
 * same sequence back in time, with the same {@code x} and geometry.
 *
 * <p>Thread safety: kernels are stateless and safe for concurrent use, each call with its own argument
 * objects, workspace, tape and outputs.
 *
 * @param <W> the backend's own form of prepared weights
 */
public abstract class RecurrentKernel<W extends PreparedWeights> {
    private final Recurrence type;
    private final Class<W> weightsType;

    /**
     * @param type the recurrence this kernel runs
     * @param weightsType the class of what {@link #pack} returns, so that weights prepared by another
     *     kernel are refused with a clear message
     */
    protected RecurrentKernel(Recurrence type, Class<W> weightsType) {
        this.type = Objects.requireNonNull(type, "type");
        this.weightsType = Objects.requireNonNull(weightsType, "weightsType");
    }

    /** The recurrence this kernel runs. */
    public final Recurrence type() {
        return type;
    }

    /** Floats of workspace that {@link #forward} and {@link #backward} need for this sequence length and batch. */
    public abstract long workspaceSize(KernelShape shape, int seqLen, int batch);

    /** Floats of tape that a training {@link #forward} records for {@link #backward}. */
    public abstract long tapeSize(KernelShape shape, int seqLen, int batch);

    /**
     * Converts PyTorch-layout weights to this kernel's form. Called once per layer direction; the arrays
     * of {@code weights} must not change afterwards (the layer that owns them never changes them).
     */
    public final W prepare(KernelShape shape, DirectionWeights weights) {
        checkShape(shape);
        if (!supports(shape.variant())) {
            throw new UnsupportedOperationException("shape.variant: this " + type + " kernel (" + getClass().getName()
                    + ") runs PyTorch's form only, not " + shape.variant());
        }
        Objects.requireNonNull(weights, "weights: expected DirectionWeights, got null");
        requireDirection("", weights, shape);
        return pack(shape, weights);
    }

    /**
     * Runs the direction over the sequence from the state in {@code state} and leaves the final state there.
     *
     * @param out the per-step output, or null
     * @param scratch the workspace, and the tape for training (else its tape is null)
     */
    public final void forward(PreparedWeights weights, SequenceGeometry seq, SequenceView x, SequenceView out,
            StateView state, Scratch scratch) {
        W w = weights(weights);
        KernelShape s = w.shape();
        checkGeometry(seq);
        requireRows("x", x, seq, s.inputSize());
        if (out != null) {
            requireRows("out", out, seq, s.hOut());
        }
        requireState("state", state, seq.batch(), s);
        Objects.requireNonNull(scratch, "scratch: expected a Scratch, got null");
        if (scratch.tape() != null) {
            requireRange("scratch.tape", scratch.tape(), scratch.tapeOffset(), tapeSizeFor(w, seq.seqLen(), seq.batch()));
        }
        requireRange("scratch.ws", scratch.ws(), scratch.wsOffset(), workspaceSizeFor(w, seq.seqLen(), seq.batch()));
        runForward(w, seq, x, out, state, scratch);
    }

    /**
     * Back-propagates through the sequence a training {@link #forward} recorded on {@code scratch.tape()}.
     *
     * @param x the forward call's input, same view (needed for {@code dW_ih})
     * @param dOut upstream gradient of this direction's output rows, laid out like the forward's
     *     {@code out}; null when the output is not used (cells)
     * @param dState in: gradient of the final state; out: gradient of the initial state
     * @param dx gradient of the input, laid out like {@code x}; ADDED to (both directions of a layer share
     *     one input); null when not wanted
     * @param grads gradient accumulators in PyTorch's layout, same shapes as the weights; ADDED to
     * @param scratch the workspace and the forward's tape
     */
    public final void backward(PreparedWeights weights, SequenceGeometry seq, SequenceView x, SequenceView dOut,
            StateView dState, SequenceView dx, DirectionWeights grads, Scratch scratch) {
        W w = weights(weights);
        KernelShape s = w.shape();
        checkGeometry(seq);
        requireRows("x", x, seq, s.inputSize());
        if (dOut != null) {
            requireRows("dOut", dOut, seq, s.hOut());
        }
        if (dx != null) {
            requireRows("dx", dx, seq, s.inputSize());
        }
        requireState("dState", dState, seq.batch(), s);
        Objects.requireNonNull(grads, "grads: expected gradient accumulators, got null");
        requireDirection("grads.", grads, s);
        Objects.requireNonNull(scratch, "scratch: expected a Scratch, got null");
        requireRange("scratch.tape", scratch.tape(), scratch.tapeOffset(), tapeSizeFor(w, seq.seqLen(), seq.batch()));
        requireRange("scratch.ws", scratch.ws(), scratch.wsOffset(), workspaceSizeFor(w, seq.seqLen(), seq.batch()));
        runBackward(w, seq, x, dOut, dState, dx, grads, scratch);
    }

    /**
     * Brings weights made by {@link #prepare} up to date with changed values of the same shape (a training
     * step's update), in place where the backend can: returns the weights to use from now on, {@code weights}
     * itself or newly prepared ones. The caller must own {@code weights} (no other layer or thread uses
     * them during or after the call).
     */
    public final PreparedWeights update(PreparedWeights weights, DirectionWeights changed) {
        W w = weights(weights);
        Objects.requireNonNull(changed, "changed: expected DirectionWeights, got null");
        requireDirection("changed.", changed, w.shape());
        return repack(w, changed) ? w : pack(w.shape(), changed);
    }

    // ---- what a backend implements -----------------------------------------------------------------------

    /**
     * Whether this kernel runs directions of {@code variant}. The default runs PyTorch's form only
     * ({@link org.rnnkit.variant.CellVariant#isDefault()}), so that a backend may implement just that and
     * have every other variant refused with a clear message.
     */
    protected boolean supports(org.rnnkit.variant.CellVariant variant) {
        return variant.isDefault();
    }

    /**
     * {@link #update} on checked arguments: re-packs {@code changed} into {@code weights}' own memory and
     * returns true, or returns false (the default) to have new weights prepared instead.
     */
    protected boolean repack(W weights, DirectionWeights changed) {
        return false;
    }

    /** {@link #prepare} on checked arguments. */
    protected abstract W pack(KernelShape shape, DirectionWeights weights);

    /** {@link #forward} on checked arguments: every index the layouts describe lies inside its array. */
    protected abstract void runForward(W weights, SequenceGeometry seq, SequenceView x, SequenceView out,
            StateView state, Scratch scratch);

    /** {@link #backward} on checked arguments. */
    protected abstract void runBackward(W weights, SequenceGeometry seq, SequenceView x, SequenceView dOut,
            StateView dState, SequenceView dx, DirectionWeights grads, Scratch scratch);

    /**
     * {@link #workspaceSize} for prepared weights, as the checks ask for it on every call. A backend whose
     * size computation allocates overrides this with one that reads what it kept in its weights, so that
     * a streamed step stays allocation-free.
     */
    protected long workspaceSizeFor(W weights, int seqLen, int batch) {
        return workspaceSize(weights.shape(), seqLen, batch);
    }

    /** {@link #tapeSize} for prepared weights; see {@link #workspaceSizeFor}. */
    protected long tapeSizeFor(W weights, int seqLen, int batch) {
        return tapeSize(weights.shape(), seqLen, batch);
    }

    // ---- checks ------------------------------------------------------------------------------------------

    private void checkShape(KernelShape s) {
        Objects.requireNonNull(s, "shape: expected a KernelShape, got null");
        if (s.type() != type) {
            throw new IllegalArgumentException("shape: expected a " + type + " shape for this kernel, got " + s.type());
        }
    }

    private W weights(PreparedWeights prepared) {
        if (!weightsType.isInstance(prepared)) {
            throw new IllegalArgumentException("weights: expected " + weightsType.getSimpleName()
                    + " prepared by this kernel, got " + (prepared == null ? "null" : prepared.getClass().getName()));
        }
        W w = weightsType.cast(prepared);
        checkShape(w.shape());
        return w;
    }

    // Names are passed in parts and joined only to report a failure: the checks run on every call and
    // must allocate nothing.

    /** The arrays of one direction's weights (or their gradients) have the lengths {@code s} needs. */
    private static void requireDirection(String prefix, DirectionWeights w, KernelShape s) {
        int rows = s.gateRows();
        requireLength(prefix, "weight_ih", w.weightIh(), (long) rows * s.inputSize());
        requireLength(prefix, "weight_hh", w.weightHh(), (long) rows * s.hOut());
        if (s.bias()) {
            requireLength(prefix, "bias_ih", w.biasIh(), rows);
            requireLength(prefix, "bias_hh", w.biasHh(), rows);
        }
        if (s.projSize() > 0) {
            requireLength(prefix, "weight_hr", w.weightHr(), (long) s.projSize() * s.hiddenSize());
        }
        if (s.variant().peepholes()) {
            requireLength(prefix, "weight_peephole", w.peephole(), 3L * s.hiddenSize());
        }
    }

    private static void checkGeometry(SequenceGeometry seq) {
        Objects.requireNonNull(seq, "seq: expected a SequenceGeometry, got null");
        int seqLen = seq.seqLen(), batch = seq.batch();
        if (seqLen < 1 || batch < 1) {
            throw new IllegalArgumentException("seq: expected seqLen and batch >= 1, got " + seqLen + ", " + batch);
        }
        int[] lengths = seq.lengths();
        if (lengths != null) {
            if (lengths.length != batch) {
                throw new IllegalArgumentException("seq.lengths: expected " + batch + " values, got " + lengths.length);
            }
            for (int b = 0; b < batch; b++) {
                if (lengths[b] < 1 || lengths[b] > seqLen) {
                    throw new IllegalArgumentException("seq.lengths[" + b + "]: expected 1.." + seqLen + ", got "
                            + lengths[b]);
                }
            }
        }
    }

    private static void requireState(String name, StateView state, int batch, KernelShape s) {
        if (state == null) {
            throw new NullPointerException(name + ": expected a StateView, got null");
        }
        requireRange(name, ".h", state.h(), state.hOffset(), (long) batch * s.hOut());
        if (s.type().hasCellState()) {
            requireRange(name, ".c", state.c(), state.cOffset(), (long) batch * s.hiddenSize());
        }
    }

    private static void requireLength(String prefix, String name, float[] a, long n) {
        if (a == null) {
            throw new NullPointerException(prefix + name + ": expected an array, got null");
        }
        if (a.length < n) {
            throw new IllegalArgumentException(prefix + name + ": expected " + n + " floats, got " + a.length);
        }
    }

    private static void requireRange(String name, float[] a, int off, long n) {
        requireRange(name, "", a, off, n);
    }

    private static void requireRange(String name, String part, float[] a, int off, long n) {
        if (a == null) {
            throw new NullPointerException(name + part + ": expected an array, got null");
        }
        if (off < 0 || off + n > a.length) {
            throw new IllegalArgumentException(name + part + ": expected " + n + " floats from offset " + off
                    + ", but the array has " + a.length);
        }
    }

    /** Rows {@code (t, b)} of {@code width} floats, every one inside the view's array. */
    private static void requireRows(String name, SequenceView v, SequenceGeometry seq, int width) {
        if (v == null) {
            throw new NullPointerException(name + ": expected a SequenceView, got null");
        }
        float[] a = v.data();
        if (a == null) {
            throw new NullPointerException(name + ": expected an array, got null");
        }
        int off = v.offset(), ts = v.timeStride(), bs = v.batchStride();
        if (off < 0 || ts < 0 || bs < 0) {
            throw new IllegalArgumentException(name + ": offset and strides must be >= 0, got offset " + off
                    + ", strides " + ts + ", " + bs);
        }
        long end = off + (long) (seq.seqLen() - 1) * ts + (long) (seq.batch() - 1) * bs + width;
        if (end > a.length) {
            throw new IllegalArgumentException(name + ": rows of " + width + " floats at offset " + off
                    + " with strides " + ts + " (time), " + bs + " (batch) for " + seq.seqLen() + " x " + seq.batch()
                    + " need " + end + " floats, but the array has " + a.length);
        }
        int[] classes = v.oneHotClasses();
        if (classes != null) {
            int n = seq.seqLen() * seq.batch();
            if (classes.length < n) {
                throw new IllegalArgumentException(name + ".oneHotClasses: expected " + n + " classes (T*B), got "
                        + classes.length);
            }
            for (int r = 0; r < n; r++) {
                if (classes[r] < 0 || classes[r] >= width) {
                    throw new IllegalArgumentException(name + ".oneHotClasses[" + r + "]: expected a class in 0.."
                            + (width - 1) + ", got " + classes[r]);
                }
            }
        }
    }
}
