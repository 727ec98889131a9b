package org.rnnkit.vector;

import static org.rnnkit.vector.VectorMath.pad;

import java.util.Arrays;
import org.rnnkit.spi.Recurrence;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.spi.StateView;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.Scratch;
import org.rnnkit.vector.VectorMath.Packed;

/**
 * The loops every vector kernel shares; the cell types supply their step and step-back equations.
 *
 * <h2>Layout</h2>
 * Every gate block is padded from {@code H} to {@code Hp} (a multiple of the lane count) with zero
 * weights and biases, so gate vectors never straddle two gates and every elementwise loop runs whole
 * vectors. Padded lanes stay exactly 0 through every step (zero pre-activations give zero states and
 * zero gradients), so they never reach a real value. The state lives in the workspace in that padded
 * form during a call and goes back to the caller's arrays at the end.
 *
 * <h2>Forward</h2>
 * (1) {@code gx = X W_ih^T + b} for every valid {@code (t, b)} as one blocked product over all those
 * rows ({@code b} folds {@code b_hh} in wherever PyTorch's equation adds it outside a gate product).
 * (2) Step {@code s} takes the rows still running ({@code length > s}), adds {@code W_hh h} to their
 * {@code gx} rows in place as one small GEMM (a mat-vec at batch 1), and applies the gate equations to
 * each row right after, while it is in L1; finished rows drop out, so the cost follows the sum of the
 * lengths. Nothing is allocated. One-hot input ({@link SequenceView#oneHotClasses()}) makes (1) a column
 * lookup per row, {@code gx = b + W_ih[:, class]}: the product's bits for finite weights, since its zero
 * terms add exact zeros.
 *
 * <h2>Backward</h2>
 * Back in time, step by step: gate gradients per running row from the tape, then
 * {@code dh = direct + dG W_hh} as one GEMM over the rows. The gate gradients of every {@code (t, b)} stay
 * in the workspace, so afterwards the weight gradients are three blocked products over all rows
 * ({@code dW_ih += dG^T X}, {@code dW_hh += dG_h^T H_prev}, {@code dW_hr += dH^T R}), staged transposed
 * and added to PyTorch's layout in tiles, and the input gradient one more ({@code dx += dG W_ih}). With
 * one-hot input {@code dW_ih} is a scatter-add of each row's gate gradients into the column of its class,
 * rows in the outer product's order.
 *
 * <h2>Updates</h2>
 * {@link #update} re-fills the weights' own arrays ({@link Weights#repack}): the bits of weights prepared
 * anew, nothing allocated but the packing's few lambdas.
 *
 * <h2>Threads</h2>
 * With a {@link VectorParallel} of more than one thread, phases above {@link #PARALLEL_MIN_FMAS} split:
 * the input projection and the input gradient by time blocks, the recurrence (both ways) by blocks of
 * batch rows (batch 8 and more: each part owns its rows for the whole sequence, no synchronisation), the
 * weight gradients by rows of each result; a batch-1 forward recurrence splits each step by hidden
 * units, the parts meeting at a spinning barrier after every step ({@link #unitParts}). Small calls stay
 * on the calling thread.
 *
 * <p>Every product accumulates each output element in one fixed order ({@link VectorMath}), so results
 * depend on a row's own data only: not on {@code seqLen}, the other rows, or how work is split.
 *
 * <p>Thread safety: stateless; each call works in its own workspace, tape and outputs.
 */
abstract class VectorKernel extends RecurrentKernel<VectorKernel.Weights> {

    /** The padded sizes of a shape. */
    static class Dims {
        final KernelShape shape;
        final int in, hid, hp, hOut, hOutP, proj, projP, gates, gp;
        /**
         * A cell variant (not PyTorch's form); LSTM peepholes; a GRU with the reset gate before the
         * recurrent product.
         */
        final boolean variant, peepholes, resetBefore;
        /** Backward staging of the weight gradients, one region per product: offsets and total size. */
        final int stIh, stHh, stBias, stHr, stPeep, stSize;

        Dims(KernelShape s) {
            shape = s;
            in = s.inputSize();
            hid = s.hiddenSize();
            hp = pad(hid);
            hOut = s.hOut();
            hOutP = pad(hOut);
            proj = s.projSize();
            projP = proj > 0 ? pad(proj) : 0;
            gates = s.type().gates();
            gp = gates * hp;
            variant = !s.variant().isDefault();
            peepholes = s.variant().peepholes();
            resetBefore = s.variant().resetBeforeProduct();
            stIh = 0;
            stHh = stIh + in * gp;
            stBias = stHh + hOut * gp;
            stHr = stBias + 2 * gp;
            stPeep = stHr + hid * projP;
            stSize = stPeep + (peepholes ? 3 * hp : 0);
        }

        /** PyTorch's row of padded gate row {@code o}, or -1 for padding. */
        final int realRow(int o) {
            int q = o / hp, j = o % hp;
            return j < hid ? q * hid + j : -1;
        }
    }

