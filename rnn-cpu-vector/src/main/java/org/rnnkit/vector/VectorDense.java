package org.rnnkit.vector;

import static org.rnnkit.vector.VectorMath.FEW_REGISTERS;
import static org.rnnkit.vector.VectorMath.L;
import static org.rnnkit.vector.VectorMath.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import org.rnnkit.spi.DenseKernel;
import org.rnnkit.spi.MatrixView;

/**
 * The vector backend's dense kernel: a register-blocked product and a vectorised row softmax.
 *
 * <h2>Products</h2>
 * {@code c} goes in blocks of {@link #BW} columns ({@code 4 L}, or {@code 2 L} with
 * {@link VectorMath#FEW_REGISTERS}), each block over its rows {@link #R} at a time (4, or 6): a micro-kernel
 * holds {@code R x BW} sums in registers and, per {@code kk}, loads the block's row {@code kk} of {@code b}
 * once for all {@code R} rows and broadcasts each row's {@code a[i][kk]} once for all its vectors. Every
 * output is one lane that starts at 0 (or at {@code c}, to accumulate) and adds {@code kk = 0, 1, ...} in
 * order with one FMA per term: no reduction across lanes, so the bits depend on neither the blocking, the
 * vector width nor the thread count. {@code a} transposed only changes how its elements are found.
 * {@code b} is read where it lies when it is stored row by row and the block is whole vectors wide; otherwise
 * (transposed: {@code b}'s row {@code kk} is a column of the stored matrix; or a last block narrower than its
 * vectors) the block is first packed into a per-thread buffer as contiguous rows, padded with zeros to
 * whole vectors, so the inner loop always loads whole contiguous vectors. The terms go in chunks of
 * {@link #KC}, each chunk of a block over all rows while it is in cache. A last block narrower
 * than its vectors goes through a per-thread tile of {@code R} rows, so no load or store ever needs a mask.
 * The rows left after the last whole group of {@code R} repeat the group's last row: a repeated row computes
 * the same values from the same inputs, stored twice.
 *
 * <h2>Threads</h2>
 * A product of at least {@link #PARALLEL_MIN_FMAS} multiply-adds splits {@code c} by fixed tiles of
 * {@link #TILE} rows over the backend's threads; each part packs what it needs into its own thread's buffer.
 *
 * <h2>Softmax</h2>
 * Per row: the maximum; {@code e_j = exp(z_j - max)} in float (see {@link #exp}) into {@code p}, summed in
 * float lanes then across the lanes as a fixed pairwise tree; {@code p_j = e_j / sum} as a product with the
 * reciprocal; {@code lse = max + log(sum)} in double, rounded once. {@code FloatVector}'s lanewise
 * {@code EXP} is not used: C2 computes it with its own vector routine and the interpreter and C1 with
 * {@code Math.exp} per lane, so its bits would depend on how far the JIT has come (a softmax in place
 * would then differ from the same call out of place made earlier), and a polynomial of plain IEEE
 * operations gives the same bits at every tier.
 *
 * <p>Hot paths allocate nothing once warm: the buffers are per thread, grown to the largest call and
 * reused.
 *
 * <p>Thread safety: immutable; calls may run concurrently (each thread packs into its own buffers).
 */
final class VectorDense extends DenseKernel {
    /** Rows of {@code c} per micro-kernel: the register block's height. */
    static final int R = FEW_REGISTERS ? 6 : 4;
    /**
     * Columns of {@code c} per block: {@code R x BW / L} sums plus {@code BW / L} vectors of {@code b} and a
     * broadcast fit the vector registers (21 of 32, or 15 of 16).
     */
    static final int BW = (FEW_REGISTERS ? 2 : 4) * L;
    /**
     * Terms per chunk of a product: a chunk of a block of {@code b} ({@code KC x BW} floats, at most 256 KB)
     * stays in L2 while every group of rows passes over it, and it bounds the per-thread packing buffer.
     */
    static final int KC = 1024;
    /** Rows of {@code c} per tile of a split: fixed, so the parts never depend on the thread count. */
    static final int TILE = 64;
    /**
     * Below this many multiply-adds a product stays on the calling thread: a quarter of
     * {@link VectorKernel#PARALLEL_MIN_FMAS}, so that the products of a {@code Linear} head over a training
     * batch (1024 x 128 x 86 in {@code rnnkit train}'s default job) split; a part, whole tiles with nothing
     * to wait for, still takes longer than waking a worker (tens of microseconds).
     */
    static final long PARALLEL_MIN_FMAS = 1L << 22;

