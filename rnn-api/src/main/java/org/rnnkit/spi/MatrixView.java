package org.rnnkit.spi;

/**
 * A matrix of {@code rows x cols} floats in a flat array, stored row by row ({@code (i, j)} at
 * {@code offset + i*stride + j}) or, as the transpose of a stored matrix, column by column
 * ({@code (i, j)} at {@code offset + j*stride + i}). The second form lets a {@link DenseKernel} multiply by
 * {@code W^T} without copying {@code W}, as BLAS does with its transpose flags.
 *
 * <p>Mutable so that a caller can keep its views and reuse them for every call: the hot path allocates
 * nothing. Kernels read it during the call only.
 *
 * <p>Thread safety: not thread-safe; one instance per calling thread.
 */
public final class MatrixView {
    private float[] data;
    private int offset, rows, cols, stride;
    private boolean transposed;

    /** A {@code rows x cols} matrix stored row by row, row {@code i} at {@code offset + i*stride}; returns this. */
    public MatrixView rowMajor(float[] data, int offset, int rows, int cols, int stride) {
        return set(data, offset, rows, cols, stride, false);
    }

    /** Rows packed one after the other ({@code stride == cols}); returns this. */
    public MatrixView rowMajor(float[] data, int offset, int rows, int cols) {
        return set(data, offset, rows, cols, cols, false);
    }

    /**
     * The transpose of a stored {@code cols x rows} matrix (row {@code j} of the stored matrix at
     * {@code offset + j*stride}): this view's {@code (i, j)} is the stored {@code (j, i)}; returns this.
     */
    public MatrixView transposeOf(float[] data, int offset, int rows, int cols, int stride) {
        return set(data, offset, rows, cols, stride, true);
    }

    private MatrixView set(float[] data, int offset, int rows, int cols, int stride, boolean transposed) {
        this.data = data;
        this.offset = offset;
        this.rows = rows;
        this.cols = cols;
        this.stride = stride;
        this.transposed = transposed;
        return this;
    }

    public float[] data() {
        return data;
    }

    public int offset() {
        return offset;
    }

    /** Rows of this (logical) matrix. */
    public int rows() {
        return rows;
    }

    /** Columns of this (logical) matrix. */
    public int cols() {
        return cols;
    }

    /** Floats between consecutive stored rows (BLAS's leading dimension). */
    public int stride() {
        return stride;
    }

    /** Whether this view is the transpose of the stored matrix (element {@code (i, j)} at {@code offset + j*stride + i}). */
    public boolean transposed() {
        return transposed;
    }

    /** Where element {@code (i, j)} lies. */
    public int index(int i, int j) {
        return transposed ? offset + j * stride + i : offset + i * stride + j;
    }

    @Override
    public String toString() {
        return "MatrixView[" + rows + " x " + cols + (transposed ? " transposed" : "") + ", offset " + offset
                + ", stride " + stride + ", " + (data == null ? "no array" : data.length + " floats") + "]";
    }
}
