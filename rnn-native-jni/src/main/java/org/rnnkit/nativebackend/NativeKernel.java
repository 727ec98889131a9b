package org.rnnkit.nativebackend;

import java.lang.ref.Reference;
import java.util.Objects;
import org.rnnkit.nn.CellType;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;

/**
 * What every native kernel shares: the checks, then one JNI call per layer-sequence. The work is done
 * in C ({@code src/main/c/rk_driver.c}); the cell types differ only in their type code and their tape.
 *
 * <h2>Forward</h2>
 * (1) {@code gx = X W_ih^T + b} for every valid {@code (t, b)}: one product over all of them with our packed
 * register-blocked kernel. (2) Step by step, the rows still running (longest rows first), a block of up to
 * 64 rows at a time: {@code gx += H W_hh^T} in place (a mat-vec at batch 1, over weights packed at
 * prepare time), then the gate equations on each row while it is in cache. From batch 16 on, (1) runs
 * inside (2) instead, each step's rows just before their recurrent product, so the gates stay in cache. Every product adds its terms
 * in one fixed order per output, so a row's result does not depend on the other rows or on how the
 * sequence is split into chunks: streaming gives the bits of a one-shot run.
 *
 * <h2>Backward</h2>
 * Back in time: per row the gate gradients from the tape, fused, then {@code dh_prev = dG W_hh} for the
 * block of rows with the packed kernel. Then OpenBLAS {@code sgemm}: {@code dW_ih += dG^T X},
 * {@code dW_hh += dG_h^T H_prev} and {@code dW_hr += dH^T R} as one sum over every step each (on fixed
 * tiles of the result), and {@code dx += dG W_ih}.
 *
 * <h2>Threads</h2>
 * With more than one thread (see {@link NativeBackend#withThreads}), phases of at least 2 x 16 million
 * multiply-adds split: the input projection by time (when it runs apart), both recurrences by blocks of batch rows (each part
 * owns its rows for the whole sequence), and the backward products by their fixed tiles. When the rows do
 * not split (batch 1-4 at least), an inference call whose steps are large enough (196 608 recurrent multiply-adds a step, no
 * projection) splits each step by hidden units, the threads meeting once per step. Every part computes
 * what the serial call computes for those outputs, in the same order, so the results are bit-identical
 * for every thread count.
 *
 * <h2>Checks</h2>
 * The layer API validates every argument before a kernel runs; these methods check again, cheaply and
 * once per call, everything the native code will index (sizes, offsets, strides, array lengths), and
 * the native side checks the array lengths once more before it pins anything. No input reaches native
 * code unchecked.
 *
 * <p>Thread safety: stateless; each call works in its own workspace, tape and outputs.
 */
abstract class NativeKernel implements RecurrentKernel {
    /** Type codes of {@code rk.h}. */
    static final int RNN_TANH = 0, RNN_RELU = 1, LSTM = 2, GRU = 3;

    /** Up to this many threads per call (1: the calling thread only). */
    private final int threads;

    NativeKernel(int threads) {
        this.threads = threads;
    }

    /** This kernel's type code. */
    abstract int typeCode();

    /** The cell type this kernel runs. */
    abstract CellType cellType();

    private void checkShape(KernelShape s) {
        Objects.requireNonNull(s, "shape: expected a KernelShape, got null");
        if (s.type() != cellType()) {
            throw new IllegalArgumentException("shape: a " + cellType() + " kernel got a " + s.type() + " shape");
        }
    }

    @Override
    public PreparedWeights prepare(KernelShape shape, DirectionWeights w) {
        checkShape(shape);
        Objects.requireNonNull(w, "weights: expected DirectionWeights, got null");
        requireDirection("", w, shape);
        long handle = NativeMethods.prepare(typeCode(), shape.inputSize(), shape.hiddenSize(), shape.projSize(),
                shape.bias(), w.weightIh(), w.weightHh(), w.biasIh(), w.biasHh(), w.weightHr());
        return new NativeWeights(shape, handle);
    }

    @Override
    public long workspaceSize(KernelShape shape, int seqLen, int batch) {
        return size(shape, seqLen, batch, false);
    }

    @Override
    public long tapeSize(KernelShape shape, int seqLen, int batch) {
        return size(shape, seqLen, batch, true);
    }

    private long size(KernelShape s, int seqLen, int batch, boolean tape) {
        checkShape(s);
        if (seqLen < 0 || batch < 0) {
            throw new IllegalArgumentException("seqLen and batch: expected >= 0, got " + seqLen + ", " + batch);
        }
        return NativeMethods.size(typeCode(), s.inputSize(), s.hiddenSize(), s.projSize(), seqLen, batch, tape);
    }

    private NativeWeights weights(PreparedWeights prepared) {
        if (!(prepared instanceof NativeWeights w)) {
            throw new IllegalArgumentException("weights: expected weights prepared by the native backend, got "
                    + (prepared == null ? "null" : prepared.getClass().getName()));
        }
        checkShape(w.shape());
        return w;
    }

    @Override
    public void forward(PreparedWeights prepared, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff,
            float[] tape, int tapeOff,
            float[] ws, int wsOff) {
        NativeWeights w = weights(prepared);
        KernelShape s = w.shape();
        checkSizes(seqLen, batch, lengths);
        requireRows("x", x, xOff, xTimeStride, xBatchStride, seqLen, batch, s.inputSize());
        if (out != null) {
            requireRows("out", out, outOff, outTimeStride, outBatchStride, seqLen, batch, s.hOut());
        }
        requireRange("h", h, hOff, (long) batch * s.hOut());
        if (s.type() == CellType.LSTM) {
            requireRange("c", c, cOff, (long) batch * s.hiddenSize());
        }
        if (tape != null) {
            requireRange("tape", tape, tapeOff, tapeSize(s, seqLen, batch));
        }
        requireRange("ws", ws, wsOff, workspaceSize(s, seqLen, batch));
        try {
            NativeMethods.forward(w.handle, seqLen, batch, lengths, reverse, x, xOff, xTimeStride, xBatchStride,
                    out, outOff, outTimeStride, outBatchStride, h, hOff, c, cOff, tape, tapeOff, ws, wsOff, threads);
        } finally {
            Reference.reachabilityFence(w); // the packed weights must outlive the native call
        }
    }