    private final VectorParallel par;

    VectorDense(VectorParallel par) {
        this.par = par;
    }

    /** A thread's scratch, made on its first call and reused. */
    private static final class Buffers {
        /** A chunk of a block of {@code b}: up to {@link #KC} rows of {@link #BW} floats. */
        final float[] pack = new float[KC * BW];
        /** {@code R} rows of one block of {@code c}, for a block narrower than its vectors. */
        final float[] tile = new float[R * BW];
        /** The last floats of a softmax row, padded to a vector. */
        final float[] lanes = new float[L];
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    // ---- products ----------------------------------------------------------------------------------------

    @Override
    protected void runMultiply(MatrixView a, MatrixView b, MatrixView c, boolean accumulate) {
        final int m = c.rows(), n = c.cols(), k = a.cols();
        final float[] ad = a.data(), bd = b.data(), cd = c.data();
        final int ao = a.offset(), bo = b.offset(), co = c.offset(), ldb = b.stride(), ldc = c.stride();
        // a's element (i, kk) at ao + i * ars + kk * aks
        final int ars = a.transposed() ? 1 : a.stride(), aks = a.transposed() ? a.stride() : 1;
        final boolean bt = b.transposed();
        final int tiles = (m + TILE - 1) / TILE;
        final int parts = (long) m * n * k < PARALLEL_MIN_FMAS ? 1 : Math.min(par.threads(), tiles);
        if (parts == 1) {
            rows(0, m, n, k, ad, ao, ars, aks, bd, bo, ldb, bt, cd, co, ldc, accumulate);
            return;
        }
        par.run(parts, (p, np) -> rows(Math.min(m, VectorParallel.split(tiles, p, np) * TILE),
                Math.min(m, VectorParallel.split(tiles, p + 1, np) * TILE), n, k, ad, ao, ars, aks, bd, bo, ldb, bt,
                cd, co, ldc, accumulate));
    }

