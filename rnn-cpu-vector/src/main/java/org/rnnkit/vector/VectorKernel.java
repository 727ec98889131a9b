package org.rnnkit.vector;

import java.util.Arrays;
import org.rnnkit.nn.CellType;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;

/**
 * One kernel for every recurrence: the products ({@code W_ih x} for all valid steps first, then
 * {@code W_hh h} per step, and in the backward pass the weight, input and state gradients) run on
 * {@link VectorMath}; the gate equations are PyTorch's, evaluated per element.
 *
 * <p>Each (step, row) is computed from its own inputs only, in a fixed order, so a result does not depend
 * on the sequence length or the other rows: chunked streaming equals one-shot runs bit for bit.
 *
 * <p>Workspace: forward {@code gx} ({@code T*B*G*H}), {@code gh} ({@code G*H}), unprojected h ({@code H});
 * backward {@code dgx}, {@code dgh} ({@code G*H} each), {@code dhPrev} ({@code hOut}), {@code dr} ({@code H}).
 * Tape per (step, row): incoming h ({@code hOut}), then RNN: new h; LSTM: i f g o, incoming c, new c
 * [, unprojected h]; GRU: r z n, {@code W_hn h + b_hn}.
 */
final class VectorKernel implements RecurrentKernel {
    private final CellType type;

    VectorKernel(CellType type) {
        this.type = type;
    }

    /** PyTorch's weights (for the backward pass) and their packed panels (for the forward products). */
    record Weights(KernelShape shape, DirectionWeights w, float[] ihT, float[] hhT, float[] hrT)
            implements PreparedWeights {}

    @Override
    public PreparedWeights prepare(KernelShape s, DirectionWeights w) {
        int rows = s.gateRows();
        return new Weights(s, w, VectorMath.pack(w.weightIh(), rows, s.inputSize()),
                VectorMath.pack(w.weightHh(), rows, s.hOut()),
                s.projSize() > 0 ? VectorMath.pack(w.weightHr(), s.projSize(), s.hiddenSize()) : null);
    }

    @Override
    public long workspaceSize(KernelShape s, int seqLen, int batch) {
        long fwd = (long) seqLen * batch * s.gateRows() + s.gateRows() + s.hiddenSize();
        long bwd = 2L * s.gateRows() + s.hOut() + s.hiddenSize();
        return Math.max(fwd, bwd);
    }

    private int stride(KernelShape s) {
        int h = s.hiddenSize();
        return s.hOut() + switch (type) {
            case RNN_TANH, RNN_RELU -> h;
            case LSTM -> 6 * h + (s.projSize() > 0 ? h : 0);
            case GRU -> 4 * h;
        };
    }

    @Override
    public long tapeSize(KernelShape s, int seqLen, int batch) {
        return (long) seqLen * batch * stride(s);
    }

    private static int length(int[] lengths, int b, int seqLen) {
        return lengths == null ? seqLen : lengths[b];
    }

