package org.rnnkit.spi;

/**
 * A strided view of a sequence tensor in a flat array: the row of step {@code t} and batch row {@code b}
 * starts at {@code data[offset + t*timeStride + b*batchStride]}. Its width (input size or {@code hOut}) is
 * the kernel's. Strides let one kernel read {@code batch_first} input and write one direction's half of a
 * bidirectional output in place, with no transposes.
 *
 * <p>Mutable so that a caller can keep its views and reuse them for every call: the hot path allocates
 * nothing. Kernels read it during the call only.
 *
 * <p>Thread safety: not thread-safe; one instance per calling thread.
 */
public final class SequenceView {
    private float[] data;
    private int offset, timeStride, batchStride;
    private int[] oneHot;

    /**
     * Sets every field and clears the {@link #oneHot} hint; returns this. The values are checked by the
     * kernel call that receives it.
     */
    public SequenceView set(float[] data, int offset, int timeStride, int batchStride) {
        this.data = data;
        this.offset = offset;
        this.timeStride = timeStride;
        this.batchStride = batchStride;
        this.oneHot = null;
        return this;
    }

    /**
     * Marks the rows of this view as one-hot: every row {@code (t, b)} the call runs (a step below the
     * row's length) holds {@code 1} at column {@code classes[t*B + b]} and {@code +0} elsewhere ({@code B}
     * the call's batch, in time-major order whatever the strides; the classes of other steps are any class). A hint, since the rows themselves stay valid: a kernel may read the class
     * instead of multiplying by zeros (an input projection becomes a column lookup, {@code dW_ih} a
     * scatter-add) or ignore the hint. The caller guarantees that the rows are exactly so; the kernel
     * call checks that every class lies in {@code 0..inputSize-1}. Returns this.
     */
    public SequenceView oneHot(int[] classes) {
        this.oneHot = classes;
        return this;
    }

    /** The classes of one-hot rows (see {@link #oneHot(int[])}), or null when the rows are general. */
    public int[] oneHotClasses() {
        return oneHot;
    }

    /** Rows of {@code width} floats laid out {@code (T, B, width)} from {@code offset}; returns this. */
    public SequenceView timeMajor(float[] data, int offset, int batch, int width) {
        return set(data, offset, batch * width, width);
    }

    /** Rows of {@code width} floats laid out {@code (B, T, width)} from {@code offset}; returns this. */
    public SequenceView batchMajor(float[] data, int offset, int seqLen, int width) {
        return set(data, offset, width, seqLen * width);
    }

    public float[] data() {
        return data;
    }

    public int offset() {
        return offset;
    }

    public int timeStride() {
        return timeStride;
    }

    public int batchStride() {
        return batchStride;
    }

    /** Where the row of step {@code t}, batch row {@code b} starts. */
    public int row(int t, int b) {
        return offset + t * timeStride + b * batchStride;
    }

    @Override
    public String toString() {
        return "SequenceView[offset=" + offset + ", strides " + timeStride + " (time), " + batchStride
                + " (batch), " + (data == null ? "no array" : data.length + " floats") + "]";
    }
}