    @Override
    public void backward(PreparedWeights prepared, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride,
            float[] dOut, int dOutOff, int dOutTimeStride, int dOutBatchStride,
            float[] dh, int dhOff, float[] dc, int dcOff,
            float[] dx, int dxOff, int dxTimeStride, int dxBatchStride,
            DirectionWeights grads,
            float[] tape, int tapeOff,
            float[] ws, int wsOff) {
        NativeWeights w = weights(prepared);
        KernelShape s = w.shape();
        checkSizes(seqLen, batch, lengths);
        requireRows("x", x, xOff, xTimeStride, xBatchStride, seqLen, batch, s.inputSize());
        if (dOut != null) {
            requireRows("dOut", dOut, dOutOff, dOutTimeStride, dOutBatchStride, seqLen, batch, s.hOut());
        }
        if (dx != null) {
            requireRows("dx", dx, dxOff, dxTimeStride, dxBatchStride, seqLen, batch, s.inputSize());
        }
        requireRange("dh", dh, dhOff, (long) batch * s.hOut());
        if (s.type() == CellType.LSTM) {
            requireRange("dc", dc, dcOff, (long) batch * s.hiddenSize());
        }
        Objects.requireNonNull(grads, "grads: expected gradient accumulators, got null");
        requireDirection("grads.", grads, s);
        requireRange("tape", tape, tapeOff, tapeSize(s, seqLen, batch));
        requireRange("ws", ws, wsOff, workspaceSize(s, seqLen, batch));
        try {
            NativeMethods.backward(w.handle, seqLen, batch, lengths, reverse, x, xOff, xTimeStride, xBatchStride,
                    dOut, dOutOff, dOutTimeStride, dOutBatchStride, dh, dhOff, dc, dcOff,
                    dx, dxOff, dxTimeStride, dxBatchStride,
                    grads.weightIh(), grads.weightHh(), grads.biasIh(), grads.biasHh(), grads.weightHr(),
                    tape, tapeOff, ws, wsOff, threads);
        } finally {
            Reference.reachabilityFence(w);
        }
    }

    // ---- checks ----------------------------------------------------------------------------------------

    /** The arrays of one direction's weights (or their gradients) have the lengths {@code s} needs. */
    private static void requireDirection(String prefix, DirectionWeights w, KernelShape s) {
        int rows = s.gateRows();
        requireLength(prefix + "weight_ih", w.weightIh(), (long) rows * s.inputSize());
        requireLength(prefix + "weight_hh", w.weightHh(), (long) rows * s.hOut());
        if (s.bias()) {
            requireLength(prefix + "bias_ih", w.biasIh(), rows);
            requireLength(prefix + "bias_hh", w.biasHh(), rows);
        }
        if (s.projSize() > 0) {
            requireLength(prefix + "weight_hr", w.weightHr(), (long) s.projSize() * s.hiddenSize());
        }
    }

    private static void checkSizes(int seqLen, int batch, int[] lengths) {
        if (seqLen < 1 || batch < 1) {
            throw new IllegalArgumentException("seqLen and batch: expected >= 1, got " + seqLen + ", " + batch);
        }
        if (lengths != null) {
            if (lengths.length != batch) {
                throw new IllegalArgumentException("lengths: expected " + batch + " values, got " + lengths.length);
            }
            for (int b = 0; b < batch; b++) {
                if (lengths[b] < 1 || lengths[b] > seqLen) {
                    throw new IllegalArgumentException("lengths[" + b + "]: expected 1.." + seqLen + ", got " + lengths[b]);
                }
            }
        }
    }

    private static void requireLength(String name, float[] a, long n) {
        if (a == null) {
            throw new NullPointerException(name + ": expected an array, got null");
        }
        if (a.length < n) {
            throw new IllegalArgumentException(name + ": expected " + n + " floats, got " + a.length);
        }
    }

    private static void requireRange(String name, float[] a, int off, long n) {
        if (a == null) {
            throw new NullPointerException(name + ": expected an array, got null");
        }
        if (off < 0 || off + n > a.length) {
            throw new IllegalArgumentException(name + ": expected " + n + " floats from offset " + off
                    + ", but the array has " + a.length);
        }
    }

    /** Rows {@code (t, b)} of {@code width} floats at {@code off + t*ts + b*bs}, every one inside {@code a}. */
    private static void requireRows(String name, float[] a, int off, int ts, int bs, int seqLen, int batch, int width) {
        if (a == null) {
            throw new NullPointerException(name + ": expected an array, got null");
        }
        if (off < 0 || ts < 0 || bs < 0) {
            throw new IllegalArgumentException(name + ": offset and strides must be >= 0, got offset " + off
                    + ", strides " + ts + ", " + bs);
        }
        long end = off + (long) (seqLen - 1) * ts + (long) (batch - 1) * bs + width;
        if (end > a.length) {
            throw new IllegalArgumentException(name + ": rows of " + width + " floats at offset " + off + " with strides "
                    + ts + " (time), " + bs + " (batch) for " + seqLen + " x " + batch + " need " + end
                    + " floats, but the array has " + a.length);
        }
    }
}
