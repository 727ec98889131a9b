package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The products of {@link VectorMath}: blocking by panels changes no bit, and each sum is right. */
class VectorMathTest {

    /**
     * A product whose weights exceed {@link VectorMath#BLOCK_FLOATS} runs panel block by panel block;
     * every output must still have exactly the bits of its documented order (init, then one float FMA per
     * term in order), including the masked last vector when the result is the caller's array.
     */
    @Test
    void blockingByPanelsChangesNoBit() {
        SplittableRandom r = new SplittableRandom(11);
        int k = 301, n = 3 * VectorMath.PANEL * (VectorMath.BLOCK_FLOATS / (VectorMath.PANEL * k) + 1) + 5;
        int nP = VectorMath.pad(n), rows = 7;
        assertTrue((long) nP * k > VectorMath.BLOCK_FLOATS, "the case must be large enough to block");
        float[][] w = new float[n][k];
        for (float[] row : w) {
            for (int i = 0; i < k; i++) {
                row[i] = (float) r.nextGaussian();
            }
        }
        VectorMath.Packed p = VectorMath.pack(n, nP, k, (o, kk) -> o < n ? w[o][kk] : 0f);
        float[] a = new float[rows * k], init = new float[rows * nP];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
        for (int i = 0; i < init.length; i++) {
            init[i] = (float) r.nextGaussian();
        }
        for (int limit : new int[] {nP, n}) { // scratch (padded width) and caller's array (real width, masked)
            float[] blocked = new float[rows * nP];
            VectorMath.gemm(p, 0, limit, null, rows, false, -1, 0, rows, 0, 1, a, 0, k, 0, blocked, 0, nP, 0,
                    init, 0, nP, 0);
            for (int t = 0; t < rows; t++) {
                for (int o = 0; o < n; o++) {
                    // the documented order: init, then one float FMA per k in order, whatever the blocking
                    float acc = init[t * nP + o];
                    for (int i = 0; i < k; i++) {
                        acc = Math.fma(a[t * k + i], w[o][i], acc);
                    }
                    assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(blocked[t * nP + o]),
                            "row " + t + ", output " + o + ", limit " + limit);
                }
                if (limit == n) {
                    for (int o = n; o < nP; o++) {
                        assertEquals(0f, blocked[t * nP + o], "masked lane " + o + " written");
                    }
                }
            }
        }
    }

    /**
     * The mat-vec of one recurrence step (two panels at once, odd steps visiting panels last to first)
     * gives each output the bits of its documented order too.
     */
    @Test
    void aStepsMatVecKeepsTheOrder() {
        SplittableRandom r = new SplittableRandom(12);
        int k = 77, n = 5 * VectorMath.PANEL + 3, nP = VectorMath.pad(n), seqLen = 3;
        float[][] w = new float[n][k];
        for (float[] row : w) {
            for (int i = 0; i < k; i++) {
                row[i] = (float) r.nextGaussian();
            }
        }
        VectorMath.Packed p = VectorMath.pack(n, nP, k, (o, kk) -> o < n ? w[o][kk] : 0f);
        float[] a = new float[seqLen * k];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) r.nextGaussian();
        }
        for (int step = 0; step < seqLen; step++) {
            for (int limit : new int[] {nP, n}) {
                float[] out = new float[seqLen * nP];
                VectorMath.gemm(p, 0, limit, null, seqLen, false, step, 0, 0, 0, 1, a, 0, k, 0, out, 0, nP, 0,
                        null, 0, 0, 0);
                for (int o = 0; o < n; o++) {
                    float acc = 0f;
                    for (int i = 0; i < k; i++) {
                        acc = Math.fma(a[step * k + i], w[o][i], acc);
                    }
                    assertEquals(Float.floatToRawIntBits(acc), Float.floatToRawIntBits(out[step * nP + o]),
                            "step " + step + ", output " + o + ", limit " + limit);
                }
            }
        }
    }
}
