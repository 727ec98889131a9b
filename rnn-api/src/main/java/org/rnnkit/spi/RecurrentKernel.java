package org.rnnkit.spi;

/**
 * Runs one layer direction over a whole sequence in one call: the unit of work every backend implements.
 *
 * <h2>Layouts</h2>
 * Every tensor is a flat {@code float[]} with an offset. For time step {@code t} and batch row {@code b}:
 * <ul>
 *   <li>input row: {@code x[xOff + t*xTimeStride + b*xBatchStride + i]}, {@code i < inputSize};
 *   <li>output row: {@code out[outOff + t*outTimeStride + b*outBatchStride + j]}, {@code j < hOut};
 *       {@code out == null} means "no per-step output" (cells);
 *   <li>state: {@code h[hOff + b*hOut + j]}, {@code c[cOff + b*hiddenSize + j]} (LSTM only; otherwise
 *       {@code c} is null). Read as the initial state, overwritten with the final state.
 * </ul>
 * Strides let a caller read {@code batch_first} input and write one direction's half of a bidirectional
 * output in place, with no transposes.
 *
 * <h2>Contract</h2>
 * The {@code rnn-api} layer validates every argument (sizes, offsets, strides, array bounds) before the
 * call; kernels may {@code assert} but must not depend on further checks. The workspace is caller-owned
 * scratch of at least {@link #workspaceSize} floats from {@code wsOff}; a kernel allocates nothing per
 * time step. With {@code reverse}, steps run from each row's last step down to 0.
 *
 * <p>{@code lengths} (null = every row has {@code seqLen} steps) gives per-row lengths, each in
 * {@code 1..seqLen}: row {@code b} runs steps {@code 0..lengths[b]-1} only (the reverse direction starts
 * at {@code lengths[b]-1}), its state is the one after its own last step, and its output rows at
 * {@code t >= lengths[b]} are written as zeros.
 *
 * <h2>Training</h2>
 * With a non-null {@code tape} (at least {@link #tapeSize} floats from {@code tapeOff}), {@code forward}
 * also records what {@link #backward} needs; the tape's layout is the kernel's own. {@code backward}
 * then runs the same sequence back in time, with the same {@code x}, {@code lengths} and direction.
 *
 * <p>Thread safety: kernels are stateless and safe for concurrent use, each call with its own
 * workspace, tape and outputs.
 */
public interface RecurrentKernel {

    /** Converts PyTorch-layout weights to this kernel's layout. Called once per layer direction. */
    PreparedWeights prepare(KernelShape shape, DirectionWeights weights);

    /** Floats of workspace that {@link #forward} and {@link #backward} need for this sequence length and batch. */
    long workspaceSize(KernelShape shape, int seqLen, int batch);

    /** Floats of tape that a training {@link #forward} records for {@link #backward}. */
    long tapeSize(KernelShape shape, int seqLen, int batch);

    /**
     * Runs the direction over the sequence; see the class comment for layouts. {@code tape} is null for
     * inference, or receives what {@link #backward} needs.
     */
    void forward(PreparedWeights weights, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff,
            float[] tape, int tapeOff,
            float[] ws, int wsOff);

    /**
     * Back-propagates through the sequence a training {@link #forward} recorded on {@code tape}.
     *
     * @param x the forward call's input, same layout (needed for {@code dW_ih})
     * @param dOut upstream gradient of this direction's output rows, laid out like the forward's
     *     {@code out}; null when the output is not used (cells)
     * @param dh in: gradient of the final {@code h} ({@code B * hOut}); out: gradient of the initial {@code h}
     * @param dc LSTM only, likewise for {@code c} ({@code B * H}); otherwise null
     * @param dx gradient of the input, laid out like {@code x}; ADDED to (both directions of a layer share
     *     one input); null when not wanted
     * @param grads gradient accumulators in PyTorch's layout, same shapes as the weights; ADDED to
     */
    void backward(PreparedWeights weights, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride,
            float[] dOut, int dOutOff, int dOutTimeStride, int dOutBatchStride,
            float[] dh, int dhOff, float[] dc, int dcOff,
            float[] dx, int dxOff, int dxTimeStride, int dxBatchStride,
            DirectionWeights grads,
            float[] tape, int tapeOff,
            float[] ws, int wsOff);
}