    @Override
    public void forward(PreparedWeights prepared, int seqLen, int batch, int[] lengths, boolean reverse,
            float[] x, int xOff, int xTimeStride, int xBatchStride,
            float[] out, int outOff, int outTimeStride, int outBatchStride,
            float[] h, int hOff, float[] c, int cOff,
            float[] tape, int tapeOff,
            float[] ws, int wsOff) {
        Weights pw = (Weights) prepared;
        KernelShape s = pw.shape();
        DirectionWeights w = pw.w();
        int rows = s.gateRows(), in = s.inputSize(), hOut = s.hOut(), hid = s.hiddenSize(), stride = stride(s);
        int gh = wsOff + seqLen * batch * rows, full = gh + rows;
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                if (t < length(lengths, b, seqLen)) {
                    VectorMath.matVec(pw.ihT(), rows, in, x, xOff + t * xTimeStride + b * xBatchStride, w.biasIh(),
                            ws, wsOff + (t * batch + b) * rows);
                }
            }
        }
        for (int step = 0; step < seqLen; step++) {
            for (int b = 0; b < batch; b++) {
                int len = length(lengths, b, seqLen);
                if (step >= len) {
                    continue;
                }
                int t = reverse ? len - 1 - step : step;
                int hr = hOff + b * hOut, cr = cOff + b * hid, gx = wsOff + (t * batch + b) * rows;
                int tp = tape == null ? -1 : tapeOff + (t * batch + b) * stride;
                if (tp >= 0) {
                    System.arraycopy(h, hr, tape, tp, hOut);
                }
                VectorMath.matVec(pw.hhT(), rows, hOut, h, hr, w.biasHh(), ws, gh);
                switch (type) {
                    case RNN_TANH, RNN_RELU -> {
                        VectorMath.add(ws, gx, ws, gh, hid);
                        if (type == CellType.RNN_TANH) {
                            VectorActivations.tanh(ws, gh, hid);
                            System.arraycopy(ws, gh, h, hr, hid);
                        } else {
                            for (int j = 0; j < hid; j++) {
                                float pre = ws[gh + j];
                                h[hr + j] = pre > 0f || Float.isNaN(pre) ? pre : 0f;
                            }
                        }
                        if (tp >= 0) {
                            System.arraycopy(h, hr, tape, tp + hOut, hid);
                        }
                    }
                    case LSTM -> {
                        // pre-activations in gh, then i f (sigmoid), g (tanh), o (sigmoid) in place
                        VectorMath.add(ws, gx, ws, gh, rows);
                        VectorActivations.sigmoid(ws, gh, 2 * hid);
                        VectorActivations.tanh(ws, gh + 2 * hid, hid);
                        VectorActivations.sigmoid(ws, gh + 3 * hid, hid);
                        int gates = tp + hOut;
                        for (int j = 0; j < hid; j++) {
                            float cOld = c[cr + j];
                            float cNew = ws[gh + hid + j] * cOld + ws[gh + j] * ws[gh + 2 * hid + j];
                            c[cr + j] = cNew;
                            ws[full + j] = cNew;
                            if (tp >= 0) {
                                tape[gates + 4 * hid + j] = cOld;
                                tape[gates + 5 * hid + j] = cNew;
                            }
                        }
                        VectorActivations.tanh(ws, full, hid); // tanh(c')
                        for (int j = 0; j < hid; j++) {
                            ws[full + j] *= ws[gh + 3 * hid + j]; // o * tanh(c')
                        }
                        if (s.projSize() > 0) {
                            VectorMath.matVec(pw.hrT(), s.projSize(), hid, ws, full, null, h, hr);
                            if (tp >= 0) {
                                System.arraycopy(ws, full, tape, gates + 6 * hid, hid);
                            }
                        } else {
                            System.arraycopy(ws, full, h, hr, hid);
                        }
                        if (tp >= 0) {
                            System.arraycopy(ws, gh, tape, gates, rows);
                        }
                    }
                    case GRU -> {
                        // r, z from the summed pre-activations; n = tanh(gx_n + r * (W_hn h + b_hn))
                        VectorMath.add(ws, gx, ws, gh, 2 * hid);
                        VectorActivations.sigmoid(ws, gh, 2 * hid);
                        for (int j = 0; j < hid; j++) {
                            ws[full + j] = ws[gx + 2 * hid + j] + ws[gh + j] * ws[gh + 2 * hid + j];
                        }
                        VectorActivations.tanh(ws, full, hid);
                        for (int j = 0; j < hid; j++) {
                            float z = ws[gh + hid + j], n = ws[full + j];
                            h[hr + j] = (h[hr + j] - n) * z + n;
                        }
                        if (tp >= 0) {
                            System.arraycopy(ws, gh, tape, tp + hid, 2 * hid); // r, z
                            System.arraycopy(ws, full, tape, tp + 3 * hid, hid); // n
                            System.arraycopy(ws, gh + 2 * hid, tape, tp + 4 * hid, hid); // W_hn h + b_hn
                        }
                    }
                }
                if (out != null) {
                    System.arraycopy(h, hr, out, outOff + t * outTimeStride + b * outBatchStride, hOut);
                }
            }
        }
        if (out != null && lengths != null) {
            for (int b = 0; b < batch; b++) {
                for (int t = lengths[b]; t < seqLen; t++) {
                    int o = outOff + t * outTimeStride + b * outBatchStride;
                    Arrays.fill(out, o, o + hOut, 0f);
                }
            }
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
        KernelShape s = ((Weights) prepared).shape();
        DirectionWeights w = ((Weights) prepared).w();
        int rows = s.gateRows(), in = s.inputSize(), hOut = s.hOut(), hid = s.hiddenSize(), stride = stride(s);
        int dgx = wsOff, dgh = wsOff + rows, dhPrev = dgh + rows, dr = dhPrev + hOut;
        for (int b = 0; b < batch; b++) {
            int len = length(lengths, b, seqLen);
            int dhr = dhOff + b * hOut, dcr = dcOff + b * hid;
            for (int step = len - 1; step >= 0; step--) {
                int t = reverse ? len - 1 - step : step;
                int tp = tapeOff + (t * batch + b) * stride;
                if (dOut != null) {
                    VectorMath.axpy(1f, dOut, dOutOff + t * dOutTimeStride + b * dOutBatchStride, dh, dhr, hOut);
                }
                Arrays.fill(ws, dhPrev, dhPrev + hOut, 0f);
                switch (type) {
                    case RNN_TANH, RNN_RELU -> {
                        for (int j = 0; j < hid; j++) {
                            float hNew = tape[tp + hOut + j], d = dh[dhr + j];
                            float da = type == CellType.RNN_RELU ? (hNew > 0f ? d : 0f) : d * (1f - hNew * hNew);
                            ws[dgx + j] = da;
                            ws[dgh + j] = da;
                        }
                    }
                    case LSTM -> {
                        int gates = tp + hOut;
                        float[] dSrc = dh;
                        int dOff = dhr;
                        if (s.projSize() > 0) {
                            // dL/d(o*tanh(c')) = W_hr^T dh; dW_hr += dh (x) unprojected h
                            Arrays.fill(ws, dr, dr + hid, 0f);
                            VectorMath.matTVecAdd(w.weightHr(), hOut, hid, dh, dhr, ws, dr);
                            for (int p = 0; p < hOut; p++) {
                                VectorMath.axpy(dh[dhr + p], tape, gates + 6 * hid, grads.weightHr(), p * hid, hid);
                            }
                            dSrc = ws;
                            dOff = dr;
                        }
                        for (int j = 0; j < hid; j++) {
                            float i = tape[gates + j], f = tape[gates + hid + j], g = tape[gates + 2 * hid + j],
                                    o = tape[gates + 3 * hid + j];
                            float tc = VectorMath.tanh(tape[gates + 5 * hid + j]);
                            float d = dSrc[dOff + j];
                            float dct = dc[dcr + j] + d * o * (1f - tc * tc);
                            dc[dcr + j] = dct * f;
                            ws[dgx + j] = dct * g * i * (1f - i);
                            ws[dgx + hid + j] = dct * tape[gates + 4 * hid + j] * f * (1f - f);
                            ws[dgx + 2 * hid + j] = dct * i * (1f - g * g);
                            ws[dgx + 3 * hid + j] = d * tc * o * (1f - o);
                        }
                        System.arraycopy(ws, dgx, ws, dgh, rows);
                    }
                    case GRU -> {
                        for (int j = 0; j < hid; j++) {
                            float hp = tape[tp + j], r = tape[tp + hid + j], z = tape[tp + 2 * hid + j],
                                    n = tape[tp + 3 * hid + j], hn = tape[tp + 4 * hid + j];
                            float d = dh[dhr + j];
                            float dan = d * (1f - z) * (1f - n * n);
                            float dar = dan * hn * r * (1f - r), daz = d * (hp - n) * z * (1f - z);
                            ws[dgx + j] = dar;
                            ws[dgx + hid + j] = daz;
                            ws[dgx + 2 * hid + j] = dan;
                            ws[dgh + j] = dar;
                            ws[dgh + hid + j] = daz;
                            ws[dgh + 2 * hid + j] = dan * r;
                            ws[dhPrev + j] = d * z;
                        }
                    }
                }
                int xr = xOff + t * xTimeStride + b * xBatchStride;
                for (int r = 0; r < rows; r++) {
                    VectorMath.axpy(ws[dgx + r], x, xr, grads.weightIh(), r * in, in);
                    VectorMath.axpy(ws[dgh + r], tape, tp, grads.weightHh(), r * hOut, hOut);
                }
                if (s.bias()) {
                    VectorMath.axpy(1f, ws, dgx, grads.biasIh(), 0, rows);
                    VectorMath.axpy(1f, ws, dgh, grads.biasHh(), 0, rows);
                }
                if (dx != null) {
                    VectorMath.matTVecAdd(w.weightIh(), rows, in, ws, dgx, dx, dxOff + t * dxTimeStride + b * dxBatchStride);
                }
                VectorMath.matTVecAdd(w.weightHh(), rows, hOut, ws, dgh, ws, dhPrev);
                System.arraycopy(ws, dhPrev, dh, dhr, hOut);
            }
        }
    }
}
