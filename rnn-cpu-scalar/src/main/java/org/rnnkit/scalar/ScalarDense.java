package org.rnnkit.scalar;

import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.MatrixView;

/**
 * The reference dense kernel: each product a float32 sum over {@code k} ascending, as the equations are
 * written; softmax with exponentials and sums in double, rounded once.
 *
 * <p>Thread safety: stateless.
 */
final class ScalarDense extends DenseKernel {

    @Override
    protected void runMultiply(MatrixView a, MatrixView b, MatrixView c, boolean accumulate) {
        final float[] ad = a.data(), bd = b.data(), cd = c.data();
        final int m = c.rows(), n = c.cols(), k = a.cols();
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int kk = 0; kk < k; kk++) {
                    s += ad[a.index(i, kk)] * bd[b.index(kk, j)];
                }
                int ci = c.index(i, j);
                cd[ci] = accumulate ? cd[ci] + s : s;
            }
        }
    }

    @Override
    protected void runSoftmax(MatrixView z, MatrixView p, float[] logSumExp, int lseOffset) {
        final float[] zd = z.data(), pd = p.data();
        final int rows = z.rows(), cols = z.cols();
        for (int i = 0; i < rows; i++) {
            int zo = z.index(i, 0), po = p.index(i, 0);
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                max = Math.max(max, zd[zo + j]);
            }
            double sum = 0;
            for (int j = 0; j < cols; j++) {
                sum += Math.exp(zd[zo + j] - max);
            }
            double lse = max + Math.log(sum);
            for (int j = 0; j < cols; j++) {
                pd[po + j] = (float) Math.exp(zd[zo + j] - lse);
            }
            logSumExp[lseOffset + i] = (float) lse;
        }
    }
}
