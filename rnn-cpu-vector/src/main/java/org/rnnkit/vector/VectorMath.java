package org.rnnkit.vector;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector backend's arithmetic: the species, packed weight panels and the matrix products on them,
 * and the activations.
 *
 * <h2>Species</h2>
 * {@link #S} is a {@code static final} constant (C2 only intrinsifies constant species), chosen at class
 * initialisation from {@code -Drnnkit.vector.bitSize} (128, 256 or 512; default: the CPU's preferred
 * width). {@link VectorProbe} validates the property before this class is loaded.
 *
 * <h2>Products</h2>
 * Every product here has the form {@code C[r][o] = I[r][o] + sum_k A[r][k] * W[o][k]} with {@code W}
 * packed once into panels of {@link #PANEL} outputs ({@link #pack}). Each output element is one vector
 * lane that starts from its init value and accumulates {@code k = 0, 1, ...} in order with one FMA per
 * term: no horizontal reduction, no dependence on which rows are blocked together, on the panel width
 * or on the JIT. So a (step, row) result is a function of that row's inputs only, the property that
 * makes chunked streaming equal to one-shot runs bit for bit and results independent of the thread
 * count. The register block is 4 rows x 4 vectors (16 accumulators; each weight load serves 4 rows,
 * each broadcast of {@code A[r][k]} serves 4 vectors); a single row (batch 1) is the mat-vec over two
 * panels at once (8 independent accumulators, two weight streams in flight, which pays when {@code W}
 * comes from L3 or memory and in the backward's transposed mat-vec, which has no init; measured:
 * rnn-bench/RESULTS.md, "What limits the vector backend's missed aims"), with 4 accumulators on a last
 * odd panel.
 *
 * <h2>Activations</h2>
 * {@link #sigmoid(float[], int, float[], int, int)} and {@link #tanh(float[], int, float[], int, int)} load
 * a float vector, widen its two halves to double ({@link #D}, {@link #AL} lanes each; see {@link #HIGH}), evaluate
 * with an {@code exp}/{@code expm1} of relative error about 1e-12 (range reduction by {@code ln 2}, a
 * degree-8 polynomial) and round once to float: the correctly rounded result except for a few near-ties
 * per million (then 1 ulp off, either way: no bias).
 *
 * <h2>No vector crosses a method boundary</h2>
 * Every method here takes and returns arrays and indices only; vectors live inside one method. A vector
 * passed to or returned from a method C2 does not inline is allocated, and these methods are large
 * enough to hit C2's inlining limits (a fused LSTM step with five inlined activations did, at
 * {@code NodeCountInliningCutoff}, and allocated on every step).
 */
final class VectorMath {
    /** The float species of every product. */
    static final VectorSpecies<Float> S = species();
    /** Float lanes per vector. */
    static final int L = S.length();
    /** Outputs per packed panel: four vectors. */
    static final int PANEL = 4 * L;
    /**
     * Whether this JVM has 16 vector registers (AVX2 and below) rather than 32 (AVX-512, also for its
     * 256-bit registers): register blocks are sized to what fits. A constant, so C2 folds the choice.
     * {@value #FEW_REGISTERS_PROPERTY} overrides it, for tests (both blockings give the same bits) and A/B runs.
     */
    static final String FEW_REGISTERS_PROPERTY = "rnnkit.vector.fewRegisters";
    static final boolean FEW_REGISTERS = Boolean.parseBoolean(System.getProperty(FEW_REGISTERS_PROPERTY,
            String.valueOf(VectorSpecies.ofLargestShape(float.class).vectorBitSize() < 512)));
    /** Rows a product takes through {@code W} together: six with few registers ({@link #gemm6}), else four. */
    static final int ROWS = FEW_REGISTERS ? 6 : 4;
    /** Doubles of the same bit size, for activations. */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, S.vectorShape());
    /** Lanes of the activation species. */
    static final int AL = D.length();
    /**
     * The high {@link #AL} lanes of {@link #S}. Activations widen the two halves of one {@code S} vector
     * to double and join the results under this mask rather than use a half-width float species: a
     * second float vector class pollutes the shared type profiles of {@code FloatVector}'s methods (seen
     * at {@code intoArray}), and C2 then meets a loop's accumulators with a two-way type check and boxes
     * them on every iteration, depending on what the JIT profiled first (measured: rnn-bench/RESULTS.md,
     * "What limits the vector backend's missed aims").
     */
    static final VectorMask<Float> HIGH = VectorMask.fromLong(S, ((1L << L) - 1) & ~((1L << AL) - 1));

    private VectorMath() {}

    private static VectorSpecies<Float> species() {
        int bits = Integer.getInteger(VectorProbe.BIT_SIZE_PROPERTY, 0);
        return bits == 0 ? FloatVector.SPECIES_PREFERRED : VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    static int bitSize() {
        return S.vectorBitSize();
    }

    /** {@code n} rounded up to a multiple of {@link #L}. */
    static int pad(int n) {
        return (n + L - 1) / L * L;
    }

    // ---- packing ---------------------------------------------------------------------------------------

    /** A matrix {@code W (n x k)} in panels of {@link #PANEL} outputs; outputs {@code n..nP-1} are zeros. */
    record Packed(float[] data, int n, int nP, int k) {}

    /** Element {@code W[o][kk]} of a matrix to pack; {@code o < nP}, padded outputs included. */
    @FunctionalInterface
    interface Source {
        float at(int o, int kk);
    }

    /**
     * Packs {@code W} for {@link #gemm}: panel {@code p} covers outputs {@code [p*PANEL, p*PANEL + pw)}
     * ({@code pw = PANEL}, or what is left of {@code nP}) and stores, for each {@code kk}, its {@code pw}
     * values contiguously, so a product streams each panel once per row block.
     */
    static Packed pack(int n, int nP, int k, Source w) {
        Packed p = zeros(n, nP, k);
        repack(p, w);
        return p;
    }

    /** A packed {@code W (n x k)} of zeros, to be filled by {@link #repack}. */
    static Packed zeros(int n, int nP, int k) {
        return new Packed(new float[Math.multiplyExact(nP, k)], n, nP, k);
    }

    /** Writes {@code W} into {@code p}'s own array, in {@link #pack}'s layout: a re-pack in place. */
    static void repack(Packed p, Source w) {
        float[] d = p.data();
        int nP = p.nP(), k = p.k();
        for (int o0 = 0; o0 < nP; o0 += PANEL) {
            int pw = Math.min(PANEL, nP - o0);
            for (int kk = 0; kk < k; kk++) {
                for (int o = 0; o < pw; o++) {
                    d[o0 * k + kk * pw + o] = w.at(o0 + o, kk);
                }
            }
        }
    }

    // ---- products --------------------------------------------------------------------------------------

    /**
     * {@code C[r][o] = I[r][o] + sum_k A[r][k] * W[o][k]} for the rows of a call, {@code oFrom <= o < limit}
     * ({@code oFrom} a multiple of {@link #PANEL}).
     *
     * <p>Rows: with {@code s >= 0}, the rows of step {@code s} (each {@code b} in {@code [b0, b1)} whose
     * length exceeds {@code s}, at time {@code t = s}, or {@code len-1-s} in reverse); with
     * {@code s == }{@link #EVERY_STEP}, every valid {@code (t, b)} with {@code t} in {@code [t0, t1)} and
     * {@code b} in {@code [b0, b1)}.
     * Row {@code (t, b)} of an operand starts at {@code base + t*ts + b*bs}; a null {@code init} means zeros.
     * {@code limit} is {@code W}'s padded width when {@code C} is scratch (padded lanes get written), or
     * its real width when {@code C} is the caller's (then the last vector is masked).
     *
     * <p>Rows go four at a time over all of {@code W}, panel after panel: each panel streams through once
     * per four rows, which the hardware prefetchers keep up with while {@code W} fits in L2. A product over
     * many rows with a larger {@code W} goes in blocks of {@link #BLOCK_FLOATS}, all rows over each block.
     * Odd steps of a recurrence visit the panels last to first: the panels the previous step read last are
     * still in cache, which matters when {@code W_hh} is about the size of L2 (an LSTM 256's 1 MB); no
     * output's own summation order changes.
     */
    /** {@link #gemm}'s step argument for a product over the valid rows of a range of steps, not of one step. */
    static final int EVERY_STEP = -1;

    static void gemm(Packed w, int oFrom, int limit, int[] lengths, int seqLen, boolean reverse, int s, int t0, int t1,
            int b0, int b1,
            float[] a, int aBase, int aTs, int aBs,
            float[] c, int cBase, int cTs, int cBs,
            float[] init, int iBase, int iTs, int iBs) {
        // W larger than an L2 share (a product over many rows only): all rows over one block of panels,
        // then the next, so W comes from memory once instead of once per four rows (LSTM 1024's 16 MB
        // W_ih over 20 steps: 5 times). Same sums, same order. One method, no wrapper: every extra call
        // level counts against C2's inlining depth, and a Vector API call it stops inlining allocates its
        // vectors.
        int end = Math.min(w.nP(), limit);
        int block = s < 0 && (long) (end - oFrom) * w.k() > BLOCK_FLOATS
                ? Math.max(1, BLOCK_FLOATS / (PANEL * w.k())) * PANEL : Math.max(PANEL, end - oFrom);
        for (int bFrom = oFrom; bFrom < end; bFrom += block) {
            int bLimit = Math.min(bFrom + block, limit);
            int n = 0;
            int a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0;
            int i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0;
            int tFrom = s >= 0 ? 0 : t0, tTo = s >= 0 ? 1 : t1;
            boolean backwards = s >= 0 && (s & 1) == 1;
            for (int tt = tFrom; tt < tTo; tt++) {
                for (int b = b0; b < b1; b++) {
                    int len = lengths == null ? seqLen : lengths[b];
                    int t;
                    if (s >= 0) {
                        if (s >= len) {
                            continue;
                        }
                        t = reverse ? len - 1 - s : s;
                    } else {
                        if (tt >= len) {
                            continue;
                        }
                        t = tt;
                    }
                    int ao = aBase + t * aTs + b * aBs, co = cBase + t * cTs + b * cBs, io = iBase + t * iTs + b * iBs;
                    // rows gather in groups of ROWS (4, or 6 with few registers), then go through W together
                    if (n == ROWS - 1) {
                        if (FEW_REGISTERS) {
                            gemm6(w, bFrom, bLimit, backwards, a, a0, a1, a2, a3, a4, ao, c, c0, c1, c2, c3, c4, co,
                                    init, i0, i1, i2, i3, i4, io);
                        } else {
                            gemm4(w, bFrom, bLimit, backwards, a, a0, a1, a2, ao, c, c0, c1, c2, co, init, i0, i1, i2, io);
                        }
                        n = 0;
                        continue;
                    }
                    switch (n) {
                        case 0 -> { a0 = ao; c0 = co; i0 = io; }
                        case 1 -> { a1 = ao; c1 = co; i1 = io; }
                        case 2 -> { a2 = ao; c2 = co; i2 = io; }
                        case 3 -> { a3 = ao; c3 = co; i3 = io; }
                        default -> { a4 = ao; c4 = co; i4 = io; }
                    }
                    n++;
                }
            }
            int done = 0;
            if (n >= 4) {
                gemm4(w, bFrom, bLimit, backwards, a, a0, a1, a2, a3, c, c0, c1, c2, c3, init, i0, i1, i2, i3);
                done = 4;
            }
            for (int r = done; r < n; r++) {
                int ar = r == 0 ? a0 : r == 1 ? a1 : r == 2 ? a2 : r == 3 ? a3 : a4;
                int cr = r == 0 ? c0 : r == 1 ? c1 : r == 2 ? c2 : r == 3 ? c3 : c4;
                int ir = r == 0 ? i0 : r == 1 ? i1 : r == 2 ? i2 : r == 3 ? i3 : i4;
                gemm1(w, bFrom, bLimit, backwards, a, ar, c, cr, init, ir);
            }
        }
    }

    /** Floats of packed weights (256 KB) that one pass over all rows of a product keeps in L2. */
    static final int BLOCK_FLOATS = 1 << 16;

    /** Four rows: each weight vector loaded once serves all four. */
    static void gemm4(Packed w, int oFrom, int limit, boolean backwards, float[] a, int a0, int a1, int a2, int a3,
            float[] c, int c0, int c1, int c2, int c3, float[] init, int i0, int i1, int i2, int i3) {
        float[] wp = w.data();
        int k = w.k(), nP = w.nP();
        int panels = (Math.min(nP, limit) - oFrom + PANEL - 1) / PANEL;
        for (int pi = 0; pi < panels; pi++) {
            int o0 = oFrom + (backwards ? panels - 1 - pi : pi) * PANEL;
            int pw = Math.min(PANEL, nP - o0);
            if (pw == PANEL && o0 + PANEL <= limit) {
                if (FEW_REGISTERS) {
                    panel4x2(wp, o0 * k, k, a, a0, a1, a2, a3, c, c0, c1, c2, c3, init, i0, i1, i2, i3, o0, 0);
                    panel4x2(wp, o0 * k, k, a, a0, a1, a2, a3, c, c0, c1, c2, c3, init, i0, i1, i2, i3, o0, 2 * L);
                } else {
                    panel4x4(wp, o0 * k, k, a, a0, a1, a2, a3, c, c0, c1, c2, c3, init, i0, i1, i2, i3, o0);
                }
            } else {
                for (int v = 0; v < pw && o0 + v < limit; v += L) {
                    panel4x1(wp, o0 * k + v, pw, k, a, a0, a1, a2, a3, c, c0, c1, c2, c3, init, i0, i1, i2, i3,
                            o0 + v, limit);
                }
            }
        }
    }

    /**
     * Six rows, for 16 vector registers: each full panel as two halves of six rows by two vectors (12
     * accumulators: enough independent FMA chains to cover the FMA latency, which four rows by two do not);
     * a partial panel as four rows and two single rows.
     */
    static void gemm6(Packed w, int oFrom, int limit, boolean backwards, float[] a, int a0, int a1, int a2, int a3,
            int a4, int a5, float[] c, int c0, int c1, int c2, int c3, int c4, int c5, float[] init, int i0, int i1,
            int i2, int i3, int i4, int i5) {
        float[] wp = w.data();
        int k = w.k(), nP = w.nP();
        int panels = (Math.min(nP, limit) - oFrom + PANEL - 1) / PANEL;
        for (int pi = 0; pi < panels; pi++) {
            int o0 = oFrom + (backwards ? panels - 1 - pi : pi) * PANEL;
            int pw = Math.min(PANEL, nP - o0);
            if (pw == PANEL && o0 + PANEL <= limit) {
                for (int v = 0; v < PANEL; v += 2 * L) {
                    panel6x2(wp, o0 * k + v, k, a, a0, a1, a2, a3, a4, a5, c, c0, c1, c2, c3, c4, c5, init, i0, i1, i2,
                            i3, i4, i5, o0 + v);
                }
            } else {
                for (int v = 0; v < pw && o0 + v < limit; v += L) {
                    panel4x1(wp, o0 * k + v, pw, k, a, a0, a1, a2, a3, c, c0, c1, c2, c3, init, i0, i1, i2, i3,
                            o0 + v, limit);
                    panel1x1(wp, o0 * k + v, pw, k, a, a4, c, c4, init, i4, o0 + v, limit);
                    panel1x1(wp, o0 * k + v, pw, k, a, a5, c, c5, init, i5, o0 + v, limit);
                }
            }
        }
    }

    /** One row: the mat-vec, two panels at a time (8 accumulators), one panel for an odd last one. */
    static void gemm1(Packed w, int oFrom, int limit, boolean backwards, float[] a, int a0, float[] c, int c0, float[] init, int i0) {
        float[] wp = w.data();
        int k = w.k(), nP = w.nP();
        int panels = (Math.min(nP, limit) - oFrom + PANEL - 1) / PANEL;
        for (int pi = 0; pi < panels; pi++) {
            int o0 = oFrom + (backwards ? panels - 1 - pi : pi) * PANEL;
            int pw = Math.min(PANEL, nP - o0);
            if (pi + 1 < panels && pw == PANEL && o0 + PANEL <= limit
                    && (backwards ? o0 - PANEL : o0 + PANEL) + PANEL <= Math.min(nP, limit)) {
                panel1x8(wp, o0 * k, backwards ? (o0 - PANEL) * k : (o0 + PANEL) * k, k, a, a0, c, c0, init, i0, o0,
                        backwards ? o0 - PANEL : o0 + PANEL);
                pi++;
            } else if (pw == PANEL && o0 + PANEL <= limit) {
                panel1x4(wp, o0 * k, k, a, a0, c, c0, init, i0, o0);
            } else {
                for (int v = 0; v < pw && o0 + v < limit; v += L) {
                    panel1x1(wp, o0 * k + v, pw, k, a, a0, c, c0, init, i0, o0 + v, limit);
                }
            }
        }
    }

    // The panel kernels take and return no vectors and call no method of ours that does: C2 inlines
    // them or not as it likes without ever boxing a vector (a vector crossing a non-inlined call is
    // allocated, and large vector methods do hit C2's inlining limits).

    private static void panel4x4(float[] wp, int wo, int k, float[] a, int a0, int a1, int a2, int a3,
            float[] c, int c0, int c1, int c2, int c3, float[] init, int i0, int i1, int i2, int i3, int o) {
        FloatVector s00, s01, s02, s03, s10, s11, s12, s13, s20, s21, s22, s23, s30, s31, s32, s33;
        if (init == null) {
            s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 =
                    FloatVector.zero(S);
        } else {
            s00 = FloatVector.fromArray(S, init, i0 + o);
            s01 = FloatVector.fromArray(S, init, i0 + o + L);
            s02 = FloatVector.fromArray(S, init, i0 + o + 2 * L);
            s03 = FloatVector.fromArray(S, init, i0 + o + 3 * L);
            s10 = FloatVector.fromArray(S, init, i1 + o);
            s11 = FloatVector.fromArray(S, init, i1 + o + L);
            s12 = FloatVector.fromArray(S, init, i1 + o + 2 * L);
            s13 = FloatVector.fromArray(S, init, i1 + o + 3 * L);
            s20 = FloatVector.fromArray(S, init, i2 + o);
            s21 = FloatVector.fromArray(S, init, i2 + o + L);
            s22 = FloatVector.fromArray(S, init, i2 + o + 2 * L);
            s23 = FloatVector.fromArray(S, init, i2 + o + 3 * L);
            s30 = FloatVector.fromArray(S, init, i3 + o);
            s31 = FloatVector.fromArray(S, init, i3 + o + L);
            s32 = FloatVector.fromArray(S, init, i3 + o + 2 * L);
            s33 = FloatVector.fromArray(S, init, i3 + o + 3 * L);
        }
        for (int kk = 0; kk < k; kk++, wo += PANEL) {
            FloatVector w0 = FloatVector.fromArray(S, wp, wo), w1 = FloatVector.fromArray(S, wp, wo + L),
                    w2 = FloatVector.fromArray(S, wp, wo + 2 * L), w3 = FloatVector.fromArray(S, wp, wo + 3 * L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
            s00 = w0.fma(x, s00);
            s01 = w1.fma(x, s01);
            s02 = w2.fma(x, s02);
            s03 = w3.fma(x, s03);
            x = FloatVector.broadcast(S, a[a1 + kk]);
            s10 = w0.fma(x, s10);
            s11 = w1.fma(x, s11);
            s12 = w2.fma(x, s12);
            s13 = w3.fma(x, s13);
            x = FloatVector.broadcast(S, a[a2 + kk]);
            s20 = w0.fma(x, s20);
            s21 = w1.fma(x, s21);
            s22 = w2.fma(x, s22);
            s23 = w3.fma(x, s23);
            x = FloatVector.broadcast(S, a[a3 + kk]);
            s30 = w0.fma(x, s30);
            s31 = w1.fma(x, s31);
            s32 = w2.fma(x, s32);
            s33 = w3.fma(x, s33);
        }
        s00.intoArray(c, c0 + o);
        s01.intoArray(c, c0 + o + L);
        s02.intoArray(c, c0 + o + 2 * L);
        s03.intoArray(c, c0 + o + 3 * L);
        s10.intoArray(c, c1 + o);
        s11.intoArray(c, c1 + o + L);
        s12.intoArray(c, c1 + o + 2 * L);
        s13.intoArray(c, c1 + o + 3 * L);
        s20.intoArray(c, c2 + o);
        s21.intoArray(c, c2 + o + L);
        s22.intoArray(c, c2 + o + 2 * L);
        s23.intoArray(c, c2 + o + 3 * L);
        s30.intoArray(c, c3 + o);
        s31.intoArray(c, c3 + o + L);
        s32.intoArray(c, c3 + o + 2 * L);
        s33.intoArray(c, c3 + o + 3 * L);
    }

    /**
     * Four rows, half a panel (vectors {@code v/L} and {@code v/L + 1} of it): 8 accumulators, 2 weight
     * vectors and a broadcast, 11 registers, for a machine with 16 vector registers (AVX2), where
     * {@link #panel4x4}'s 21 spill. The two halves read disjoint cache lines of the panel, so the panel
     * still streams through once per four rows. Each output's sum is the same chain of FMAs in the same
     * order as in {@code panel4x4}: the same bits.
     */
    private static void panel4x2(float[] wp, int wo, int k, float[] a, int a0, int a1, int a2, int a3,
            float[] c, int c0, int c1, int c2, int c3, float[] init, int i0, int i1, int i2, int i3, int o, int v) {
        FloatVector s00, s01, s10, s11, s20, s21, s30, s31;
        int ov = o + v;
        if (init == null) {
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = FloatVector.zero(S);
        } else {
            s00 = FloatVector.fromArray(S, init, i0 + ov);
            s01 = FloatVector.fromArray(S, init, i0 + ov + L);
            s10 = FloatVector.fromArray(S, init, i1 + ov);
            s11 = FloatVector.fromArray(S, init, i1 + ov + L);
            s20 = FloatVector.fromArray(S, init, i2 + ov);
            s21 = FloatVector.fromArray(S, init, i2 + ov + L);
            s30 = FloatVector.fromArray(S, init, i3 + ov);
            s31 = FloatVector.fromArray(S, init, i3 + ov + L);
        }
        for (int kk = 0, w = wo + v; kk < k; kk++, w += PANEL) {
            FloatVector w0 = FloatVector.fromArray(S, wp, w), w1 = FloatVector.fromArray(S, wp, w + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
            s00 = w0.fma(x, s00);
            s01 = w1.fma(x, s01);
            x = FloatVector.broadcast(S, a[a1 + kk]);
            s10 = w0.fma(x, s10);
            s11 = w1.fma(x, s11);
            x = FloatVector.broadcast(S, a[a2 + kk]);
            s20 = w0.fma(x, s20);
            s21 = w1.fma(x, s21);
            x = FloatVector.broadcast(S, a[a3 + kk]);
            s30 = w0.fma(x, s30);
            s31 = w1.fma(x, s31);
        }
        s00.intoArray(c, c0 + ov);
        s01.intoArray(c, c0 + ov + L);
        s10.intoArray(c, c1 + ov);
        s11.intoArray(c, c1 + ov + L);
        s20.intoArray(c, c2 + ov);
        s21.intoArray(c, c2 + ov + L);
        s30.intoArray(c, c3 + ov);
        s31.intoArray(c, c3 + ov + L);
    }

    /**
     * Six rows by two vectors of a panel (at {@code wo}, outputs {@code o}): 12 accumulators, 2 weight vectors
     * and a broadcast, 15 registers. Each output's sum is the same chain of FMAs in the same order as in
     * {@link #panel4x4}: the same bits.
     */
    private static void panel6x2(float[] wp, int wo, int k, float[] a, int a0, int a1, int a2, int a3, int a4, int a5,
            float[] c, int c0, int c1, int c2, int c3, int c4, int c5, float[] init, int i0, int i1, int i2, int i3,
            int i4, int i5, int o) {
        FloatVector s00, s01, s10, s11, s20, s21, s30, s31, s40, s41, s50, s51;
        if (init == null) {
            s00 = s01 = s10 = s11 = s20 = s21 = s30 = s31 = s40 = s41 = s50 = s51 = FloatVector.zero(S);
        } else {
            s00 = FloatVector.fromArray(S, init, i0 + o);
            s01 = FloatVector.fromArray(S, init, i0 + o + L);
            s10 = FloatVector.fromArray(S, init, i1 + o);
            s11 = FloatVector.fromArray(S, init, i1 + o + L);
            s20 = FloatVector.fromArray(S, init, i2 + o);
            s21 = FloatVector.fromArray(S, init, i2 + o + L);
            s30 = FloatVector.fromArray(S, init, i3 + o);
            s31 = FloatVector.fromArray(S, init, i3 + o + L);
            s40 = FloatVector.fromArray(S, init, i4 + o);
            s41 = FloatVector.fromArray(S, init, i4 + o + L);
            s50 = FloatVector.fromArray(S, init, i5 + o);
            s51 = FloatVector.fromArray(S, init, i5 + o + L);
        }
        for (int kk = 0; kk < k; kk++, wo += PANEL) {
            FloatVector w0 = FloatVector.fromArray(S, wp, wo), w1 = FloatVector.fromArray(S, wp, wo + L);
            FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
            s00 = w0.fma(x, s00);
            s01 = w1.fma(x, s01);
            x = FloatVector.broadcast(S, a[a1 + kk]);
            s10 = w0.fma(x, s10);
            s11 = w1.fma(x, s11);
            x = FloatVector.broadcast(S, a[a2 + kk]);
            s20 = w0.fma(x, s20);
            s21 = w1.fma(x, s21);
            x = FloatVector.broadcast(S, a[a3 + kk]);
            s30 = w0.fma(x, s30);
            s31 = w1.fma(x, s31);
            x = FloatVector.broadcast(S, a[a4 + kk]);
            s40 = w0.fma(x, s40);
            s41 = w1.fma(x, s41);
            x = FloatVector.broadcast(S, a[a5 + kk]);
            s50 = w0.fma(x, s50);
            s51 = w1.fma(x, s51);
        }
        s00.intoArray(c, c0 + o);
        s01.intoArray(c, c0 + o + L);
        s10.intoArray(c, c1 + o);
        s11.intoArray(c, c1 + o + L);
        s20.intoArray(c, c2 + o);
        s21.intoArray(c, c2 + o + L);
        s30.intoArray(c, c3 + o);
        s31.intoArray(c, c3 + o + L);
        s40.intoArray(c, c4 + o);
        s41.intoArray(c, c4 + o + L);
        s50.intoArray(c, c5 + o);
        s51.intoArray(c, c5 + o + L);
    }

    /** Two panels (at {@code wo} and {@code wq}, outputs {@code o} and {@code q}) for one row; null init: zeros. */
    private static void panel1x8(float[] wp, int wo, int wq, int k, float[] a, int a0, float[] c, int c0,
            float[] init, int i0, int o, int q) {
        FloatVector s0, s1, s2, s3, t0, t1, t2, t3;
        if (init == null) {
            s0 = s1 = s2 = s3 = t0 = t1 = t2 = t3 = FloatVector.zero(S);
        } else {
            s0 = FloatVector.fromArray(S, init, i0 + o);
            s1 = FloatVector.fromArray(S, init, i0 + o + L);
            s2 = FloatVector.fromArray(S, init, i0 + o + 2 * L);
            s3 = FloatVector.fromArray(S, init, i0 + o + 3 * L);
            t0 = FloatVector.fromArray(S, init, i0 + q);
            t1 = FloatVector.fromArray(S, init, i0 + q + L);
            t2 = FloatVector.fromArray(S, init, i0 + q + 2 * L);
            t3 = FloatVector.fromArray(S, init, i0 + q + 3 * L);
        }
        for (int kk = 0; kk < k; kk++, wo += PANEL, wq += PANEL) {
            FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
            s0 = FloatVector.fromArray(S, wp, wo).fma(x, s0);
            s1 = FloatVector.fromArray(S, wp, wo + L).fma(x, s1);
            s2 = FloatVector.fromArray(S, wp, wo + 2 * L).fma(x, s2);
            s3 = FloatVector.fromArray(S, wp, wo + 3 * L).fma(x, s3);
            t0 = FloatVector.fromArray(S, wp, wq).fma(x, t0);
            t1 = FloatVector.fromArray(S, wp, wq + L).fma(x, t1);
            t2 = FloatVector.fromArray(S, wp, wq + 2 * L).fma(x, t2);
            t3 = FloatVector.fromArray(S, wp, wq + 3 * L).fma(x, t3);
        }
        s0.intoArray(c, c0 + o);
        s1.intoArray(c, c0 + o + L);
        s2.intoArray(c, c0 + o + 2 * L);
        s3.intoArray(c, c0 + o + 3 * L);
        t0.intoArray(c, c0 + q);
        t1.intoArray(c, c0 + q + L);
        t2.intoArray(c, c0 + q + 2 * L);
        t3.intoArray(c, c0 + q + 3 * L);
    }

    private static void panel1x4(float[] wp, int wo, int k, float[] a, int a0, float[] c, int c0,
            float[] init, int i0, int o) {
        FloatVector s0, s1, s2, s3;
        if (init == null) {
            s0 = s1 = s2 = s3 = FloatVector.zero(S);
        } else {
            s0 = FloatVector.fromArray(S, init, i0 + o);
            s1 = FloatVector.fromArray(S, init, i0 + o + L);
            s2 = FloatVector.fromArray(S, init, i0 + o + 2 * L);
            s3 = FloatVector.fromArray(S, init, i0 + o + 3 * L);
        }
        for (int kk = 0; kk < k; kk++, wo += PANEL) {
            FloatVector x = FloatVector.broadcast(S, a[a0 + kk]);
            s0 = FloatVector.fromArray(S, wp, wo).fma(x, s0);
            s1 = FloatVector.fromArray(S, wp, wo + L).fma(x, s1);
            s2 = FloatVector.fromArray(S, wp, wo + 2 * L).fma(x, s2);
            s3 = FloatVector.fromArray(S, wp, wo + 3 * L).fma(x, s3);
        }
        s0.intoArray(c, c0 + o);
        s1.intoArray(c, c0 + o + L);
        s2.intoArray(c, c0 + o + 2 * L);
        s3.intoArray(c, c0 + o + 3 * L);
    }

    /** One vector of outputs for four rows; the vector at {@code limit} is masked. */
    private static void panel4x1(float[] wp, int wo, int pw, int k, float[] a, int a0, int a1, int a2, int a3,
            float[] c, int c0, int c1, int c2, int c3, float[] init, int i0, int i1, int i2, int i3, int o, int limit) {
        VectorMask<Float> m = S.indexInRange(o, limit);
        FloatVector s0, s1, s2, s3;
        if (init == null) {
            s0 = s1 = s2 = s3 = FloatVector.zero(S);
        } else {
            s0 = FloatVector.fromArray(S, init, i0 + o, m);
            s1 = FloatVector.fromArray(S, init, i1 + o, m);
            s2 = FloatVector.fromArray(S, init, i2 + o, m);
            s3 = FloatVector.fromArray(S, init, i3 + o, m);
        }
        for (int kk = 0; kk < k; kk++, wo += pw) {
            FloatVector w0 = FloatVector.fromArray(S, wp, wo);
            s0 = w0.fma(FloatVector.broadcast(S, a[a0 + kk]), s0);
            s1 = w0.fma(FloatVector.broadcast(S, a[a1 + kk]), s1);
            s2 = w0.fma(FloatVector.broadcast(S, a[a2 + kk]), s2);
            s3 = w0.fma(FloatVector.broadcast(S, a[a3 + kk]), s3);
        }
        s0.intoArray(c, c0 + o, m);
        s1.intoArray(c, c1 + o, m);
        s2.intoArray(c, c2 + o, m);
        s3.intoArray(c, c3 + o, m);
    }

    /** One vector of outputs for one row; the vector at {@code limit} is masked. */
    private static void panel1x1(float[] wp, int wo, int pw, int k, float[] a, int a0, float[] c, int c0,
            float[] init, int i0, int o, int limit) {
        VectorMask<Float> m = S.indexInRange(o, limit);
        FloatVector s0 = init == null ? FloatVector.zero(S) : FloatVector.fromArray(S, init, i0 + o, m);
        for (int kk = 0; kk < k; kk++, wo += pw) {
            s0 = FloatVector.fromArray(S, wp, wo).fma(FloatVector.broadcast(S, a[a0 + kk]), s0);
        }
        s0.intoArray(c, c0 + o, m);
    }

    /**
     * The weight-gradient product {@code st[kk*ldSt + g] += sum_rows A[row][kk] * G[row][g]} for
     * {@code kk < kDim}, {@code g < gWidth} (a multiple of {@link #L}), over every valid {@code (t, b)} with
     * {@code t} in {@code [t0, t1)}, rows in order. Row blocks of a few steps keep the block of {@code G}
     * in cache while all of {@code kDim} passes over it; the accumulators live in {@code st} between blocks,
     * so every element still sums its rows in one fixed order.
     */
    static void outer(float[] st, int stOff, int ldSt, int kDim, int gWidth, int[] lengths, int seqLen, int batch,
            int t0, int t1,
            float[] a, int aBase, int aTs, int aBs,
            float[] g, int gBase, int gTs, int gBs) {
        int tBlock = Math.max(1, 64 / batch);
        for (int tb = t0; tb < t1; tb += tBlock) {
            int te = Math.min(t1, tb + tBlock);
            for (int g0 = 0; g0 < gWidth; g0 += PANEL) {
                boolean full = g0 + PANEL <= gWidth;
                int kk = 0;
                if (full && FEW_REGISTERS) {
                    for (; kk + 6 <= kDim; kk += 6) {
                        for (int v = 0; v < PANEL; v += 2 * L) {
                            outer6x2(st, stOff + kk * ldSt + g0 + v, ldSt, lengths, batch, tb, te, a, aBase + kk,
                                    aTs, aBs, g, gBase + g0 + v, gTs, gBs);
                        }
                    }
                }
                if (full) {
                    for (; kk + 4 <= kDim; kk += 4) {
                        if (FEW_REGISTERS) {
                            for (int v = 0; v < PANEL; v += 2 * L) {
                                outer4x2(st, stOff + kk * ldSt + g0 + v, ldSt, lengths, batch, tb, te, a, aBase + kk,
                                        aTs, aBs, g, gBase + g0 + v, gTs, gBs);
                            }
                        } else {
                            outer4x4(st, stOff + kk * ldSt + g0, ldSt, lengths, seqLen, batch, tb, te, a, aBase + kk,
                                    aTs, aBs, g, gBase + g0, gTs, gBs);
                        }
                    }
                }
                for (; kk < kDim; kk++) {
                    for (int v = g0; v < Math.min(gWidth, g0 + PANEL); v += L) {
                        outer1x1(st, stOff + kk * ldSt + v, lengths, seqLen, batch, tb, te, a, aBase + kk, aTs, aBs,
                                g, gBase + v, gTs, gBs);
                    }
                }
            }
        }
    }

    private static void outer4x4(float[] st, int so, int ld, int[] lengths, int seqLen, int batch, int t0, int t1,
            float[] a, int aBase, int aTs, int aBs, float[] g, int gBase, int gTs, int gBs) {
        FloatVector s00 = FloatVector.fromArray(S, st, so), s01 = FloatVector.fromArray(S, st, so + L),
                s02 = FloatVector.fromArray(S, st, so + 2 * L), s03 = FloatVector.fromArray(S, st, so + 3 * L);
        FloatVector s10 = FloatVector.fromArray(S, st, so + ld), s11 = FloatVector.fromArray(S, st, so + ld + L),
                s12 = FloatVector.fromArray(S, st, so + ld + 2 * L), s13 = FloatVector.fromArray(S, st, so + ld + 3 * L);
        FloatVector s20 = FloatVector.fromArray(S, st, so + 2 * ld), s21 = FloatVector.fromArray(S, st, so + 2 * ld + L),
                s22 = FloatVector.fromArray(S, st, so + 2 * ld + 2 * L),
                s23 = FloatVector.fromArray(S, st, so + 2 * ld + 3 * L);
        FloatVector s30 = FloatVector.fromArray(S, st, so + 3 * ld), s31 = FloatVector.fromArray(S, st, so + 3 * ld + L),
                s32 = FloatVector.fromArray(S, st, so + 3 * ld + 2 * L),
                s33 = FloatVector.fromArray(S, st, so + 3 * ld + 3 * L);
        for (int t = t0; t < t1; t++) {
            for (int b = 0; b < batch; b++) {
                if (lengths != null && t >= lengths[b]) {
                    continue;
                }
                int ao = aBase + t * aTs + b * aBs, go = gBase + t * gTs + b * gBs;
                FloatVector w0 = FloatVector.fromArray(S, g, go), w1 = FloatVector.fromArray(S, g, go + L),
                        w2 = FloatVector.fromArray(S, g, go + 2 * L), w3 = FloatVector.fromArray(S, g, go + 3 * L);
                FloatVector x = FloatVector.broadcast(S, a[ao]);
                s00 = w0.fma(x, s00);
                s01 = w1.fma(x, s01);
                s02 = w2.fma(x, s02);
                s03 = w3.fma(x, s03);
                x = FloatVector.broadcast(S, a[ao + 1]);
                s10 = w0.fma(x, s10);
                s11 = w1.fma(x, s11);
                s12 = w2.fma(x, s12);
                s13 = w3.fma(x, s13);
                x = FloatVector.broadcast(S, a[ao + 2]);
                s20 = w0.fma(x, s20);
                s21 = w1.fma(x, s21);
                s22 = w2.fma(x, s22);
                s23 = w3.fma(x, s23);
                x = FloatVector.broadcast(S, a[ao + 3]);
                s30 = w0.fma(x, s30);
                s31 = w1.fma(x, s31);
                s32 = w2.fma(x, s32);
                s33 = w3.fma(x, s33);
            }
        }
        s00.intoArray(st, so);
        s01.intoArray(st, so + L);
        s02.intoArray(st, so + 2 * L);
        s03.intoArray(st, so + 3 * L);
        s10.intoArray(st, so + ld);
        s11.intoArray(st, so + ld + L);
        s12.intoArray(st, so + ld + 2 * L);
        s13.intoArray(st, so + ld + 3 * L);
        s20.intoArray(st, so + 2 * ld);
        s21.intoArray(st, so + 2 * ld + L);
        s22.intoArray(st, so + 2 * ld + 2 * L);
        s23.intoArray(st, so + 2 * ld + 3 * L);
        s30.intoArray(st, so + 3 * ld);
        s31.intoArray(st, so + 3 * ld + L);
        s32.intoArray(st, so + 3 * ld + 2 * L);
        s33.intoArray(st, so + 3 * ld + 3 * L);
    }

    /**
     * {@link #outer4x4} for half a panel of columns (two vectors): 11 registers where 16 exist (AVX2); the
     * rows go through in the same order, so every element sums the same terms in the same order.
     */
    private static void outer4x2(float[] st, int so, int ld, int[] lengths, int batch, int t0, int t1,
            float[] a, int aBase, int aTs, int aBs, float[] g, int gBase, int gTs, int gBs) {
        FloatVector s00 = FloatVector.fromArray(S, st, so), s01 = FloatVector.fromArray(S, st, so + L);
        FloatVector s10 = FloatVector.fromArray(S, st, so + ld), s11 = FloatVector.fromArray(S, st, so + ld + L);
        FloatVector s20 = FloatVector.fromArray(S, st, so + 2 * ld), s21 = FloatVector.fromArray(S, st, so + 2 * ld + L);
        FloatVector s30 = FloatVector.fromArray(S, st, so + 3 * ld), s31 = FloatVector.fromArray(S, st, so + 3 * ld + L);
        for (int t = t0; t < t1; t++) {
            for (int b = 0; b < batch; b++) {
                if (lengths != null && t >= lengths[b]) {
                    continue;
                }
                int ao = aBase + t * aTs + b * aBs, go = gBase + t * gTs + b * gBs;
                FloatVector w0 = FloatVector.fromArray(S, g, go), w1 = FloatVector.fromArray(S, g, go + L);
                FloatVector x = FloatVector.broadcast(S, a[ao]);
                s00 = w0.fma(x, s00);
                s01 = w1.fma(x, s01);
                x = FloatVector.broadcast(S, a[ao + 1]);
                s10 = w0.fma(x, s10);
                s11 = w1.fma(x, s11);
                x = FloatVector.broadcast(S, a[ao + 2]);
                s20 = w0.fma(x, s20);
                s21 = w1.fma(x, s21);
                x = FloatVector.broadcast(S, a[ao + 3]);
                s30 = w0.fma(x, s30);
                s31 = w1.fma(x, s31);
            }
        }
        s00.intoArray(st, so);
        s01.intoArray(st, so + L);
        s10.intoArray(st, so + ld);
        s11.intoArray(st, so + ld + L);
        s20.intoArray(st, so + 2 * ld);
        s21.intoArray(st, so + 2 * ld + L);
        s30.intoArray(st, so + 3 * ld);
        s31.intoArray(st, so + 3 * ld + L);
    }

    /** {@link #outer4x2} for six rows of {@code st}: 12 accumulators, 15 registers, enough FMA chains for AVX2. */
    private static void outer6x2(float[] st, int so, int ld, int[] lengths, int batch, int t0, int t1,
            float[] a, int aBase, int aTs, int aBs, float[] g, int gBase, int gTs, int gBs) {
        FloatVector s00 = FloatVector.fromArray(S, st, so), s01 = FloatVector.fromArray(S, st, so + L);
        FloatVector s10 = FloatVector.fromArray(S, st, so + ld), s11 = FloatVector.fromArray(S, st, so + ld + L);
        FloatVector s20 = FloatVector.fromArray(S, st, so + 2 * ld), s21 = FloatVector.fromArray(S, st, so + 2 * ld + L);
        FloatVector s30 = FloatVector.fromArray(S, st, so + 3 * ld), s31 = FloatVector.fromArray(S, st, so + 3 * ld + L);
        FloatVector s40 = FloatVector.fromArray(S, st, so + 4 * ld), s41 = FloatVector.fromArray(S, st, so + 4 * ld + L);
        FloatVector s50 = FloatVector.fromArray(S, st, so + 5 * ld), s51 = FloatVector.fromArray(S, st, so + 5 * ld + L);
        for (int t = t0; t < t1; t++) {
            for (int b = 0; b < batch; b++) {
                if (lengths != null && t >= lengths[b]) {
                    continue;
                }
                int ao = aBase + t * aTs + b * aBs, go = gBase + t * gTs + b * gBs;
                FloatVector w0 = FloatVector.fromArray(S, g, go), w1 = FloatVector.fromArray(S, g, go + L);
                FloatVector x = FloatVector.broadcast(S, a[ao]);
                s00 = w0.fma(x, s00);
                s01 = w1.fma(x, s01);
                x = FloatVector.broadcast(S, a[ao + 1]);
                s10 = w0.fma(x, s10);
                s11 = w1.fma(x, s11);
                x = FloatVector.broadcast(S, a[ao + 2]);
                s20 = w0.fma(x, s20);
                s21 = w1.fma(x, s21);
                x = FloatVector.broadcast(S, a[ao + 3]);
                s30 = w0.fma(x, s30);
                s31 = w1.fma(x, s31);
                x = FloatVector.broadcast(S, a[ao + 4]);
                s40 = w0.fma(x, s40);
                s41 = w1.fma(x, s41);
                x = FloatVector.broadcast(S, a[ao + 5]);
                s50 = w0.fma(x, s50);
                s51 = w1.fma(x, s51);
            }
        }
        s00.intoArray(st, so);
        s01.intoArray(st, so + L);
        s10.intoArray(st, so + ld);
        s11.intoArray(st, so + ld + L);
        s20.intoArray(st, so + 2 * ld);
        s21.intoArray(st, so + 2 * ld + L);
        s30.intoArray(st, so + 3 * ld);
        s31.intoArray(st, so + 3 * ld + L);
        s40.intoArray(st, so + 4 * ld);
        s41.intoArray(st, so + 4 * ld + L);
        s50.intoArray(st, so + 5 * ld);
        s51.intoArray(st, so + 5 * ld + L);
    }

    private static void outer1x1(float[] st, int so, int[] lengths, int seqLen, int batch, int t0, int t1,
            float[] a, int aBase, int aTs, int aBs, float[] g, int gBase, int gTs, int gBs) {
        FloatVector s0 = FloatVector.fromArray(S, st, so);
        for (int t = t0; t < t1; t++) {
            for (int b = 0; b < batch; b++) {
                if (lengths != null && t >= lengths[b]) {
                    continue;
                }
                s0 = FloatVector.fromArray(S, g, gBase + t * gTs + b * gBs)
                        .fma(FloatVector.broadcast(S, a[aBase + t * aTs + b * aBs]), s0);
            }
        }
        s0.intoArray(st, so);
    }

    /** {@code sum[o] += sum_rows G[row][o]} for {@code o < width} (a multiple of {@link #L}), rows as in {@link #outer}. */
    static void columnSums(float[] sum, int sOff, int width, int[] lengths, int batch, int t0, int t1,
            float[] g, int gBase, int gTs, int gBs) {
        for (int o = 0; o < width; o += L) {
            FloatVector acc = FloatVector.fromArray(S, sum, sOff + o);
            for (int t = t0; t < t1; t++) {
                for (int b = 0; b < batch; b++) {
                    if (lengths == null || t < lengths[b]) {
                        acc = acc.add(FloatVector.fromArray(S, g, gBase + t * gTs + b * gBs + o));
                    }
                }
            }
            acc.intoArray(sum, sOff + o);
        }
    }

    /**
     * {@code c[cOff + o] = init[o] + W[o][kk]} for every {@code o < nP} (null {@code init}: {@code +0}): the
     * product {@link #gemm} computes for a one-hot row {@code A[r] = e_kk}, without its zero terms. The
     * same bits for finite weights: each lane of {@code gemm} starts at its init value and adds
     * {@code A[r][j] * W[o][j]} by FMA, which for {@code A[r][j] = 0} adds an exact zero (changing nothing
     * but the sign of a zero sum) and for {@code A[r][kk] = 1} is this one rounded addition. Column
     * {@code kk} of a panel of width {@code pw} is {@code pw} consecutive floats; {@code nP} is a multiple
     * of {@link #L} (padded gate rows).
     */
    static void column(Packed w, int kk, float[] init, float[] c, int cOff) {
        float[] wp = w.data();
        int k = w.k(), nP = w.nP();
        for (int o0 = 0; o0 < nP; o0 += PANEL) {
            int pw = Math.min(PANEL, nP - o0), base = o0 * k + kk * pw;
            for (int v = 0; v < pw; v += L) {
                FloatVector acc = init == null ? FloatVector.zero(S) : FloatVector.fromArray(S, init, o0 + v);
                acc.add(FloatVector.fromArray(S, wp, base + v)).intoArray(c, cOff + o0 + v);
            }
        }
    }

    // ---- small helpers ---------------------------------------------------------------------------------

    /** {@code y[yo + i] += x[xo + i]} for {@code i < n} (any n). */
    static void addInto(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (int bound = S.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(S, y, yo + i).add(FloatVector.fromArray(S, x, xo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) {
            y[yo + i] += x[xo + i];
        }
    }

    /** {@code a[off .. off+n) = 0}. */
    static void zero(float[] a, int off, int n) {
        java.util.Arrays.fill(a, off, off + n, 0f);
    }

    // ---- activations -----------------------------------------------------------------------------------

    private static final double LOG2E = 1.4426950408889634;
    private static final double LN2_HI = 0.6931471803691238, LN2_LO = 1.9082149292705877e-10;
    /** 1.5 * 2^52: adding it rounds a double of magnitude below 2^51 to an integer held in the low mantissa bits. */
    private static final double ROUND = 6755399441055744.0;
    /**
     * {@code exp(r) = 1 + r + r^2 (C2 + C3 r + ... + C8 r^6)} on {@code |r| <= ln2/2}: a least-squares fit
     * in relative error (Lawson iterations on 400 Chebyshev points in 40-digit arithmetic), relative error
     * 1.1e-12 with these double coefficients: 2e4 times below a float's half ulp.
     */
    private static final double C2 = 0.5000000000426876, C3 = 0.16666666784452708, C4 = 0.041666664404814334,
            C5 = 0.00833328180564373, C6 = 0.0013889197161142085, C7 = 0.00019908940244287157,
            C8 = 2.4708277504257744e-05;

    // Both activations evaluate exp in double with the same steps, written out in each loop rather than
    // in a helper: a helper taking a vector would box it whenever C2 declines to inline it.
    //   y = k ln2 + r (k = round(y log2 e), r by Cody-Waite with ln2 in two parts, |r| <= ln2/2 + tiny)
    //   pm1 = exp(r) - 1 = r (1 + r (C2 + ... ))
    //   2^k = ((k + 1023) mod 4096) << 52, read from the low bits of y log2 e + ROUND (|k| <= 1010 here)
    //   exp(y) = 2^k pm1 + 2^k, expm1(y) = 2^k pm1 + (2^k - 1), each one FMA (2^k - 1 is exact)

    /**
     * {@code dst[do + i] = 1 / (1 + exp(-src[so + i]))} for {@code i < n}, {@code n} a multiple of {@link #L};
     * in place when the ranges coincide. Evaluated in double from {@code exp} with relative error about
     * 1e-12 and rounded once: the correctly rounded float except at a few near-ties per million (then one
     * ulp off, either way). NaN stays NaN; the argument is clamped to [-700, 700], where the result has
     * long saturated (0 or 1 in float; 1e-304 in double).
     */
    static void sigmoid(float[] src, int so, float[] dst, int dOff, int n) {
        assert n % L == 0 : n;
        DoubleVector log2e = DoubleVector.broadcast(D, LOG2E), round = DoubleVector.broadcast(D, ROUND),
                ln2hi = DoubleVector.broadcast(D, -LN2_HI), ln2lo = DoubleVector.broadcast(D, -LN2_LO),
                one = DoubleVector.broadcast(D, 1.0), c2 = DoubleVector.broadcast(D, C2),
                c3 = DoubleVector.broadcast(D, C3), c4 = DoubleVector.broadcast(D, C4), c5 = DoubleVector.broadcast(D, C5),
                c6 = DoubleVector.broadcast(D, C6), c7 = DoubleVector.broadcast(D, C7), c8 = DoubleVector.broadcast(D, C8);
        for (int i = 0; i < n; i += L) {
            FloatVector v = FloatVector.fromArray(S, src, so + i);
            // clamped to [-700, 700] in float, by compare and blend: the same values as clamping the doubles
            // (widening is exact), NaN kept, and on AVX2 a fraction of the cost of min/max, whose Java
            // semantics (NaN, -0) take a sequence of blends per half (measured: rnn-bench/RESULTS.md,
            // "The table at `2a7d8ef`")
            v = v.blend(700f, v.compare(VectorOperators.GT, 700f)).blend(-700f, v.compare(VectorOperators.LT, -700f));
            // the two halves of v, widened to double, side by side (written out: no helper, see above)
            DoubleVector y0 = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 0)).neg();
            DoubleVector y1 = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 1)).neg();
            DoubleVector kr0 = y0.fma(log2e, round), kr1 = y1.fma(log2e, round);
            DoubleVector k0 = kr0.sub(round), k1 = kr1.sub(round);
            DoubleVector r0 = k0.fma(ln2lo, k0.fma(ln2hi, y0));
            DoubleVector q0 = c8.fma(r0, c7).fma(r0, c6).fma(r0, c5).fma(r0, c4).fma(r0, c3).fma(r0, c2).fma(r0, one);
            DoubleVector scale0 = kr0.reinterpretAsLongs().add(1023L).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
            DoubleVector r1 = k1.fma(ln2lo, k1.fma(ln2hi, y1));
            DoubleVector q1 = c8.fma(r1, c7).fma(r1, c6).fma(r1, c5).fma(r1, c4).fma(r1, c3).fma(r1, c2).fma(r1, one);
            DoubleVector scale1 = kr1.reinterpretAsLongs().add(1023L).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
            DoubleVector e0 = q0.mul(r0).fma(scale0, scale0), e1 = q1.mul(r1).fma(scale1, scale1);
            FloatVector lo = (FloatVector) one.div(e0.add(one)).convertShape(VectorOperators.D2F, S, 0);
            FloatVector hi = (FloatVector) one.div(e1.add(one)).convertShape(VectorOperators.D2F, S, -1);
            lo.blend(hi, HIGH).intoArray(dst, dOff + i);
        }
    }

    /**
     * {@code dst[do + i] = tanh(src[so + i])} for {@code i < n}, {@code n} a multiple of {@link #L}; in place
     * when the ranges coincide. {@code tanh(x) = sign(x) * (-m / (2 + m))} with {@code m = expm1(-2|x|)}
     * in double (no cancellation near 0), |x| capped at 10 (tanh rounds to 1 in float from 9.01 on), then
     * rounded once: correctly rounded but for rare one-ulp near-ties; signed zeros kept, NaN stays NaN.
     */
    static void tanh(float[] src, int so, float[] dst, int dOff, int n) {
        assert n % L == 0 : n;
        DoubleVector log2e = DoubleVector.broadcast(D, LOG2E), round = DoubleVector.broadcast(D, ROUND),
                ln2hi = DoubleVector.broadcast(D, -LN2_HI), ln2lo = DoubleVector.broadcast(D, -LN2_LO),
                one = DoubleVector.broadcast(D, 1.0), c2 = DoubleVector.broadcast(D, C2),
                c3 = DoubleVector.broadcast(D, C3), c4 = DoubleVector.broadcast(D, C4), c5 = DoubleVector.broadcast(D, C5),
                c6 = DoubleVector.broadcast(D, C6), c7 = DoubleVector.broadcast(D, C7), c8 = DoubleVector.broadcast(D, C8);
        for (int i = 0; i < n; i += L) {
            FloatVector v = FloatVector.fromArray(S, src, so + i);
            LongVector bits0 = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 0)).reinterpretAsLongs();
            LongVector bits1 = ((DoubleVector) v.convertShape(VectorOperators.F2D, D, 1)).reinterpretAsLongs();
            // |x| capped at 10 in float by compare and blend (as in sigmoid: same values, NaN kept, cheaper)
            FloatVector ax = v.abs();
            ax = ax.blend(10f, ax.compare(VectorOperators.GT, 10f));
            DoubleVector y0 = ((DoubleVector) ax.convertShape(VectorOperators.F2D, D, 0)).mul(-2.0);
            DoubleVector y1 = ((DoubleVector) ax.convertShape(VectorOperators.F2D, D, 1)).mul(-2.0);
            DoubleVector kr0 = y0.fma(log2e, round), kr1 = y1.fma(log2e, round);
            DoubleVector k0 = kr0.sub(round), k1 = kr1.sub(round);
            DoubleVector r0 = k0.fma(ln2lo, k0.fma(ln2hi, y0));
            DoubleVector q0 = c8.fma(r0, c7).fma(r0, c6).fma(r0, c5).fma(r0, c4).fma(r0, c3).fma(r0, c2).fma(r0, one);
            DoubleVector scale0 = kr0.reinterpretAsLongs().add(1023L).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
            DoubleVector r1 = k1.fma(ln2lo, k1.fma(ln2hi, y1));
            DoubleVector q1 = c8.fma(r1, c7).fma(r1, c6).fma(r1, c5).fma(r1, c4).fma(r1, c3).fma(r1, c2).fma(r1, one);
            DoubleVector scale1 = kr1.reinterpretAsLongs().add(1023L).lanewise(VectorOperators.LSHL, 52).reinterpretAsDoubles();
            DoubleVector m0 = q0.mul(r0).fma(scale0, scale0.sub(one)), m1 = q1.mul(r1).fma(scale1, scale1.sub(one));
            DoubleVector t0 = m0.div(m0.add(2.0)), t1 = m1.div(m1.add(2.0)); // -tanh(|x|), or -0
            DoubleVector th0 = t0.reinterpretAsLongs().and(Long.MAX_VALUE).or(bits0.and(Long.MIN_VALUE)).reinterpretAsDoubles();
            DoubleVector th1 = t1.reinterpretAsLongs().and(Long.MAX_VALUE).or(bits1.and(Long.MIN_VALUE)).reinterpretAsDoubles();
            FloatVector lo = (FloatVector) th0.convertShape(VectorOperators.D2F, S, 0);
            FloatVector hi = (FloatVector) th1.convertShape(VectorOperators.D2F, S, -1);
            lo.blend(hi, HIGH).intoArray(dst, dOff + i);
        }
    }
}