    /**
     * Weights in the kernel's layouts: immutable once built, but for {@link #repack}, which only the
     * weights' sole owner calls ({@link RecurrentKernel#update}), between its own kernel calls.
     */
    static final class Weights extends Dims implements PreparedWeights {
        /** Input projection ({@code gp x in}) and its init ({@code gp}, null without bias). */
        final Packed ih;
        final float[] bias;
        /** Recurrent product: all gates (RNN, LSTM) or {@code r, z} (GRU), {@code k = hOut}. */
        final Packed hh;
        /** GRU: {@code W_hn} ({@code hp x H}) and {@code b_hn} (null without bias). */
        final Packed hhN;
        final float[] biasHn;
        /** LSTM projection {@code W_hr} ({@code P x H}) and its transpose. */
        final Packed hr, hrT;
        /** Backward: {@code W_ih^T} ({@code in x gp}) and {@code W_hh^T} ({@code hOut x gp}). */
        final Packed ihT, hhT;
        /** A GRU with the reset gate before the product, backward: {@code W_hn^T} ({@code H x Hp}); else null. */
        final Packed hhNT;
        /** LSTM peepholes {@code p_i, p_f, p_o} ({@code Hp} each), or null. */
        final float[] peephole;
        /** A variant's activation slots, or null for PyTorch's form. */
        final VectorActivations[] acts;

        Weights(KernelShape s, DirectionWeights w) {
            super(s);
            boolean gru = s.type() == Recurrence.GRU;
            int rec = gru ? 2 * hp : gp;
            ih = VectorMath.zeros(gp, gp, in);
            ihT = VectorMath.zeros(in, pad(in), gp);
            hhT = VectorMath.zeros(hOut, hOutP, gp);
            hh = VectorMath.zeros(rec, rec, hOut);
            hhN = gru ? VectorMath.zeros(hp, hp, hOut) : null;
            bias = s.bias() ? new float[gp] : null;
            biasHn = s.bias() && gru ? new float[hp] : null;
            hr = proj > 0 ? VectorMath.zeros(proj, projP, hid) : null;
            hrT = proj > 0 ? VectorMath.zeros(hid, hp, proj) : null;
            hhNT = resetBefore ? VectorMath.zeros(hid, hp, hp) : null;
            peephole = peepholes ? new float[3 * hp] : null;
            acts = VectorActivations.of(s);
            repack(w);
        }

        /**
         * Packs PyTorch-layout weights of this shape into these arrays, every element written (padding
         * with zeros): the arrays of weights built from {@code w}, bit for bit.
         */
        void repack(DirectionWeights w) {
            float[] wIh = w.weightIh(), wHh = w.weightHh();
            boolean gru = shape.type() == Recurrence.GRU;
            VectorMath.repack(ih, (o, k) -> {
                int r = realRow(o);
                return r < 0 ? 0f : wIh[r * in + k];
            });
            VectorMath.repack(ihT, (o, g) -> {
                int r = realRow(g);
                return r < 0 || o >= in ? 0f : wIh[r * in + o];
            });
            VectorMath.repack(hhT, (o, g) -> {
                int r = realRow(g);
                return r < 0 || o >= hOut ? 0f : wHh[r * hOut + o];
            });
            VectorMath.repack(hh, (o, k) -> {
                int r = realRow(o);
                return r < 0 ? 0f : wHh[r * hOut + k];
            });
            if (gru) {
                VectorMath.repack(hhN, (o, k) -> o < hid ? wHh[(2 * hid + o) * hOut + k] : 0f);
            }
            if (hhNT != null) {
                VectorMath.repack(hhNT, (o, k) -> o < hid && k < hid ? wHh[(2 * hid + k) * hid + o] : 0f);
            }
            if (bias != null) {
                float[] bi = w.biasIh(), bh = w.biasHh();
                for (int o = 0; o < gp; o++) {
                    int r = realRow(o);
                    // b_hh joins b_ih except inside PyTorch's GRU r * (W_hn h + b_hn)
                    bias[o] = r < 0 ? 0f : gru && r >= 2 * hid && !resetBefore ? bi[r] : bi[r] + bh[r];
                }
                if (gru) {
                    System.arraycopy(bh, 2 * hid, biasHn, 0, hid);
                }
            }
            if (peephole != null) {
                float[] p = w.peephole();
                for (int q = 0; q < 3; q++) {
                    System.arraycopy(p, q * hid, peephole, q * hp, hid);
                }
            }
            if (proj > 0) {
                float[] wHr = w.weightHr();
                VectorMath.repack(hr, (o, k) -> o < proj ? wHr[o * hid + k] : 0f);
                VectorMath.repack(hrT, (o, p) -> o < hid ? wHr[p * hid + o] : 0f);
            }
        }

        @Override
        public KernelShape shape() {
            return shape;
        }
    }

    /**
     * Below this many multiply-adds a phase stays on the calling thread: waking a worker (tens of
     * microseconds) costs more than the split saves (measured: rnn-bench/RESULTS.md, "Two threads: where
     * a split starts to pay").
     */
    static final long PARALLEL_MIN_FMAS = 1L << 24;

    final VectorParallel par;

    VectorKernel(Recurrence type, VectorParallel par) {
        super(type, Weights.class);
        this.par = par;
    }

    @Override
    protected Weights pack(KernelShape shape, DirectionWeights weights) {
        return new Weights(shape, weights);
    }

