package org.rnnkit.nativebackend;

import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.MatrixView;

/**
 * The native dense kernel: a product is one JNI call into OpenBLAS {@code sgemm} (transposed views as its
 * transpose flags, strides as its leading dimensions, {@code accumulate} as {@code beta = 1}), on fixed
 * tiles of rows of {@code c} that a large product spreads over the backend's threads: OpenBLAS's results
 * depend on the rows a call holds, so the tiles, not the thread count, decide the bits. A softmax is one
 * JNI call into the row softmax of the chosen instruction set (a float exponential within about half an
 * ulp, shifted by the row's maximum).
 *
 * <p>Thread safety: immutable; safe for concurrent use (each call works in its own outputs).
 */
final class NativeDense extends DenseKernel {
    /** Up to this many threads per product (1: the calling thread only). */
    private final int threads;

    NativeDense(int threads) {
        this.threads = threads;
    }

    @Override
    protected void runMultiply(MatrixView a, MatrixView b, MatrixView c, boolean accumulate) {
        NativeMethods.multiply(c.rows(), c.cols(), a.cols(),
                a.data(), a.offset(), a.stride(), a.transposed(),
                b.data(), b.offset(), b.stride(), b.transposed(),
                c.data(), c.offset(), c.stride(), accumulate, threads);
    }

    @Override
    protected void runSoftmax(MatrixView z, MatrixView p, float[] logSumExp, int lseOffset) {
        NativeMethods.softmax(z.rows(), z.cols(), z.data(), z.offset(), z.stride(), p.data(), p.offset(), p.stride(),
                logSumExp, lseOffset);
    }
}
