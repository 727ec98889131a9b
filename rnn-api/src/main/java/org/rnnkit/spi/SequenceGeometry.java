package org.rnnkit.spi;

/**
 * Which steps a kernel call runs: the sequence length {@code T}, the batch {@code B}, each row's own length
 * and the direction. One argument of {@link RecurrentKernel#forward} and {@link RecurrentKernel#backward}.
 *
 * <p>{@code lengths} (null = every row has {@code T} steps) gives per-row lengths, each in {@code 1..T}:
 * row {@code b} runs steps {@code 0..lengths[b]-1} only, and with {@code reverse} from {@code lengths[b]-1}
 * down to 0. The array is read, never copied or kept, so the caller must not change it during a call.
 *
 * <p>Mutable so that a caller can keep one per thread and reuse it for every call: the hot path allocates
 * nothing. Kernels read it during the call only.
 *
 * <p>Thread safety: not thread-safe; one instance per calling thread.
 */
public final class SequenceGeometry {
    private int seqLen, batch;
    private int[] lengths;
    private boolean reverse;

    /** Sets every field; returns this. The values are checked by the kernel call that receives it. */
    public SequenceGeometry set(int seqLen, int batch, int[] lengths, boolean reverse) {
        this.seqLen = seqLen;
        this.batch = batch;
        this.lengths = lengths;
        this.reverse = reverse;
        return this;
    }

    /** {@code T}, the steps of the longest row. */
    public int seqLen() {
        return seqLen;
    }

    /** {@code B}, the rows. */
    public int batch() {
        return batch;
    }

    /** Per-row lengths, or null when every row has {@link #seqLen()} steps. */
    public int[] lengths() {
        return lengths;
    }

    /** Whether steps run from each row's last step down to 0. */
    public boolean reverse() {
        return reverse;
    }

    /** The steps of row {@code b}. */
    public int length(int b) {
        return lengths == null ? seqLen : lengths[b];
    }

    @Override
    public String toString() {
        return "SequenceGeometry[T=" + seqLen + ", B=" + batch + (lengths == null ? "" : ", per-row lengths")
                + (reverse ? ", reverse" : "") + "]";
    }
}