    /**
     * Rows {@code [r0, r1)} of {@code c}: block of columns by block, each in chunks of {@link #KC} terms, each
     * chunk over every group of rows. Between chunks a sum waits in {@code c} (storing a float is exact: the
     * chain goes on unchanged).
     */
    private static void rows(int r0, int r1, int n, int k, float[] a, int ao, int ars, int aks,
            float[] b, int bo, int ldb, boolean bt, float[] c, int co, int ldc, boolean accumulate) {
        if (r0 >= r1) {
            return;
        }
        Buffers buf = BUFFERS.get();
        final float[] tile = buf.tile;
        for (int j0 = 0; j0 < n; j0 += BW) {
            final int w = Math.min(BW, n - j0), nv = (w + L - 1) / L, wp = nv * L, cj = co + j0;
            final boolean packed = bt || w != wp;
            for (int k0 = 0; k0 == 0 || k0 < k; k0 += KC) { // once at least: k == 0 still sets c = 0
                final int kc = Math.min(KC, k - k0);
                final boolean init = accumulate || k0 > 0;
                float[] bs = b;
                int bso = bo + k0 * ldb + j0, ldbs = ldb;
                if (packed) {
                    bs = buf.pack;
                    pack(b, bo, ldb, bt, j0, w, wp, k0, kc, bs);
                    bso = 0;
                    ldbs = wp;
                }
                final int ak = ao + k0 * aks;
                for (int i = r0; i < r1; i += R) {
                    // the group's rows, the last repeated where fewer than R are left
                    int i1 = Math.min(i + 1, r1 - 1), i2 = Math.min(i + 2, r1 - 1), i3 = Math.min(i + 3, r1 - 1);
                    int i4 = Math.min(i + 4, r1 - 1), i5 = Math.min(i + 5, r1 - 1);
                    int a0 = ak + i * ars, a1 = ak + i1 * ars, a2 = ak + i2 * ars, a3 = ak + i3 * ars;
                    int a4 = ak + i4 * ars, a5 = ak + i5 * ars;
                    if (w == wp) {
                        block(nv, a, a0, a1, a2, a3, a4, a5, aks, bs, bso, ldbs, kc, c, cj + i * ldc, cj + i1 * ldc,
                                cj + i2 * ldc, cj + i3 * ldc, cj + i4 * ldc, cj + i5 * ldc, init);
                        continue;
                    }
                    // through the tile: whole vectors there, the first w floats of each row copied
                    if (init) {
                        System.arraycopy(c, cj + i * ldc, tile, 0, w);
                        System.arraycopy(c, cj + i1 * ldc, tile, BW, w);
                        System.arraycopy(c, cj + i2 * ldc, tile, 2 * BW, w);
                        System.arraycopy(c, cj + i3 * ldc, tile, 3 * BW, w);
                        if (R == 6) {
                            System.arraycopy(c, cj + i4 * ldc, tile, 4 * BW, w);
                            System.arraycopy(c, cj + i5 * ldc, tile, 5 * BW, w);
                        }
                    }
                    block(nv, a, a0, a1, a2, a3, a4, a5, aks, bs, bso, ldbs, kc, tile, 0, BW, 2 * BW, 3 * BW, 4 * BW,
                            5 * BW, init);
                    System.arraycopy(tile, 0, c, cj + i * ldc, w);
                    System.arraycopy(tile, BW, c, cj + i1 * ldc, w);
                    System.arraycopy(tile, 2 * BW, c, cj + i2 * ldc, w);
                    System.arraycopy(tile, 3 * BW, c, cj + i3 * ldc, w);
                    if (R == 6) {
                        System.arraycopy(tile, 4 * BW, c, cj + i4 * ldc, w);
                        System.arraycopy(tile, 5 * BW, c, cj + i5 * ldc, w);
                    }
                }
            }
        }
    }

    /**
     * Columns {@code [j0, j0 + w)} of rows {@code [k0, k0 + kc)} of {@code b} ({@code k x n}; stored
     * transposed when {@code bt}) into {@code dst} as {@code kc} rows of {@code wp} floats, zeros past {@code w}.
     */
    private static void pack(float[] b, int bo, int ldb, boolean bt, int j0, int w, int wp, int k0, int kc,
            float[] dst) {
        if (bt) { // b's column j is the stored row j: read along it, write down the packed column
            for (int j = 0; j < w; j++) {
                int src = bo + (j0 + j) * ldb + k0;
                for (int kk = 0, d = j; kk < kc; kk++, d += wp) {
                    dst[d] = b[src + kk];
                }
            }
        } else {
            for (int kk = 0; kk < kc; kk++) {
                System.arraycopy(b, bo + (k0 + kk) * ldb + j0, dst, kk * wp, w);
            }
        }
        if (w < wp) {
            for (int kk = 0; kk < kc; kk++) {
                java.util.Arrays.fill(dst, kk * wp + w, (kk + 1) * wp, 0f);
            }
        }
    }

