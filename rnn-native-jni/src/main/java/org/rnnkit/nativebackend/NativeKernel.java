package org.rnnkit.nativebackend;

import java.lang.ref.Reference;
import java.util.List;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.StateView;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * A native kernel: one JNI call per layer-sequence, on arguments {@link RecurrentKernel} has checked. The
 * work is done in C ({@code src/main/c/rk_driver.c}); the recurrences differ only in their type code and
 * their tape.
 *
 * <h2>Cells and tapes</h2>
 * <ul>
 *   <li>LSTM, gates {@code i, f, g, o} (PyTorch's {@code nn.LSTM}): {@code c' = f*c + i*g} (the reference's
 *       rounding, no FMA), {@code h' = o*tanh(c')}, and with {@code proj_size > 0}, {@code h' = W_hr h'}.
 *       Tape slot per {@code (t, b)}: incoming h ({@code hOut}), i f g o ({@code 4H}), incoming c,
 *       {@code tanh(c')}, and with projection the unprojected {@code o*tanh(c')} ({@code H} each).
 *   <li>GRU, gates {@code r, z, n} (PyTorch's {@code nn.GRU}): {@code n = tanh(gx_n + r*(W_hn h + b_hn))},
 *       {@code h' = (h - n)*z + n}, with {@code b_hn} inside {@code r*(...)}. Tape slot: incoming h, r z n,
 *       {@code W_hn h + b_hn} ({@code H} each). Gate gradients per row {@code dr, dz, dn*r, dn}: the first
 *       three are the hidden side, {@code dr, dz, dn} the input side.
 *   <li>Elman RNN: {@code h' = act(gx + W_hh h + b_hh)}, act = tanh or relu (PyTorch's {@code nn.RNN});
 *       relu is {@code max(x, 0)} with NaN kept. Tape slot: incoming h, new h ({@code H} each).
 * </ul>
 *
 * <h2>Cell variants</h2>
 * A shape's {@link CellVariant} other than {@link CellVariant#NONE} (ONNX's options: a function per slot,
 * clip, LSTM peepholes and coupled input-forget gate, the GRU's reset before the recurrent product) reaches
 * C once, at {@link #pack}: flags, a function code with alpha and beta per slot and the clip, checked there
 * ({@code rk_variant_check}) and kept in the weights block with the peepholes. PyTorch's form keeps its
 * paths unchanged; a variant branches once per row to row functions of its own, whose slots are vector
 * array functions chosen once per call. Semantics are the scalar reference's: every pre-activation is
 * clamped before its function except the LSTM's cell output; peepholes add {@code p_i*c}, {@code p_f*c} of
 * the incoming {@code c} and {@code p_o*c'} of the new one; coupled gates take {@code f = 1 - i}; the
 * reset-before GRU computes {@code n = g(gx_n + W_hn (r*h) + b_hn)}. The clip's gradient is zero where
 * {@code |pre| > clip}. Variant tapes keep the slot above (the LSTM's {@code tanh(c')} place holding
 * {@code h(c')}) and append:
 * <ul>
 *   <li>LSTM: {@code a_i a_f a_g a_o} (the pre-activations with peepholes, before the clip) and {@code c'}
 *       ({@code H} each);
 *   <li>GRU: {@code a_r a_z a_n}, and for the reset before the product {@code r*h} ({@code H} each; the
 *       slot's {@code W_hn h + b_hn} is then {@code W_hn (r*h) + b_hn});
 *   <li>RNN: the pre-activation {@code a} ({@code H}).
 * </ul>
 * Backward: per row the slopes of the slots from the pre-activations and the recorded values, then as
 * above; the reset-before GRU takes {@code dL/d(r*h) = dn W_hn} per step (a packed {@code W_hn^T}) before
 * {@code dr}, and its {@code dW_hn} multiplies {@code r*h} from the tape. Peephole gradients are column sums
 * over the valid rows in a fixed order after the recurrence. Steps split by hidden units run variants
 * too, except the reset-before GRU, whose product reads every unit's {@code r} (it splits by rows only).
 *
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
 * <p>One-hot input ({@link SequenceView#oneHotClasses()}): (1) copies each row's column of {@code W_ih}
 * (contiguous in each packed panel) plus the bias instead of multiplying by zeros: for finite weights the
 * bits of the product, whose zero terms add exact zeros ({@code ih_column} in {@code rk_driver.c}).
 *
 * <h2>Backward</h2>
 * Back in time: per row the gate gradients from the tape, fused, then {@code dh_prev = dG W_hh} for the
 * block of rows with the packed kernel. Then OpenBLAS {@code sgemm}: {@code dW_ih += dG^T X},
 * {@code dW_hh += dG_h^T H_prev} and {@code dW_hr += dH^T R} as one sum over every step each (on fixed
 * tiles of the result), and {@code dx += dG W_ih}. With one-hot input, {@code dW_ih} is a scatter-add instead:
 * each valid row's gate gradients into the column of its class, rows in ascending order, on the same tiles.
 *
 * <h2>Updates</h2>
 * {@link #update} packs changed weights into the existing native block ({@code rk_update}): no allocation,
 * the bits of weights prepared anew.
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
 * {@link RecurrentKernel} checks every argument the native code will index (sizes, offsets, strides,
 * array lengths) before {@link #runForward} and {@link #runBackward} run, and the native side checks the
 * array lengths (and copies and checks the one-hot classes) once more before it pins anything, as a last
 * guard of the JVM's memory. No input reaches native code unchecked.
 *
 * <p>Thread safety: stateless; each call works in its own workspace, tape and outputs.
 */
final class NativeKernel extends RecurrentKernel<NativeWeights> {
    /** Type codes of {@code rk.h}. */
    private static final int RNN_TANH = 0, RNN_RELU = 1, LSTM = 2, GRU = 3;

    private final int typeCode;
    /** Up to this many threads per call (1: the calling thread only). */
    private final int threads;

    NativeKernel(Recurrence type, int threads) {
        super(type, NativeWeights.class);
        this.typeCode = switch (type) {
            case RNN_TANH -> RNN_TANH;
            case RNN_RELU -> RNN_RELU;
            case LSTM -> LSTM;
            case GRU -> GRU;
        };
        this.threads = threads;
    }

    /** Flags of {@code rk.h}'s {@code rk_variant}. */
    private static final int V_ON = 1, V_PEEPHOLES = 2, V_INPUT_FORGET = 4, V_RESET_BEFORE = 8;

    /** Every variant runs natively: PyTorch's form on its own paths, the others beside them. */
    @Override
    protected boolean supports(CellVariant variant) {
        return true;
    }

    /** The {@code rk_variant} flags of a shape's variant: 0 for PyTorch's form. */
    static int variantFlags(KernelShape s) {
        CellVariant v = s.variant();
        if (v.isDefault()) {
            return 0;
        }
        return V_ON | (v.peepholes() ? V_PEEPHOLES : 0) | (v.inputForget() ? V_INPUT_FORGET : 0)
                | (v.resetBeforeProduct() ? V_RESET_BEFORE : 0);
    }

    /** {@code rk.h}'s function code of {@code f} (its RK_SIGMOID ... RK_SOFTPLUS). */
    static int functionCode(Activation.Function f) {
        return switch (f) {
            case SIGMOID -> 0;
            case TANH -> 1;
            case RELU -> 2;
            case HARD_SIGMOID -> 3;
            case AFFINE -> 4;
            case LEAKY_RELU -> 5;
            case THRESHOLDED_RELU -> 6;
            case SCALED_TANH -> 7;
            case ELU -> 8;
            case SOFTSIGN -> 9;
            case SOFTPLUS -> 10;
        };
    }

    @Override
    protected NativeWeights pack(KernelShape shape, DirectionWeights w) {
        int flags = variantFlags(shape);
        int[] functions = new int[3];
        float[] params = new float[6];
        if (flags != 0) {
            List<Activation> acts = shape.variant().activations();
            if (acts.isEmpty()) {
                acts = shape.type().defaultActivations();
            }
            for (int i = 0; i < acts.size(); i++) {
                functions[i] = functionCode(acts.get(i).function());
                params[2 * i] = acts.get(i).alpha();
                params[2 * i + 1] = acts.get(i).beta();
            }
        }
        long handle = NativeMethods.prepare(typeCode, shape.inputSize(), shape.hiddenSize(), shape.projSize(),
                shape.bias(), w.weightIh(), w.weightHh(), w.biasIh(), w.biasHh(), w.weightHr(), w.peephole(), flags,
                functions, params, shape.variant().clip());
        return new NativeWeights(shape, handle);
    }

    /** Re-packs into the weights' own native block (same shape: checked by the caller, and again natively). */
    @Override
    protected boolean repack(NativeWeights w, DirectionWeights changed) {
        KernelShape s = w.shape();
        try {
            NativeMethods.update(w.handle, typeCode, s.inputSize(), s.hiddenSize(), s.projSize(), s.bias(),
                    changed.weightIh(), changed.weightHh(), changed.biasIh(), changed.biasHh(), changed.weightHr(),
                    changed.peephole());
        } finally {
            Reference.reachabilityFence(w);
        }
        return true;
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
        if (s == null || s.type() != type()) {
            throw new IllegalArgumentException("shape: expected a " + type() + " shape for this kernel, got "
                    + (s == null ? "null" : s.type()));
        }
        if (seqLen < 0 || batch < 0) {
            throw new IllegalArgumentException("seqLen and batch: expected >= 0, got " + seqLen + ", " + batch);
        }
        return NativeMethods.size(typeCode, s.inputSize(), s.hiddenSize(), s.projSize(), variantFlags(s), seqLen, batch,
                tape);
    }

    @Override
    protected void runForward(NativeWeights w, SequenceGeometry seq, SequenceView x, SequenceView out,
            StateView state, Scratch scratch) {
        try {
            NativeMethods.forward(w.handle, seq.seqLen(), seq.batch(), seq.lengths(), seq.reverse(),
                    x.data(), x.offset(), x.timeStride(), x.batchStride(), x.oneHotClasses(),
                    out == null ? null : out.data(), out == null ? 0 : out.offset(),
                    out == null ? 0 : out.timeStride(), out == null ? 0 : out.batchStride(),
                    state.h(), state.hOffset(), state.c(), state.cOffset(),
                    scratch.tape(), scratch.tapeOffset(), scratch.ws(), scratch.wsOffset(), threads);
        } finally {
            Reference.reachabilityFence(w); // the packed weights must outlive the native call
        }
    }

    @Override
    protected void runBackward(NativeWeights w, SequenceGeometry seq, SequenceView x, SequenceView dOut,
            StateView dState, SequenceView dx, DirectionWeights grads, Scratch scratch) {
        try {
            NativeMethods.backward(w.handle, seq.seqLen(), seq.batch(), seq.lengths(), seq.reverse(),
                    x.data(), x.offset(), x.timeStride(), x.batchStride(), x.oneHotClasses(),
                    dOut == null ? null : dOut.data(), dOut == null ? 0 : dOut.offset(),
                    dOut == null ? 0 : dOut.timeStride(), dOut == null ? 0 : dOut.batchStride(),
                    dState.h(), dState.hOffset(), dState.c(), dState.cOffset(),
                    dx == null ? null : dx.data(), dx == null ? 0 : dx.offset(),
                    dx == null ? 0 : dx.timeStride(), dx == null ? 0 : dx.batchStride(),
                    grads.weightIh(), grads.weightHh(), grads.biasIh(), grads.biasHh(), grads.weightHr(),
                    grads.peephole(), scratch.tape(), scratch.tapeOffset(), scratch.ws(), scratch.wsOffset(), threads);
        } finally {
            Reference.reachabilityFence(w);
        }
    }
}