    /** Every cell variant runs here: PyTorch's form on its own paths, the variants beside them. */
    @Override
    protected boolean supports(org.rnnkit.variant.CellVariant variant) {
        return true;
    }

    /** Re-fills the weights' own arrays: a training step's update allocates no new weights. */
    @Override
    protected boolean repack(Weights weights, DirectionWeights changed) {
        weights.repack(changed);
        return true;
    }

    // ---- what each cell type supplies ------------------------------------------------------------------

    /** Floats per (step, row) slot of the tape; the slot starts with the incoming h ({@code hOutP}). */
    abstract int tapeStride(Dims d);

    /** Floats per batch row of forward scratch beyond {@code gx} and the padded {@code h} (LSTM: c first). */
    abstract int forwardRowScratch(Dims d);

    /** Floats per (step, row) of gate gradients: {@code gp}, twice for GRU (input side, then hidden side). */
    int backwardGateSlots(Dims d) {
        return d.gp;
    }

    /** Offset in a gate-gradient slot where the hidden side starts (GRU: after the input side). */
    int hiddenSideOffset(Dims d) {
        return 0;
    }

    /** Floats per batch row of backward scratch beyond the padded {@code dh} (LSTM: dc first). */
    abstract int backwardRowScratch(Dims d);

    /** Whether {@code dh_prev} has a part outside {@code W_hh} (GRU: {@code dh * z}). */
    boolean hasDirectPath() {
        return false;
    }

    /**
     * Part {@code p} of {@code n} of a variant's own weight gradients, after the shared ones of
     * {@link #weightGradients} (LSTM: peepholes; GRU with the reset gate before the product: {@code W_hn},
     * whose input is {@code r*h}). Staging from {@code ws[st..]} as {@link Dims} lays it out; each part
     * touches its own elements only.
     */
    void variantGradients(Weights w, int seqLen, int batch, int[] lengths, DirectionWeights grads, float[] tape,
            int tapeOff, float[] ws, int dg, int st, int p, int n) {
    }

    /** LSTM with projection: offset in the tape slot of the unprojected {@code o*tanh(c')}. */
    int projectionInputOffset(Dims d) {
        throw new AssertionError("no projection");
    }

    /**
     * One forward step for the rows {@code b} in {@code [b0, b1)} that run at step {@code s}, for the hidden
     * units {@code [u0, u1)} (all of {@code [0, Hp)}, or a multiple-of-{@link VectorMath#PANEL} slice when a
     * batch-1 step is split between threads): add {@code W_hh h} into the units' gate pre-activations in
     * their {@code gx} rows, in place, and apply the cell's equations, reading {@code h} at
     * {@code ws[hIn + b*hOutP]} and writing the new one at {@code ws[hOut + b*hOutP]} (the same buffer
     * unless split), updating the cell's row scratch ({@code ws[ex + b*forwardRowScratch]}), and, with a
     * tape, filling each row's slot after the incoming {@code h} (already stored by the caller).
     */
    abstract void step(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0, int b1,
            int u0, int u1, float[] ws, int gx, int hIn, int hOut, int ex, float[] tape, int tapeOff);

    /**
     * One backward step for the rows {@code b} in {@code [b0, b1)} that run at step {@code s}: from
     * {@code dh} ({@code ws[dhs + b*hOutP]}), the cell's row scratch and the tape, write the gate gradients
     * of slot {@code (t, b)} at {@code ws[dg + (t*B + b)*backwardGateSlots]}, update the row scratch (LSTM:
     * dc), and leave in the dh row the part of {@code dL/dh_prev} outside {@code W_hh} when
     * {@link #hasDirectPath()}. With a projection, also store the step's {@code dh} at
     * {@code ws[dht + (t*B + b)*projP]}.
     */
    abstract void stepBack(Weights w, int[] lengths, int seqLen, int batch, boolean reverse, int s, int b0, int b1,
            float[] ws, int dg, int dhs, int ex, int dht, float[] tape, int tapeOff);

    // ---- sizes -----------------------------------------------------------------------------------------

    @Override
    public long workspaceSize(KernelShape s, int seqLen, int batch) {
        return workspaceSize(new Dims(s), seqLen, batch);
    }

    @Override
    public long tapeSize(KernelShape s, int seqLen, int batch) {
        return (long) seqLen * batch * tapeStride(new Dims(s));
    }

    // The checks of every call ask for the sizes: read from the weights' dimensions, allocating nothing.
    @Override
    protected long workspaceSizeFor(Weights w, int seqLen, int batch) {
        return workspaceSize(w, seqLen, batch);
    }

    @Override
    protected long tapeSizeFor(Weights w, int seqLen, int batch) {
        return (long) seqLen * batch * tapeStride(w);
    }

    private long workspaceSize(Dims d, int seqLen, int batch) {
        long rows = (long) seqLen * batch;
        long fwd = rows * d.gp + (long) batch * (2 * d.hOutP + forwardRowScratch(d));
        long bwd = rows * (backwardGateSlots(d) + d.projP) + (long) batch * (d.hOutP + backwardRowScratch(d))
                + d.stSize;
        return Math.max(fwd, bwd);
    }