    /** One group of rows over one block of {@code nv} vectors. */
    private static void block(int nv, float[] a, int a0, int a1, int a2, int a3, int a4, int a5, int aks,
            float[] b, int bo, int ldb, int k, float[] c, int c0, int c1, int c2, int c3, int c4, int c5,
            boolean accumulate) {
        if (FEW_REGISTERS) {
            if (nv == 2) {
                k6x2(a, a0, a1, a2, a3, a4, a5, aks, b, bo, ldb, k, c, c0, c1, c2, c3, c4, c5, accumulate);
            } else {
                k6x1(a, a0, a1, a2, a3, a4, a5, aks, b, bo, ldb, k, c, c0, c1, c2, c3, c4, c5, accumulate);
            }
            return;
        }
        switch (nv) {
            case 4 -> k4x4(a, a0, a1, a2, a3, aks, b, bo, ldb, k, c, c0, c1, c2, c3, accumulate);
            case 3 -> {
                k4x2(a, a0, a1, a2, a3, aks, b, bo, ldb, k, c, c0, c1, c2, c3, accumulate);
                k4x1(a, a0, a1, a2, a3, aks, b, bo + 2 * L, ldb, k, c, c0 + 2 * L, c1 + 2 * L, c2 + 2 * L, c3 + 2 * L,
                        accumulate);
            }
            case 2 -> k4x2(a, a0, a1, a2, a3, aks, b, bo, ldb, k, c, c0, c1, c2, c3, accumulate);
            default -> k4x1(a, a0, a1, a2, a3, aks, b, bo, ldb, k, c, c0, c1, c2, c3, accumulate);
        }
    }

    // The micro-kernels take and return no vectors: C2 inlines them or not without ever boxing one.

