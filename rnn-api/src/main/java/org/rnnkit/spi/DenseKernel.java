package org.rnnkit.spi;

import java.util.Objects;

/**
 * The dense products and row softmax that everything around the recurrent kernels is made of: a
 * {@code Linear} head and its backward pass, the loss. Every backend implements it with its own means
 * (a BLAS, vector code, plain loops), so that training and inference run at backend speed end to end.
 *
 * <p>As in {@link RecurrentKernel}, the public methods are final: they check every argument once, without
 * allocating, and only then call {@link #runMultiply} and {@link #runSoftmax}, which may index without
 * further checks.
 *
 * <p>Results: each product output is a sum over {@code k} in an order the backend chooses but keeps fixed
 * for a given shape, so products differ between backends by summation order only; a softmax differs by
 * its exponential's last bits too (within the bound {@code DenseKernelTest} states). Neither ever
 * depends on the number of threads.
 *
 * <p>Thread safety: implementations must be stateless or otherwise safe for concurrent use, each call
 * with its own views and outputs.
 */
public abstract class DenseKernel {

    /**
     * {@code c = a b} ({@code accumulate == false}) or {@code c += a b}: {@code a} is {@code m x k},
     * {@code b} is {@code k x n}, {@code c} is {@code m x n}, stored row by row (not transposed) and
     * overlapping neither {@code a} nor {@code b}.
     *
     * @throws IllegalArgumentException naming the view whose sizes disagree or whose elements lie outside
     *     its array
     */
    public final void multiply(MatrixView a, MatrixView b, MatrixView c, boolean accumulate) {
        requireView("a", a);
        requireView("b", b);
        requireView("c", c);
        if (c.transposed()) {
            throw new IllegalArgumentException("c: expected a matrix stored row by row, got " + c);
        }
        if (a.cols() != b.rows()) {
            throw new IllegalArgumentException("b: expected " + a.cols() + " rows (the columns of a), got " + b.rows());
        }
        if (c.rows() != a.rows() || c.cols() != b.cols()) {
            throw new IllegalArgumentException("c: expected " + a.rows() + " x " + b.cols() + ", got " + c.rows()
                    + " x " + c.cols());
        }
        if (overlaps(a, c) || overlaps(b, c)) {
            throw new IllegalArgumentException("c: must not overlap a or b, got c " + c + ", a " + a + ", b " + b);
        }
        if (c.rows() == 0 || c.cols() == 0) {
            return;
        }
        runMultiply(a, b, c, accumulate);
    }

    /**
     * Each row's softmax, {@code p[i][j] = exp(z[i][j] - lse[i])}, and its log-sum-exp,
     * {@code lse[i] = log(sum_j exp(z[i][j]))}, computed so that no row overflows. {@code p} may be
     * {@code z} itself (in place); both are stored row by row.
     *
     * @param logSumExp receives {@code lse[i]} at {@code logSumExp[lseOffset + i]}
     */
    public final void softmax(MatrixView z, MatrixView p, float[] logSumExp, int lseOffset) {
        requireView("z", z);
        requireView("p", p);
        if (z.transposed() || p.transposed()) {
            throw new IllegalArgumentException("z, p: expected matrices stored row by row, got z " + z + ", p " + p);
        }
        if (p.rows() != z.rows() || p.cols() != z.cols()) {
            throw new IllegalArgumentException("p: expected " + z.rows() + " x " + z.cols() + " (the shape of z), got "
                    + p.rows() + " x " + p.cols());
        }
        if (z.cols() < 1) {
            throw new IllegalArgumentException("z: expected at least one column, got " + z);
        }
        if (z.data() == p.data() && (z.offset() != p.offset() || z.stride() != p.stride()) && overlaps(z, p)) {
            throw new IllegalArgumentException("p: expected z itself or a matrix apart from it, got z " + z + ", p " + p);
        }
        Objects.requireNonNull(logSumExp, "logSumExp: expected an array, got null");
        if (lseOffset < 0 || (long) lseOffset + z.rows() > logSumExp.length) {
            throw new IllegalArgumentException("logSumExp: expected " + z.rows() + " floats from offset " + lseOffset
                    + ", but the array has " + logSumExp.length);
        }
        if (z.rows() == 0) {
            return;
        }
        runSoftmax(z, p, logSumExp, lseOffset);
    }

    // ---- what a backend implements -----------------------------------------------------------------------

    /** {@link #multiply} on checked arguments, with {@code m, n >= 1} ({@code k} may be 0). */
    protected abstract void runMultiply(MatrixView a, MatrixView b, MatrixView c, boolean accumulate);

    /** {@link #softmax} on checked arguments, with at least one row. */
    protected abstract void runSoftmax(MatrixView z, MatrixView p, float[] logSumExp, int lseOffset);

    // ---- checks ------------------------------------------------------------------------------------------

    private static void requireView(String name, MatrixView v) {
        if (v == null) {
            throw new NullPointerException(name + ": expected a MatrixView, got null");
        }
        if (v.data() == null) {
            throw new NullPointerException(name + ": expected an array, got null");
        }
        int rows = v.rows(), cols = v.cols(), stored = v.transposed() ? cols : rows, width = v.transposed() ? rows : cols;
        if (rows < 0 || cols < 0 || v.offset() < 0 || v.stride() < width) {
            throw new IllegalArgumentException(name + ": expected sizes >= 0, offset >= 0 and a stride of at least "
                    + width + ", got " + v);
        }
        if (stored > 0 && width > 0 && v.offset() + (long) (stored - 1) * v.stride() + width > v.data().length) {
            throw new IllegalArgumentException(name + ": expected " + (v.offset() + (long) (stored - 1) * v.stride() + width)
                    + " floats for " + v + ", but the array has " + v.data().length);
        }
    }

    /** Whether the two views' spans in the same array meet (conservative: spans, not elements). */
    private static boolean overlaps(MatrixView x, MatrixView y) {
        if (x.data() != y.data()) {
            return false;
        }
        long x0 = x.offset(), x1 = x0 + span(x), y0 = y.offset(), y1 = y0 + span(y);
        return x0 < y1 && y0 < x1;
    }

    private static long span(MatrixView v) {
        int stored = v.transposed() ? v.cols() : v.rows(), width = v.transposed() ? v.rows() : v.cols();
        return stored == 0 || width == 0 ? 0 : (long) (stored - 1) * v.stride() + width;
    }
}