    /** Time index of row {@code b} at step {@code s}, or -1 once the row has finished. */
    static int time(int[] lengths, int seqLen, boolean reverse, int b, int s) {
        int len = lengths == null ? seqLen : lengths[b];
        return s >= len ? -1 : reverse ? len - 1 - s : s;
    }

    private static int maxLength(int[] lengths, int seqLen, int b0, int b1) {
        if (lengths == null) {
            return seqLen;
        }
        int m = 0;
        for (int b = b0; b < b1; b++) {
            m = Math.max(m, lengths[b]);
        }
        return m;
    }

    private static long validRows(int[] lengths, int seqLen, int batch) {
        if (lengths == null) {
            return (long) seqLen * batch;
        }
        long n = 0;
        for (int len : lengths) {
            n += len;
        }
        return n;
    }

    /** Parts for a phase of {@code fmas} multiply-adds that splits into at most {@code maxParts}. */
    private int parts(long fmas, int maxParts) {
        return fmas < PARALLEL_MIN_FMAS ? 1 : Math.max(1, Math.min(par.threads(), maxParts));
    }

    // ---- forward ---------------------------------------------------------------------------------------

    @Override
    protected void runForward(Weights w, SequenceGeometry seq, SequenceView xView, SequenceView outView,
            StateView state, Scratch scratch) {
        final int seqLen = seq.seqLen(), batch = seq.batch();
        final int[] lengths = seq.lengths();
        final boolean reverse = seq.reverse();
        final float[] x = xView.data();
        final int xOff = xView.offset(), xTimeStride = xView.timeStride(), xBatchStride = xView.batchStride();
        final float[] out = outView == null ? null : outView.data();
        final int outOff = outView == null ? 0 : outView.offset();
        final int outTimeStride = outView == null ? 0 : outView.timeStride();
        final int outBatchStride = outView == null ? 0 : outView.batchStride();
        final float[] h = state.h(), c = state.c();
        final int hOff = state.hOffset(), cOff = state.cOffset();
        final float[] tape = scratch.tape(), ws = scratch.ws();
        final int tapeOff = scratch.tapeOffset(), wsOff = scratch.wsOffset();
        int gp = w.gp;
        int gx = wsOff, hs = gx + seqLen * batch * gp, hs2 = hs + batch * w.hOutP, ex = hs2 + batch * w.hOutP;
        long rows = validRows(lengths, seqLen, batch);

        // (1) the input projection of every valid step: one product over all of them, split by time
        // (lambdas only when splitting: the single-threaded path allocates nothing); for one-hot rows a
        // column lookup each, gp floats, which stays on this thread
        final int[] classes = xView.oneHotClasses();
        int parts = parts(rows * gp * w.in, seqLen);
        if (classes != null) {
            lookup(w, seqLen, batch, lengths, classes, ws, gx);
        } else if (parts == 1) {
            projection(w, seqLen, batch, lengths, 0, seqLen, x, xOff, xTimeStride, xBatchStride, ws, gx);
        } else {
            par.run(parts, (p, n) -> projection(w, seqLen, batch, lengths, VectorParallel.split(seqLen, p, n),
                    VectorParallel.split(seqLen, p + 1, n), x, xOff, xTimeStride, xBatchStride, ws, gx));
        }

        // (2) the recurrence, split by batch rows (each part owns its rows for the whole sequence), or at
        //     batch 1 by hidden units, the parts meeting after every step
        int unitParts = unitParts(w, seqLen, batch, lengths);
        if (unitParts > 1) {
            unitSplitRecurrence(w, seqLen, batch, lengths, reverse, unitParts,
                    out, outOff, outTimeStride, outBatchStride, h, hOff, c, cOff, tape, tapeOff, ws, gx, hs, hs2, ex);
            return;
        }
        parts = parts(rows * gp * w.hOut, batch / 4);
        if (parts == 1) {
            recurrence(w, seqLen, batch, lengths, reverse, 0, batch,
                    out, outOff, outTimeStride, outBatchStride, h, hOff, c, cOff, tape, tapeOff, ws, gx, hs, ex);
        } else {
            par.run(parts, (p, n) -> recurrence(w, seqLen, batch, lengths, reverse,
                    VectorParallel.split(batch, p, n, 4), VectorParallel.split(batch, p + 1, n, 4),
                    out, outOff, outTimeStride, outBatchStride, h, hOff, c, cOff, tape, tapeOff, ws, gx, hs, ex));
        }
    }

    /** {@code gx = X W_ih^T + b} for the valid rows of steps {@code [t0, t1)}. */
    private static void projection(Weights w, int seqLen, int batch, int[] lengths, int t0, int t1,
            float[] x, int xOff, int xTimeStride, int xBatchStride, float[] ws, int gx) {
        VectorMath.gemm(w.ih, 0, w.gp, lengths, seqLen, false, VectorMath.EVERY_STEP, t0, t1, 0, batch,
                x, xOff, xTimeStride, xBatchStride,
                ws, gx, batch * w.gp, w.gp,
                w.bias, 0, 0, 0);
    }

