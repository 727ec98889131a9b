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
 * <p>Thread safety: kernels are stateless and safe for concurrent use, each call with its own
 * workspace and outputs.
 */
public interface RecurrentKernel {

    /** Converts PyTorch-layout weights to this kernel's layout. Called once per layer direction. */
    PreparedWeights prepare(KernelShape shape, DirectionWeights weights);

    /** Floats of workspace that {@link #forward} needs for this sequence length and batch. */
    long workspaceSize(KernelShape shape, int seqLen, int batch);

    /** Runs the direction over the sequence; see the class comment for layouts. */
    void forward(PreparedWeights weights, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff,
            float[] ws, int wsOff);
}
