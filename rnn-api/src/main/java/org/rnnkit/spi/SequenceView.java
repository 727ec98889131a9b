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

    /** Sets every field; returns this. The values are checked by the kernel call that receives it. */
    public SequenceView set(float[] data, int offset, int timeStride, int batchStride) {
        this.data = data;
        this.offset = offset;
        this.timeStride = timeStride;
        this.batchStride = batchStride;
        return this;
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