    /**
     * {@link #projection} for one-hot rows: {@code gx = b + W_ih[:, class]} for every valid row, the
     * product's bits without its zero terms ({@link VectorMath#column}).
     */
    private static void lookup(Weights w, int seqLen, int batch, int[] lengths, int[] classes, float[] ws, int gx) {
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                if (lengths == null || t < lengths[b]) {
                    int r = t * batch + b;
                    VectorMath.column(w.ih, classes[r], w.bias, ws, gx + r * w.gp);
                }
            }
        }
    }

    /** State in, the steps, state out, for rows {@code [b0, b1)}. */
    private void recurrence(Weights w, int seqLen, int batch, int[] lengths, boolean reverse, int b0, int b1,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff, float[] tape, int tapeOff,
            float[] ws, int gx, int hs, int ex) {
        int hOut = w.hOut, hOutP = w.hOutP, stride = tapeStride(w), rowScratch = forwardRowScratch(w);
        // the state in, padded with zeros
        for (int b = b0; b < b1; b++) {
            System.arraycopy(h, hOff + b * hOut, ws, hs + b * hOutP, hOut);
            VectorMath.zero(ws, hs + b * hOutP + hOut, hOutP - hOut);
            VectorMath.zero(ws, ex + b * rowScratch, rowScratch);
            if (c != null) {
                System.arraycopy(c, cOff + b * w.hid, ws, ex + b * rowScratch, w.hid);
            }
        }
        // step s runs the rows longer than s
        int steps = maxLength(lengths, seqLen, b0, b1);
        for (int s = 0; s < steps; s++) {
            if (tape != null) {
                for (int b = b0; b < b1; b++) {
                    int t = time(lengths, seqLen, reverse, b, s);
                    if (t >= 0) {
                        System.arraycopy(ws, hs + b * hOutP, tape, tapeOff + (t * batch + b) * stride, hOutP);
                    }
                }
            }
            step(w, lengths, seqLen, batch, reverse, s, b0, b1, 0, w.hp, ws, gx, hs, hs, ex, tape, tapeOff);
            if (out != null) {
                for (int b = b0; b < b1; b++) {
                    int t = time(lengths, seqLen, reverse, b, s);
                    if (t >= 0) {
                        System.arraycopy(ws, hs + b * hOutP, out, outOff + t * outTimeStride + b * outBatchStride, hOut);
                    }
                }
            }
        }
        // the state out; zeros at the padded steps of shorter rows
        for (int b = b0; b < b1; b++) {
            System.arraycopy(ws, hs + b * hOutP, h, hOff + b * hOut, hOut);
            if (c != null) {
                System.arraycopy(ws, ex + b * rowScratch, c, cOff + b * w.hid, w.hid);
            }
            if (out != null && lengths != null) {
                for (int t = lengths[b]; t < seqLen; t++) {
                    int o = outOff + t * outTimeStride + b * outBatchStride;
                    Arrays.fill(out, o, o + hOut, 0f);
                }
            }
        }
    }

    /**
     * Parts for splitting each step by hidden units: only with threads (at most one per core), for a few rows (fewer than the
     * batch split needs) that all run every step or a single row (the two {@code h} buffers alternate, so
     * a finished row's state would be left behind in the other one), no projection, no GRU whose reset gate
     * precedes its product (the product of a unit needs the reset gates of all units), whole panels per part,
     * and enough work per step and per call to pay for the hand-off and one barrier per step.
     */
    int unitParts(Dims d, int seqLen, int batch, int[] lengths) {
        int panels = d.hp / VectorMath.PANEL;
        long perStep = (long) batch * d.gp * d.hOut;
        if (par.threads() < 2 || batch >= 8 || (lengths != null && batch > 1) || d.proj > 0 || d.resetBefore
                || d.hp % VectorMath.PANEL != 0 || panels < 2 || perStep < UNIT_SPLIT_MIN_FMAS_PER_STEP
                || perStep * seqLen < UNIT_SPLIT_MIN_FMAS) {
            return 1;
        }
        return Math.min(Math.min(par.threads(), panels), CORES);
    }

    /** Lockstep parts spin at each barrier: never more of them than cores. */
    private static final int CORES = Runtime.getRuntime().availableProcessors();

    /**
     * Per step: below it one barrier per step costs more than the split saves. The break-even lies between
     * the steps of LSTM 128 or RNN 256 (2^16) and GRU 256 (1.5 * 2^17) (measured: rnn-bench/RESULTS.md,
     * "Two threads: where a split starts to pay").
     */
    static final long UNIT_SPLIT_MIN_FMAS_PER_STEP = 1L << 17;
    /** Per call: below it waking a worker costs more than the split saves. */
    static final long UNIT_SPLIT_MIN_FMAS = 1L << 21;

    /**
     * The recurrence with each step split by hidden units: part {@code p} computes the gate rows of its
     * units (every gate), their equations and their slice of the new {@code h}; the parts meet after every
     * step. {@code h} alternates between two buffers, so no part overwrites values another still reads.
     */
    private void unitSplitRecurrence(Weights w, int seqLen, int batch, int[] lengths, boolean reverse, int parts,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff, float[] tape, int tapeOff,
            float[] ws, int gx, int hs, int hs2, int ex) {
        int hOut = w.hOut, hOutP = w.hOutP, stride = tapeStride(w), rowScratch = forwardRowScratch(w);
        for (int b = 0; b < batch; b++) {
            System.arraycopy(h, hOff + b * hOut, ws, hs + b * hOutP, hOut);
            VectorMath.zero(ws, hs + b * hOutP + hOut, hOutP - hOut);
            VectorMath.zero(ws, ex + b * rowScratch, rowScratch);
            if (c != null) {
                System.arraycopy(c, cOff + b * w.hid, ws, ex + b * rowScratch, w.hid);
            }
        }
        int steps = maxLength(lengths, seqLen, 0, batch);
        par.runLockstep(parts, steps, (p, n, s) -> {
            int u0 = VectorParallel.split(w.hp, p, n, VectorMath.PANEL), u1 = VectorParallel.split(w.hp, p + 1, n, VectorMath.PANEL);
            int hIn = s % 2 == 0 ? hs : hs2, hNew = s % 2 == 0 ? hs2 : hs;
            int lo = Math.min(u0, hOut), hi = Math.min(u1, hOut);
            for (int b = 0; b < batch; b++) {
                int t = time(lengths, seqLen, reverse, b, s);
                if (t >= 0 && tape != null) {
                    System.arraycopy(ws, hIn + b * hOutP + u0, tape, tapeOff + (t * batch + b) * stride + u0, u1 - u0);
                }
            }
            step(w, lengths, seqLen, batch, reverse, s, 0, batch, u0, u1, ws, gx, hIn, hNew, ex, tape, tapeOff);
            for (int b = 0; out != null && b < batch; b++) {
                int t = time(lengths, seqLen, reverse, b, s);
                if (t >= 0) {
                    System.arraycopy(ws, hNew + b * hOutP + lo, out, outOff + t * outTimeStride + b * outBatchStride + lo,
                            hi - lo);
                }
            }
        });
        int last = steps % 2 == 0 ? hs : hs2;
        for (int b = 0; b < batch; b++) {
            System.arraycopy(ws, last + b * hOutP, h, hOff + b * hOut, hOut);
            if (c != null) {
                System.arraycopy(ws, ex + b * rowScratch, c, cOff + b * w.hid, w.hid);
            }
            if (out != null && lengths != null) {
                for (int t = lengths[b]; t < seqLen; t++) {
                    int o = outOff + t * outTimeStride + b * outBatchStride;
                    Arrays.fill(out, o, o + hOut, 0f);
                }
            }
        }
    }

    // ---- backward --------------------------------------------------------------------------------------

    @Override
    protected void runBackward(Weights w, SequenceGeometry seq, SequenceView xView, SequenceView dOutView,
            StateView dState, SequenceView dxView, DirectionWeights grads, Scratch scratch) {
        final int seqLen = seq.seqLen(), batch = seq.batch();
        final int[] lengths = seq.lengths();
        final boolean reverse = seq.reverse();
        final float[] x = xView.data();
        final int xOff = xView.offset(), xTimeStride = xView.timeStride(), xBatchStride = xView.batchStride();
        final float[] dOut = dOutView == null ? null : dOutView.data();
        final int dOutOff = dOutView == null ? 0 : dOutView.offset();
        final int dOutTimeStride = dOutView == null ? 0 : dOutView.timeStride();
        final int dOutBatchStride = dOutView == null ? 0 : dOutView.batchStride();
        final float[] dh = dState.h(), dc = dState.c();
        final int dhOff = dState.hOffset(), dcOff = dState.cOffset();
        final float[] dx = dxView == null ? null : dxView.data();
        final int dxOff = dxView == null ? 0 : dxView.offset();
        final int dxTimeStride = dxView == null ? 0 : dxView.timeStride();
        final int dxBatchStride = dxView == null ? 0 : dxView.batchStride();
        final float[] tape = scratch.tape(), ws = scratch.ws();
        final int tapeOff = scratch.tapeOffset(), wsOff = scratch.wsOffset();
        int gp = w.gp, slots = backwardGateSlots(w);
        int dg = wsOff, dht = dg + seqLen * batch * slots, dhs = dht + seqLen * batch * w.projP;
        int ex = dhs + batch * w.hOutP, st = ex + batch * backwardRowScratch(w);
        long rows = validRows(lengths, seqLen, batch);

        // (1) back in time, split by batch rows
        int parts = parts(rows * gp * w.hOut, batch / 4);
        if (parts == 1) {
            recurrenceBack(w, seqLen, batch, lengths, reverse, 0, batch, dOut, dOutOff, dOutTimeStride, dOutBatchStride,
                    dh, dhOff, dc, dcOff, tape, tapeOff, ws, dg, dht, dhs, ex);
        } else {
            par.run(parts, (p, n) -> recurrenceBack(w, seqLen, batch, lengths, reverse,
                    VectorParallel.split(batch, p, n, 4), VectorParallel.split(batch, p + 1, n, 4),
                    dOut, dOutOff, dOutTimeStride, dOutBatchStride, dh, dhOff, dc, dcOff, tape, tapeOff, ws, dg, dht, dhs, ex));
        }

        // (2) weight gradients: blocked products over every valid (t, b), split by rows of the result
        //     (dW_ih of one-hot rows: a scatter-add, gp floats per row)
        final int[] classes = xView.oneHotClasses();
        parts = parts(rows * gp * ((classes != null ? 1 : w.in) + w.hOut), Math.max(1, (w.in + w.hOut) / 8));
        if (parts == 1) {
            weightGradients(w, seqLen, batch, lengths, x, xOff, xTimeStride, xBatchStride, classes, grads, tape,
                    tapeOff, ws, dg, dht, st, 0, 1);
        } else {
            par.run(parts, (p, n) -> weightGradients(w, seqLen, batch, lengths, x, xOff, xTimeStride, xBatchStride,
                    classes, grads, tape, tapeOff, ws, dg, dht, st, p, n));
        }

        // (3) the input gradient, added to what the other direction left there; split by time
        if (dx != null) {
            parts = parts(rows * gp * w.in, seqLen);
            if (parts == 1) {
                inputGradient(w, seqLen, batch, lengths, 0, seqLen, ws, dg, dx, dxOff, dxTimeStride, dxBatchStride);
            } else {
                par.run(parts, (p, n) -> inputGradient(w, seqLen, batch, lengths, VectorParallel.split(seqLen, p, n),
                        VectorParallel.split(seqLen, p + 1, n), ws, dg, dx, dxOff, dxTimeStride, dxBatchStride));
            }
        }
    }

    /** {@code dx += dG W_ih} for the valid rows of steps {@code [t0, t1)}. */
    private void inputGradient(Weights w, int seqLen, int batch, int[] lengths, int t0, int t1, float[] ws, int dg,
            float[] dx, int dxOff, int dxTimeStride, int dxBatchStride) {
        int slots = backwardGateSlots(w);
        VectorMath.gemm(w.ihT, 0, w.in, lengths, seqLen, false, VectorMath.EVERY_STEP, t0, t1, 0, batch,
                ws, dg, batch * slots, slots,
                dx, dxOff, dxTimeStride, dxBatchStride,
                dx, dxOff, dxTimeStride, dxBatchStride);
    }

    /** dL/d(final state) in, the steps back, dL/d(initial state) out, for rows {@code [b0, b1)}. */
    private void recurrenceBack(Weights w, int seqLen, int batch, int[] lengths, boolean reverse, int b0, int b1,
            float[] dOut, int dOutOff, int dOutTimeStride, int dOutBatchStride,
            float[] dh, int dhOff, float[] dc, int dcOff, float[] tape, int tapeOff,
            float[] ws, int dg, int dht, int dhs, int ex) {
        int hOut = w.hOut, hOutP = w.hOutP, slots = backwardGateSlots(w), rowScratch = backwardRowScratch(w);
        for (int b = b0; b < b1; b++) {
            System.arraycopy(dh, dhOff + b * hOut, ws, dhs + b * hOutP, hOut);
            VectorMath.zero(ws, dhs + b * hOutP + hOut, hOutP - hOut);
            VectorMath.zero(ws, ex + b * rowScratch, rowScratch);
            if (dc != null) {
                System.arraycopy(dc, dcOff + b * w.hid, ws, ex + b * rowScratch, w.hid);
            }
        }
        // gate gradients per row, then dh_prev = direct + dG_h W_hh as one product over the rows
        for (int s = maxLength(lengths, seqLen, b0, b1) - 1; s >= 0; s--) {
            if (dOut != null) {
                for (int b = b0; b < b1; b++) {
                    int t = time(lengths, seqLen, reverse, b, s);
                    if (t >= 0) {
                        VectorMath.addInto(dOut, dOutOff + t * dOutTimeStride + b * dOutBatchStride,
                                ws, dhs + b * hOutP, hOut);
                    }
                }
            }
            stepBack(w, lengths, seqLen, batch, reverse, s, b0, b1, ws, dg, dhs, ex, dht, tape, tapeOff);
            VectorMath.gemm(w.hhT, 0, hOutP, lengths, seqLen, reverse, s, 0, 0, b0, b1,
                    ws, dg + hiddenSideOffset(w), batch * slots, slots,
                    ws, dhs, 0, hOutP,
                    hasDirectPath() ? ws : null, dhs, 0, hOutP);
        }
        for (int b = b0; b < b1; b++) {
            System.arraycopy(ws, dhs + b * hOutP, dh, dhOff + b * hOut, hOut);
            if (dc != null) {
                System.arraycopy(ws, ex + b * rowScratch, dc, dcOff + b * w.hid, w.hid);
            }
        }
    }

    /**
     * Part {@code p} of {@code n} of the weight gradients: rows {@code [k0, k1)} of each staged product
     * ({@code dW_ih^T}, {@code dW_hh^T}, {@code dW_hr^T}) and a slice of the bias columns, accumulated
     * over the rows in order, then added to {@code grads} (each part touches its own elements only).
     * With one-hot {@code classes}, row {@code k} of {@code dW_ih^T} is the sum of the gate gradients of
     * the rows of class {@code k}, added in the same row order: the outer product's sums without their
     * zero terms.
     */
    private void weightGradients(Weights w, int seqLen, int batch, int[] lengths,
            float[] x, int xOff, int xTimeStride, int xBatchStride, int[] classes, DirectionWeights grads,
            float[] tape, int tapeOff, float[] ws, int dg, int dht, int st, int p, int n) {
        int gp = w.gp, slots = backwardGateSlots(w), hidden = hiddenSideOffset(w), stride = tapeStride(w);
        int k0 = VectorParallel.split(w.in, p, n, 4), k1 = VectorParallel.split(w.in, p + 1, n, 4);
        if (k1 > k0) {
            int so = st + w.stIh + k0 * gp;
            VectorMath.zero(ws, so, (k1 - k0) * gp);
            if (classes != null) {
                for (int t = 0; t < seqLen; t++) {
                    for (int b = 0; b < batch; b++) {
                        int r = t * batch + b, k = classes[r];
                        if ((lengths == null || t < lengths[b]) && k >= k0 && k < k1) {
                            VectorMath.addInto(ws, dg + r * slots, ws, st + w.stIh + k * gp, gp);
                        }
                    }
                }
            } else {
                VectorMath.outer(ws, so, gp, k1 - k0, gp, lengths, seqLen, batch, 0, seqLen,
                        x, xOff + k0, xTimeStride, xBatchStride, ws, dg, batch * slots, slots);
            }
            scatterGates(w, ws, st + w.stIh, k0, k1, w.in, grads.weightIh());
        }
        k0 = VectorParallel.split(w.hOut, p, n, 4);
        k1 = VectorParallel.split(w.hOut, p + 1, n, 4);
        if (k1 > k0) {
            int so = st + w.stHh + k0 * gp;
            VectorMath.zero(ws, so, (k1 - k0) * gp);
            VectorMath.outer(ws, so, gp, k1 - k0, gp, lengths, seqLen, batch, 0, seqLen,
                    tape, tapeOff + k0, batch * stride, stride, ws, dg + hidden, batch * slots, slots);
            scatterGates(w, ws, st + w.stHh, k0, k1, w.hOut, grads.weightHh());
        }
        if (w.bias != null) {
            int c0 = VectorParallel.split(gp, p, n, VectorMath.L), c1 = VectorParallel.split(gp, p + 1, n, VectorMath.L);
            if (c1 > c0) {
                int sb = st + w.stBias;
                VectorMath.zero(ws, sb + c0, c1 - c0);
                VectorMath.zero(ws, sb + gp + c0, c1 - c0);
                VectorMath.columnSums(ws, sb + c0, c1 - c0, lengths, batch, 0, seqLen, ws, dg + c0, batch * slots, slots);
                VectorMath.columnSums(ws, sb + gp + c0, c1 - c0, lengths, batch, 0, seqLen, ws, dg + hidden + c0,
                        batch * slots, slots);
                if (w.resetBefore) { // b_hn sits outside the product: its gradient is the input side's dn
                    for (int o = Math.max(c0, 2 * w.hp); o < c1; o++) {
                        ws[sb + gp + o] += ws[sb + o];
                    }
                }
                scatterBias(w, ws, sb, c0, c1, grads.biasIh());
                scatterBias(w, ws, sb + gp, c0, c1, grads.biasHh());
            }
        }
        if (w.variant) {
            variantGradients(w, seqLen, batch, lengths, grads, tape, tapeOff, ws, dg, st, p, n);
        }
        if (w.proj > 0) {
            int pp = w.projP;
            k0 = VectorParallel.split(w.hid, p, n, 4);
            k1 = VectorParallel.split(w.hid, p + 1, n, 4);
            if (k1 > k0) {
                int so = st + w.stHr + k0 * pp;
                VectorMath.zero(ws, so, (k1 - k0) * pp);
                VectorMath.outer(ws, so, pp, k1 - k0, pp, lengths, seqLen, batch, 0, seqLen,
                        tape, tapeOff + projectionInputOffset(w) + k0, batch * stride, stride,
                        ws, dht, batch * pp, pp);
                float[] gHr = grads.weightHr();
                for (int j = k0; j < k1; j++) {
                    for (int q = 0; q < w.proj; q++) {
                        gHr[q * w.hid + j] += ws[st + w.stHr + j * pp + q];
                    }
                }
            }
        }
    }

    /**
     * {@code dst[(q*H + j)*k + kk] += st[kk*gp + q*Hp + j]} for {@code kk} in {@code [k0, k1)}: back to
     * PyTorch's layout, a transpose done in 16 x 16 tiles so that both sides stay in L1.
     */
    private static void scatterGates(Dims d, float[] ws, int st, int k0, int k1, int k, float[] dst) {
        final int tile = 16;
        for (int kb = k0; kb < k1; kb += tile) {
            int ke = Math.min(k1, kb + tile);
            for (int q = 0; q < d.gates; q++) {
                for (int jb = 0; jb < d.hid; jb += tile) {
                    int je = Math.min(d.hid, jb + tile);
                    for (int j = jb; j < je; j++) {
                        int src = st + q * d.hp + j, to = (q * d.hid + j) * k;
                        for (int kk = kb; kk < ke; kk++) {
                            dst[to + kk] += ws[src + kk * d.gp];
                        }
                    }
                }
            }
        }
    }

    /** {@code dst[q*H + j] += st[q*Hp + j]} for padded columns {@code [c0, c1)}. */
    private static void scatterBias(Dims d, float[] ws, int st, int c0, int c1, float[] dst) {
        for (int o = c0; o < c1; o++) {
            int r = d.realRow(o);
            if (r >= 0) {
                dst[r] += ws[st + o];
            }
        }
    }
}
