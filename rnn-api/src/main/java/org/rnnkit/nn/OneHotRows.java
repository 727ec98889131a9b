package org.rnnkit.nn;

/**
 * Recognises input whose rows are one-hot vectors (exactly one {@code 1.0} and {@code +0.0} elsewhere),
 * as a character model feeds its classes, so that the kernels may treat the input projection as the
 * column lookup it is (see {@link org.rnnkit.spi.SequenceView#oneHot}). The scan stops at the first value
 * that is neither 0 nor 1, so general input costs a few reads; one-hot input costs one read per element,
 * against the {@code 4H} multiply-adds per element the lookup saves.
 *
 * <p>The lookup equals the product exactly, except where a weight is infinite or NaN: the product then
 * gives NaN ({@code 0 * inf}), the lookup the weights of the class alone.
 *
 * <p>Thread safety: stateless.
 */
final class OneHotRows {
    private static final int ONE = Float.floatToRawIntBits(1f);

    private OneHotRows() {}

    /**
     * The class of every row {@code (t, b)} at index {@code t*batch + b} when every row that the call runs
     * (steps below the row's length) is one-hot, else null. Steps past a row's length get class 0. Fills
     * {@code buffer} when it is large enough, else a new array.
     */
    static int[] detect(float[] x, int off, int seqLen, int batch, int width, boolean batchFirst, int[] lengths,
            int[] buffer) {
        if (width < 2) {
            return null; // a one-wide row is its own lookup
        }
        int n = seqLen * batch;
        int[] classes = buffer != null && buffer.length >= n ? buffer : null;
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                int cls = 0;
                if (lengths == null || t < lengths[b]) {
                    cls = classOf(x, off + (batchFirst ? (b * seqLen + t) : (t * batch + b)) * width, width);
                    if (cls < 0) {
                        return null;
                    }
                }
                if (classes == null) {
                    classes = new int[n];
                }
                classes[t * batch + b] = cls;
            }
        }
        return classes;
    }

    /** The column of the row's single 1, or -1 if the row is not one-hot. */
    private static int classOf(float[] x, int row, int width) {
        int cls = -1;
        for (int j = 0; j < width; j++) {
            int bits = Float.floatToRawIntBits(x[row + j]);
            if (bits == ONE && cls < 0) {
                cls = j;
            } else if (bits != 0) {
                return -1;
            }
        }
        return cls;
    }
}