    /** Four rows by four vectors: 16 sums, 4 vectors of b, a broadcast. */
    private static void k4x4(float[] a, int a0, int a1, int a2, int a3, int aks, float[] b, int bo, int ldb, int k,
            float[] c, int c0, int c1, int c2, int c3, boolean accumulate) {
        FloatVector s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33;
        if (accumulate) {
            s00 = FloatVector.fromArray(S, c, c0);
            s01 = FloatVector.fromArray(S, c, c0 + L);
            s02 = FloatVector.fromArray(S, c, c0 + 2 * L);
            s03 = FloatVector.fromArray(S, c, c0 + 3 * L);
            s10 = FloatVector.fromArray(S, c, c1);
            s11 = FloatVector.fromArray(S, c, c1 + L);
            s12 = FloatVector.fromArray(S, c, c1 + 2 * L);
            s13 = FloatVector.fromArray(S, c, c1 + 3 * L);
            s20 = FloatVector.fromArray(S, c, c2);
            s21 = FloatVector.fromArray(S, c, c2 + L);
            s22 = FloatVector.fromArray(S, c, c2 + 2 * L);
            s23 = FloatVector.fromArray(S, c, c2 + 3 * L);
            s30 = FloatVector.fromArray(S, c, c3);
            s31 = FloatVector.fromArray(S, c, c3 + L);
            s32 = FloatVector.fromArray(S, c, c3 + 2 * L);
            s33 = FloatVector.fromArray(S, c, c3 + 3 * L);
        } else {
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 =
                    FloatVector.zero(S);
        }
        for (int kk = 0, ak = 0, bk = bo; kk < k; kk++, ak += aks, bk += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L),
                    b2 = FloatVector.fromArray(S, b, bk + 2 * L), b3 = FloatVector.fromArray(S, b, bk + 3 * L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + ak]);
            s00 = b0.fma(x, s00);
            s01 = b1.fma(x, s01);
            s02 = b2.fma(x, s02);
            s03 = b3.fma(x, s03);
            x = FloatVector.broadcast(S, a[a1 + ak]);
            s10 = b0.fma(x, s10);
            s11 = b1.fma(x, s11);
            s12 = b2.fma(x, s12);
            s13 = b3.fma(x, s13);
            x = FloatVector.broadcast(S, a[a2 + ak]);
            s20 = b0.fma(x, s20);
            s21 = b1.fma(x, s21);
            s22 = b2.fma(x, s22);
            s23 = b3.fma(x, s23);
            x = FloatVector.broadcast(S, a[a3 + ak]);
            s30 = b0.fma(x, s30);
            s31 = b1.fma(x, s31);
            s32 = b2.fma(x, s32);
            s33 = b3.fma(x, s33);
        }
        s00.intoArray(c, c0);
        s01.intoArray(c, c0 + L);
        s02.intoArray(c, c0 + 2 * L);
        s03.intoArray(c, c0 + 3 * L);
        s10.intoArray(c, c1);
        s11.intoArray(c, c1 + L);
        s12.intoArray(c, c1 + 2 * L);
        s13.intoArray(c, c1 + 3 * L);
        s20.intoArray(c, c2);
        s21.intoArray(c, c2 + L);
        s22.intoArray(c, c2 + 2 * L);
        s23.intoArray(c, c2 + 3 * L);
        s30.intoArray(c, c3);
        s31.intoArray(c, c3 + L);
        s32.intoArray(c, c3 + 2 * L);
        s33.intoArray(c, c3 + 3 * L);
    }

    /** Four rows by two vectors. */
    private static void k4x2(float[] a, int a0, int a1, int a2, int a3, int aks, float[] b, int bo, int ldb, int k,
            float[] c, int c0, int c1, int c2, int c3, boolean accumulate) {
        FloatVector s00, s01, s10, s11, s20, s21, s30, s31;
        if (accumulate) {
            s00 = FloatVector.fromArray(S, c, c0);
            s01 = FloatVector.fromArray(S, c, c0 + L);
            s10 = FloatVector.fromArray(S, c, c1);
            s11 = FloatVector.fromArray(S, c, c1 + L);
            s20 = FloatVector.fromArray(S, c, c2);
            s21 = FloatVector.fromArray(S, c, c2 + L);
            s30 = FloatVector.fromArray(S, c, c3);
            s31 = FloatVector.fromArray(S, c, c3 + L);
        } else {
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = FloatVector.zero(S);
        }
        for (int kk = 0, ak = 0, bk = bo; kk < k; kk++, ak += aks, bk += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + ak]);
            s00 = b0.fma(x, s00);
            s01 = b1.fma(x, s01);
            x = FloatVector.broadcast(S, a[a1 + ak]);
            s10 = b0.fma(x, s10);
            s11 = b1.fma(x, s11);
            x = FloatVector.broadcast(S, a[a2 + ak]);
            s20 = b0.fma(x, s20);
            s21 = b1.fma(x, s21);
            x = FloatVector.broadcast(S, a[a3 + ak]);
            s30 = b0.fma(x, s30);
            s31 = b1.fma(x, s31);
        }
        s00.intoArray(c, c0);
        s01.intoArray(c, c0 + L);
        s10.intoArray(c, c1);
        s11.intoArray(c, c1 + L);
        s20.intoArray(c, c2);
        s21.intoArray(c, c2 + L);
        s30.intoArray(c, c3);
        s31.intoArray(c, c3 + L);
    }

    /** Four rows by one vector. */
    private static void k4x1(float[] a, int a0, int a1, int a2, int a3, int aks, float[] b, int bo, int ldb, int k,
            float[] c, int c0, int c1, int c2, int c3, boolean accumulate) {
        FloatVector s0, s1, s2, s3;
        if (accumulate) {
            s0 = FloatVector.fromArray(S, c, c0);
            s1 = FloatVector.fromArray(S, c, c1);
            s2 = FloatVector.fromArray(S, c, c2);
            s3 = FloatVector.fromArray(S, c, c3);
        } else {
            s0 = s1 = s2 = s3 = FloatVector.zero(S);
        }
        for (int kk = 0, ak = 0, bk = bo; kk < k; kk++, ak += aks, bk += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bk);
            s0 = b0.fma(FloatVector.broadcast(S, a[a0 + ak]), s0);
            s1 = b0.fma(FloatVector.broadcast(S, a[a1 + ak]), s1);
            s2 = b0.fma(FloatVector.broadcast(S, a[a2 + ak]), s2);
            s3 = b0.fma(FloatVector.broadcast(S, a[a3 + ak]), s3);
        }
        s0.intoArray(c, c0);
        s1.intoArray(c, c1);
        s2.intoArray(c, c2);
        s3.intoArray(c, c3);
    }

    /** Six rows by two vectors, for 16 registers: 12 sums, 2 vectors of b, a broadcast. */
    private static void k6x2(float[] a, int a0, int a1, int a2, int a3, int a4, int a5, int aks, float[] b, int bo,
            int ldb, int k, float[] c, int c0, int c1, int c2, int c3, int c4, int c5, boolean accumulate) {
        FloatVector s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51;
        if (accumulate) {
            s00 = FloatVector.fromArray(S, c, c0);
            s01 = FloatVector.fromArray(S, c, c0 + L);
            s10 = FloatVector.fromArray(S, c, c1);
            s11 = FloatVector.fromArray(S, c, c1 + L);
            s20 = FloatVector.fromArray(S, c, c2);
            s21 = FloatVector.fromArray(S, c, c2 + L);
            s30 = FloatVector.fromArray(S, c, c3);
            s31 = FloatVector.fromArray(S, c, c3 + L);
            s40 = FloatVector.fromArray(S, c, c4);
            s41 = FloatVector.fromArray(S, c, c4 + L);
            s50 = FloatVector.fromArray(S, c, c5);
            s51 = FloatVector.fromArray(S, c, c5 + L);
        } else {
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = s40 = s41 = s50 = s51 = FloatVector.zero(S);
        }
        for (int kk = 0, ak = 0, bk = bo; kk < k; kk++, ak += aks, bk += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + ak]);
            s00 = b0.fma(x, s00);
            s01 = b1.fma(x, s01);
            x = FloatVector.broadcast(S, a[a1 + ak]);
            s10 = b0.fma(x, s10);
            s11 = b1.fma(x, s11);
            x = FloatVector.broadcast(S, a[a2 + ak]);
            s20 = b0.fma(x, s20);
            s21 = b1.fma(x, s21);
            x = FloatVector.broadcast(S, a[a3 + ak]);
            s30 = b0.fma(x, s30);
            s31 = b1.fma(x, s31);
            x = FloatVector.broadcast(S, a[a4 + ak]);
            s40 = b0.fma(x, s40);
            s41 = b1.fma(x, s41);
            x = FloatVector.broadcast(S, a[a5 + ak]);
            s50 = b0.fma(x, s50);
            s51 = b1.fma(x, s51);
        }
        s00.intoArray(c, c0);
        s01.intoArray(c, c0 + L);
        s10.intoArray(c, c1);
        s11.intoArray(c, c1 + L);
        s20.intoArray(c, c2);
        s21.intoArray(c, c2 + L);
        s30.intoArray(c, c3);
        s31.intoArray(c, c3 + L);
        s40.intoArray(c, c4);
        s41.intoArray(c, c4 + L);
        s50.intoArray(c, c5);
        s51.intoArray(c, c5 + L);
    }

    /** Six rows by one vector. */
    private static void k6x1(float[] a, int a0, int a1, int a2, int a3, int a4, int a5, int aks, float[] b, int bo,
            int ldb, int k, float[] c, int c0, int c1, int c2, int c3, int c4, int c5, boolean accumulate) {
        FloatVector s0, s1, s2, s3, s4, s5;
        if (accumulate) {
            s0 = FloatVector.fromArray(S, c, c0);
            s1 = FloatVector.fromArray(S, c, c1);
            s2 = FloatVector.fromArray(S, c, c2);
            s3 = FloatVector.fromArray(S, c, c3);
            s4 = FloatVector.fromArray(S, c, c4);
            s5 = FloatVector.fromArray(S, c, c5);
        } else {
            s0 = s1 = s2 = s3 = s4 = s5 = FloatVector.zero(S);
        }
        for (int kk = 0, ak = 0, bk = bo; kk < k; kk++, ak += aks, bk += ldb) {
            FloatVector b0 = FloatVector.fromArray(S, b, bk);
            s0 = b0.fma(FloatVector.broadcast(S, a[a0 + ak]), s0);
            s1 = b0.fma(FloatVector.broadcast(S, a[a1 + ak]), s1);
            s2 = b0.fma(FloatVector.broadcast(S, a[a2 + ak]), s2);
            s3 = b0.fma(FloatVector.broadcast(S, a[a3 + ak]), s3);
            s4 = b0.fma(FloatVector.broadcast(S, a[a4 + ak]), s4);
            s5 = b0.fma(FloatVector.broadcast(S, a[a5 + ak]), s5);
        }
        s0.intoArray(c, c0);
        s1.intoArray(c, c1);
        s2.intoArray(c, c2);
        s3.intoArray(c, c3);
        s4.intoArray(c, c4);
        s5.intoArray(c, c5);
    }

    // ---- softmax -----------------------------------------------------------------------------------------

    @Override
    protected void runSoftmax(MatrixView z, MatrixView p, float[] logSumExp, int lseOffset) {
        final float[] zd = z.data(), pd = p.data();
        final int rows = z.rows(), cols = z.cols(), zs = z.stride(), ps = p.stride();
        final float[] lanes = BUFFERS.get().lanes;
        for (int i = 0, zo = z.offset(), po = p.offset(); i < rows; i++, zo += zs, po += ps) {
            logSumExp[lseOffset + i] = softmaxRow(zd, zo, pd, po, cols, lanes);
        }
    }

    /** One row of {@code n} floats at {@code z[zo]} into {@code p[po]} (possibly the same); returns its log-sum-exp. */
    private static float softmaxRow(float[] z, int zo, float[] p, int po, int n, float[] lanes) {
        final int bound = S.loopBound(n);
        // the maximum: exact, so the order of the reduction does not matter
        float max = Float.NEGATIVE_INFINITY;
        if (bound > 0) {
            FloatVector mv = FloatVector.fromArray(S, z, zo);
            for (int j = L; j < bound; j += L) {
                mv = mv.max(FloatVector.fromArray(S, z, zo + j));
            }
            max = mv.reduceLanes(VectorOperators.MAX);
        }
        for (int j = bound; j < n; j++) {
            max = Math.max(max, z[zo + j]);
        }
        // e_j into p, summed lane by lane; the last floats through a vector padded with the maximum (e = 1),
        // the padding's lanes zeroed before they join the sums
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < bound; j += L) {
            exp(z, zo + j, p, po + j, max);
            acc = acc.add(FloatVector.fromArray(S, p, po + j));
        }
        if (bound < n) {
            int rest = n - bound;
            System.arraycopy(z, zo + bound, lanes, 0, rest);
            java.util.Arrays.fill(lanes, rest, L, max);
            exp(lanes, 0, lanes, 0, max);
            System.arraycopy(lanes, 0, p, po + bound, rest);
            java.util.Arrays.fill(lanes, rest, L, 0f);
            acc = acc.add(FloatVector.fromArray(S, lanes, 0));
        }
        // across the lanes as a fixed pairwise tree: reduceLanes(ADD) leaves the order open (C2's and the
        // Java fallback's differ), and a chain of L dependent adds is slower
        acc.intoArray(lanes, 0);
        for (int half = L / 2; half > 0; half /= 2) {
            for (int l = 0; l < half; l++) {
                lanes[l] += lanes[l + half];
            }
        }
        float sum = lanes[0];
        // sum >= 1 (the maximum's own term) unless NaN
        float inv = (float) (1.0 / sum);
        for (int j = 0; j < bound; j += L) {
            FloatVector.fromArray(S, p, po + j).mul(inv).intoArray(p, po + j);
        }
        for (int j = bound; j < n; j++) {
            p[po + j] *= inv;
        }
        return (float) (max + Math.log(sum));
    }

    private static final float MAGIC = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer kept in the low bits
    private static final float LOG2E = 1.44269504f, L2H = 0.693145751953125f, L2L = 1.42860682e-6f;
    /** {@code (e^t - 1 - t) / t^2} on {@code |t| <= 0.347}: the native backend's degree-6 fit, relative error 3e-9. */
    private static final float P0 = 0.5f, P1 = 0.166666672f, P2 = 0.0416666679f, P3 = 0.00833329838f,
            P4 = 0.00138889241f, P5 = 0.000198993657f, P6 = 2.48209399e-05f;

    /**
     * One vector: {@code dst[do + l] = e^(src[so + l] - shift)} for {@code src <= shift}, in float with FMA,
     * as the native backend's softmax: {@code y = src - shift} taken exactly as a pair {@code y + ylo}
     * (TwoSum: rounded, its error would be a relative error of up to {@code |y|} half-ulps in {@code e^y});
     * {@code k = round(y log2 e)}; {@code r1 = y - k L2H} exact ({@code L2H} has 16 bits: {@code k L2H} is
     * exact for {@code |k| <= 150}, then Sterbenz); {@code e^r = 1 + r1 + rest} with
     * {@code rest = c + t^2 P(t)}, {@code c = -k L2L}, {@code t = r1 + c}; the 1 and the small parts summed
     * as a pair and rounded once; times {@code 2^k} in two exact-or-once-rounded steps (a result below
     * {@code 2^-126} is subnormal). Within about half an ulp. {@code y} is capped below at -104, where
     * {@code e^y} rounds to 0; NaN goes through.
     */
    private static void exp(float[] src, int so, float[] dst, int dOff, float shift) {
        FloatVector x = FloatVector.fromArray(S, src, so);
        FloatVector y = x.sub(shift);
        FloatVector bv = y.sub(x);
        FloatVector ylo = x.sub(y.sub(bv)).add(bv.neg().sub(shift));
        y = y.blend(-104f, y.compare(VectorOperators.LT, -104f)); // compare and blend: NaN kept
        FloatVector k = y.fma(LOG2E, MAGIC).sub(MAGIC);
        FloatVector r1 = k.fma(FloatVector.broadcast(S, -L2H), y);
        FloatVector c = k.mul(-L2L);
        FloatVector t = r1.add(c);
        FloatVector q = t.fma(P6, P5);
        q = q.fma(t, FloatVector.broadcast(S, P4));
        q = q.fma(t, FloatVector.broadcast(S, P3));
        q = q.fma(t, FloatVector.broadcast(S, P2));
        q = q.fma(t, FloatVector.broadcast(S, P1));
        q = q.fma(t, FloatVector.broadcast(S, P0));
        FloatVector rest = t.mul(t).fma(q, c);
        FloatVector u = r1.add(rest);
        FloatVector ue = r1.sub(u).add(rest);
        FloatVector h = u.add(1f);
        FloatVector l = u.add(h.neg().add(1f)).add(ylo.fma(h, ue)); // 1 - h + u exact: |u| < 0.42
        FloatVector e = h.add(l);
        // 2^k for k in [-150, 0] as 2^k1 * 2^(k - k1), k1 = max(k, -100): both normal, the first product exact
        FloatVector k1 = k.blend(-100f, k.compare(VectorOperators.LT, -100f));
        FloatVector p1 = k1.add(MAGIC).reinterpretAsInts().sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        FloatVector p2 = k.sub(k1).add(MAGIC).reinterpretAsInts().sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23)
                .reinterpretAsFloats();
        e.mul(p1).mul(p2).intoArray(dst, dOff);
    }
}
