package org.rnnkit.tests.oracle;

import java.util.LinkedHashMap;
import java.util.Map;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * An independent double-precision implementation of PyTorch's {@code nn.RNN} (tanh, relu),
 * {@code nn.LSTM} (with {@code proj_size}), {@code nn.GRU} and the three cells, written straight from the
 * equations of the PyTorch 1.13 documentation:
 *
 * <pre>
 * RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh)
 * LSTM: i = σ(W_ii x + b_ii + W_hi h + b_hi)   f = σ(..f..)   g = tanh(..g..)   o = σ(..o..)   (row blocks i,f,g,o)
 *       c' = f*c + i*g      h' = o*tanh(c')      h' = W_hr h'  when proj_size > 0
 * GRU:  r = σ(W_ir x + b_ir + W_hr h + b_hr)   z = σ(..z..)                                     (row blocks r,z,n)
 *       n = tanh(W_in x + b_in + r*(W_hn h + b_hn))      h' = (1-z)*n + z*h
 * </pre>
 *
 * Layers: {@code num_layers} stacked (layer {@code k > 0} reads the previous layer's output), forward and
 * reverse directions concatenated ({@code [fwd | rev]}) or merged by rnnkit's merge modes, state index
 * {@code layer * D + direction}, {@code batch_first}, unbatched input (as B = 1), {@code h0}/{@code c0} or
 * zeros, and per-row lengths with the semantics of {@code testdata/golden/README.md} ("Variable-length
 * batches"): row {@code b} runs steps {@code 0..n-1} only, the reverse direction starts at {@code n-1},
 * {@code output} is 0 at {@code t >= n}, {@code h_n}/{@code c_n} are each direction's state after its own
 * last step, and upper layers read only valid steps.
 *
 * <p>Cell variants (ONNX's operators, in PyTorch's gate order), from the ONNX operator specification:
 *
 * <pre>
 * RNN:  h' = f(clip(W_ih x + b_ih + W_hh h + b_hh))
 * GRU:  r = f(clip(..r..))   z = f(clip(..z..))   n = g(clip(W_in x + b_in + r*(W_hn h + b_hn)))
 *       or, reset before the product,             n = g(clip(W_in x + b_in + W_hn (r*h) + b_hn))
 * LSTM: i = f(clip(..i.. + p_i*c))   f = 1 - i (input_forget) or f(clip(..f.. + p_f*c))   g = g(clip(..g..))
 *       c' = f*c + i*g   o = f(clip(..o.. + p_o*c'))   h' = o*h(c')
 * </pre>
 * with the activation functions of ONNX's table ({@link #activation}), clip(v) = min(max(v, -clip), clip).
 * A reverse-only layer runs its one direction as a bidirectional layer runs its second.
 *
 * <p>Every value is a double; nothing here calls rnnkit's compute path (it reads configurations and plain
 * arrays only). A {@link Flaw} can be switched on to model a typical implementation error: the property
 * test uses that to show that its tolerance catches such errors (that it is not loose).
 */
public final class Oracle {
    private Oracle() {}

    /** Deliberate errors, for checking that the comparison would catch a faulty backend. */
    public enum Flaw {
        NONE,
        /** sigmoid and tanh with a relative error of 1e-4 (about 840 float32 ulps). */
        ACTIVATION_REL_1E4,
        /** sigmoid and tanh with a relative error of 1e-5 (about 84 float32 ulps). */
        ACTIVATION_REL_1E5,
        /** GRU: {@code b_hn} added outside {@code r * (...)}, as {@code tanh(W_in x + b_in + b_hn + r*(W_hn h))}. */
        GRU_BHN_OUTSIDE_R,
        /** LSTM: the {@code g} and {@code o} row blocks swapped (gate order i, f, o, g). */
        LSTM_GATES_IFOG,
        /** Per-row lengths: the reverse direction starts at step {@code T-1} instead of the row's own last step. */
        REVERSE_STARTS_AT_T,
        /** LSTM peepholes: the output gate sees the incoming cell state instead of the new one. */
        PEEPHOLE_O_SEES_OLD_C,
        /** Clip: the cell output's {@code h(c')} clipped too. */
        CLIP_CELL_OUTPUT,
        /** GRU with the reset gate before the product computed as PyTorch's form, {@code r*(W_hn h + b_hn)}. */
        RESET_AFTER_FOR_BEFORE
    }

    /** A layer's (or, with one layer, a cell's) description for the oracle: the fields of {@code RecurrentConfig}. */
    public record Spec(CellType type, int input, int hidden, int layers, boolean bias, boolean batchFirst,
            boolean bidirectional, int proj, MergeMode merge, boolean reverse, CellVariant variant) {
        public Spec(CellType type, int input, int hidden, int layers, boolean bias, boolean batchFirst,
                boolean bidirectional, int proj, MergeMode merge) {
            this(type, input, hidden, layers, bias, batchFirst, bidirectional, proj, merge, false, CellVariant.NONE);
        }

        int dirs() {
            return bidirectional ? 2 : 1;
        }

        int hOut() {
            return proj > 0 ? proj : hidden;
        }

        int outW() {
            return merge == MergeMode.CONCAT ? dirs() * hOut() : hOut();
        }
    }

    /** Results in PyTorch's layouts, in double: output, h_n {@code (S, B, H_out)}, c_n {@code (S, B, H)} or null. */
    public record Result(double[] output, double[] hN, double[] cN) {}

    /** Parameters as doubles (exact widening), by state_dict name. */
    public static Map<String, double[]> widen(Map<String, Tensor> stateDict) {
        Map<String, double[]> m = new LinkedHashMap<>();
        stateDict.forEach((k, v) -> m.put(k, widen(v)));
        return m;
    }

    /** A tensor's values as doubles (exact), or null for null. */
    public static double[] widen(Tensor t) {
        if (t == null) {
            return null;
        }
        double[] d = new double[t.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = t.data()[i];
        }
        return d;
    }

    /** {@link #layer(Spec, Map, double[], int, int, int[], double[], double[], Flaw)} without a flaw. */
    public static Result layer(Spec s, Map<String, double[]> p, double[] x, int seqLen, int batch, int[] lengths,
            double[] h0, double[] c0) {
        return layer(s, p, x, seqLen, batch, lengths, h0, c0, Flaw.NONE);
    }

    /**
     * Runs a layer.
     *
     * @param x input in the layer's layout: {@code (T, B, I)}, {@code (B, T, I)} with batch_first, or
     *     unbatched {@code (T, I)} passed as B = 1
     * @param lengths valid steps per row (each {@code 1..T}), or null for T everywhere
     * @param h0 {@code (S, B, H_out)} or null for zeros; {@code c0} {@code (S, B, H)} or null for zeros
     */
    public static Result layer(Spec s, Map<String, double[]> p, double[] x, int seqLen, int batch, int[] lengths,
            double[] h0, double[] c0, Flaw flaw) {
        final int hOut = s.hOut(), hid = s.hidden, d = s.dirs();
        final int states = s.layers * d;
        double[] hN = new double[states * batch * hOut];
        double[] cN = s.type == CellType.LSTM ? new double[states * batch * hid] : null;
        // time-major working copy of the input: in[(t * B + b) * inW + i]
        int inW = s.input;
        double[] in = new double[seqLen * batch * inW];
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                int src = s.batchFirst ? (b * seqLen + t) * inW : (t * batch + b) * inW;
                System.arraycopy(x, src, in, (t * batch + b) * inW, inW);
            }
        }
        for (int k = 0; k < s.layers; k++) {
            double[] both = new double[seqLen * batch * d * hOut]; // [fwd | rev] per (t, b); zeros at padded steps
            for (int dir = 0; dir < d; dir++) {
                String sfx = "_l" + k + (dir == 1 ? "_reverse" : "");
                int st = k * d + dir;
                for (int b = 0; b < batch; b++) {
                    int len = lengths == null ? seqLen : lengths[b];
                    int last = flaw == Flaw.REVERSE_STARTS_AT_T ? seqLen - 1 : len - 1;
                    boolean backwards = dir == 1 || s.reverse;
                    double[] h = new double[hOut], c = new double[hid];
                    if (h0 != null) {
                        System.arraycopy(h0, (st * batch + b) * hOut, h, 0, hOut);
                    }
                    if (c0 != null) {
                        System.arraycopy(c0, (st * batch + b) * hid, c, 0, hid);
                    }
                    for (int step = 0; step < len; step++) {
                        int t = backwards ? last - step : step;
                        double[] xt = new double[inW];
                        System.arraycopy(in, (t * batch + b) * inW, xt, 0, inW);
                        double[][] hc = step(s, p, sfx, xt, h, c, flaw);
                        h = hc[0];
                        c = hc[1];
                        System.arraycopy(h, 0, both, (t * batch + b) * d * hOut + dir * hOut, hOut);
                    }
                    System.arraycopy(h, 0, hN, (st * batch + b) * hOut, hOut);
                    if (cN != null) {
                        System.arraycopy(c, 0, cN, (st * batch + b) * hid, hid);
                    }
                }
            }
            int w = s.outW();
            double[] out = new double[seqLen * batch * w];
            for (int r = 0; r < seqLen * batch; r++) {
                for (int j = 0; j < w; j++) {
                    out[r * w + j] = s.merge == MergeMode.CONCAT ? both[r * d * hOut + j]
                            : merge(s.merge, both[r * 2 * hOut + j], both[r * 2 * hOut + hOut + j]);
                }
            }
            in = out;
            inW = w;
        }
        // back to the caller's layout
        int w = s.outW();
        double[] output = new double[seqLen * batch * w];
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                int dst = s.batchFirst ? (b * seqLen + t) * w : (t * batch + b) * w;
                System.arraycopy(in, (t * batch + b) * w, output, dst, w);
            }
        }
        return new Result(output, hN, cN);
    }

    /**
     * A cell: one step for every row of a batch. {@code x} {@code (B, I)}, {@code h} and {@code c}
     * {@code (B, H)} or null for zeros. Returns {@code {h', c'}} ({@code c'} null unless LSTM).
     */
    public static double[][] cell(Spec s, Map<String, double[]> p, double[] x, int batch, double[] h, double[] c,
            Flaw flaw) {
        int in = s.input, hid = s.hidden;
        double[] hOut = new double[batch * hid], cOut = s.type == CellType.LSTM ? new double[batch * hid] : null;
        for (int b = 0; b < batch; b++) {
            double[] xb = java.util.Arrays.copyOfRange(x, b * in, (b + 1) * in);
            double[] hb = h == null ? new double[hid] : java.util.Arrays.copyOfRange(h, b * hid, (b + 1) * hid);
            double[] cb = c == null ? new double[hid] : java.util.Arrays.copyOfRange(c, b * hid, (b + 1) * hid);
            double[][] hc = step(s, p, "", xb, hb, cb, flaw);
            System.arraycopy(hc[0], 0, hOut, b * hid, hid);
            if (cOut != null) {
                System.arraycopy(hc[1], 0, cOut, b * hid, hid);
            }
        }
        return new double[][] {hOut, cOut};
    }

    /** One step of one row without a flaw: {@code {h', c'}}. */
    public static double[][] step(Spec s, Map<String, double[]> p, String sfx, double[] x, double[] h, double[] c) {
        return step(s, p, sfx, x, h, c, Flaw.NONE);
    }

    /**
     * One step of one row: returns {@code {h', c'}} ({@code c'} is {@code c} unchanged unless LSTM). The
     * parameter names are {@code weight_ih + sfx} etc.: {@code sfx = "_l0_reverse"} for layers, {@code ""}
     * for cells.
     */
    public static double[][] step(Spec s, Map<String, double[]> p, String sfx, double[] x, double[] h, double[] c,
            Flaw flaw) {
        final int hid = s.hidden, hOut = s.hOut(), in = x.length;
        double[] wIh = p.get("weight_ih" + sfx), wHh = p.get("weight_hh" + sfx);
        double[] bIh = p.get("bias_ih" + sfx), bHh = p.get("bias_hh" + sfx);
        int rows = s.type.gates() * hid;
        double[] gi = new double[rows], gh = new double[rows]; // W_ih x + b_ih and W_hh h + b_hh, per gate row
        for (int r = 0; r < rows; r++) {
            double a = bIh == null ? 0 : bIh[r], bb = bHh == null ? 0 : bHh[r];
            for (int i = 0; i < in; i++) {
                a += wIh[r * in + i] * x[i];
            }
            for (int j = 0; j < hOut; j++) {
                bb += wHh[r * hOut + j] * h[j];
            }
            gi[r] = a;
            gh[r] = bb;
        }
        double[] hNew = new double[hOut], cNew = c.clone();
        if (!s.variant.isDefault()) {
            return variantStep(s, p, sfx, h, c, gi, gh, flaw);
        }
        switch (s.type) {
            case RNN_TANH -> {
                for (int j = 0; j < hid; j++) {
                    hNew[j] = tanh(gi[j] + gh[j], flaw);
                }
            }
            case RNN_RELU -> {
                for (int j = 0; j < hid; j++) {
                    hNew[j] = Math.max(0, gi[j] + gh[j]);
                }
            }
            case LSTM -> {
                int gBlock = flaw == Flaw.LSTM_GATES_IFOG ? 3 : 2, oBlock = flaw == Flaw.LSTM_GATES_IFOG ? 2 : 3;
                double[] full = new double[hid];
                for (int j = 0; j < hid; j++) {
                    double i = sigmoid(gi[j] + gh[j], flaw);
                    double f = sigmoid(gi[hid + j] + gh[hid + j], flaw);
                    double g = tanh(gi[gBlock * hid + j] + gh[gBlock * hid + j], flaw);
                    double o = sigmoid(gi[oBlock * hid + j] + gh[oBlock * hid + j], flaw);
                    cNew[j] = f * c[j] + i * g;
                    full[j] = o * tanh(cNew[j], flaw);
                }
                if (s.proj > 0) {
                    double[] whr = p.get("weight_hr" + sfx);
                    for (int q = 0; q < s.proj; q++) {
                        double v = 0;
                        for (int j = 0; j < hid; j++) {
                            v += whr[q * hid + j] * full[j];
                        }
                        hNew[q] = v;
                    }
                } else {
                    hNew = full;
                }
            }
            case GRU -> {
                for (int j = 0; j < hid; j++) {
                    double r = sigmoid(gi[j] + gh[j], flaw);
                    double z = sigmoid(gi[hid + j] + gh[hid + j], flaw);
                    double n;
                    if (flaw == Flaw.GRU_BHN_OUTSIDE_R && bHh != null) {
                        double bhn = bHh[2 * hid + j];
                        n = tanh(gi[2 * hid + j] + bhn + r * (gh[2 * hid + j] - bhn), flaw);
                    } else {
                        n = tanh(gi[2 * hid + j] + r * gh[2 * hid + j], flaw);
                    }
                    hNew[j] = (1 - z) * n + z * h[j];
                }
            }
        }
        return new double[][] {hNew, cNew};
    }

    static double sigmoid(double v, Flaw flaw) {
        return flawed(1 / (1 + Math.exp(-v)), flaw);
    }

    static double tanh(double v, Flaw flaw) {
        return flawed(Math.tanh(v), flaw);
    }

    private static double flawed(double v, Flaw flaw) {
        return switch (flaw) {
            case ACTIVATION_REL_1E4 -> v * (1 + 1e-4);
            case ACTIVATION_REL_1E5 -> v * (1 + 1e-5);
            default -> v;
        };
    }

    static double merge(MergeMode m, double a, double b) {
        return switch (m) {
            case SUM -> a + b;
            case MUL -> a * b;
            case AVERAGE -> (a + b) / 2;
            case CONCAT -> throw new IllegalArgumentException("concat is not a merge");
        };
    }

    /** Closest distance of a ThresholdedRelu input to its threshold since the last reset (per thread). */
    private static final ThreadLocal<double[]> NEAREST_JUMP = ThreadLocal.withInitial(() -> new double[] {Double.MAX_VALUE});

    /**
     * Resets and returns the closest approach of any ThresholdedRelu input to its threshold, where the
     * function jumps by alpha: a case that comes within float32 resolution of it has no stable value.
     */
    public static double nearestJump(boolean reset) {
        double[] v = NEAREST_JUMP.get();
        double d = v[0];
        if (reset) {
            v[0] = Double.MAX_VALUE;
        }
        return d;
    }

    /** ONNX's activation functions (the operator specification's table), in double. */
    static double activation(Activation a, double x) {
        double al = a.alpha(), be = a.beta();
        return switch (a.function()) {
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case TANH -> Math.tanh(x);
            case RELU -> Math.max(0, x);
            case HARD_SIGMOID -> Math.min(1, Math.max(0, al * x + be));
            case AFFINE -> al * x + be;
            case LEAKY_RELU -> x >= 0 ? x : al * x;
            case THRESHOLDED_RELU -> {
                double[] near = NEAREST_JUMP.get();
                near[0] = Math.min(near[0], Math.abs(x - al));
                yield x > al ? x : 0;
            }
            case SCALED_TANH -> al * Math.tanh(be * x);
            case ELU -> x >= 0 ? x : al * (Math.exp(x) - 1);
            case SOFTSIGN -> x / (1 + Math.abs(x));
            case SOFTPLUS -> Math.log(1 + Math.exp(x));
        };
    }

    private static double clip(CellVariant v, double x) {
        return v.hasClip() ? Math.min(Math.max(x, -v.clip()), v.clip()) : x;
    }

    /** One step of a cell variant from the input and recurrent pre-activations {@code gi}, {@code gh}. */
    private static double[][] variantStep(Spec s, Map<String, double[]> p, String sfx, double[] h, double[] c,
            double[] gi, double[] gh, Flaw flaw) {
        CellVariant v = s.variant;
        int hid = s.hidden;
        java.util.List<Activation> acts = v.activationsOf(sfx.endsWith("_reverse") ? 1 : 0, s.type.activationSlots());
        if (acts.isEmpty()) {
            acts = s.type.defaultActivations();
        }
        Activation f = acts.get(0), g = acts.size() > 1 ? acts.get(1) : null, hAct = acts.size() > 2 ? acts.get(2) : null;
        double[] hNew = new double[s.hOut()], cNew = c.clone();
        switch (s.type) {
            case RNN_TANH, RNN_RELU -> {
                for (int j = 0; j < hid; j++) {
                    hNew[j] = activation(f, clip(v, gi[j] + gh[j]));
                }
            }
            case GRU -> {
                double[] r = new double[hid], z = new double[hid];
                for (int j = 0; j < hid; j++) {
                    r[j] = activation(f, clip(v, gi[j] + gh[j]));
                    z[j] = activation(f, clip(v, gi[hid + j] + gh[hid + j]));
                }
                double[] wHh = p.get("weight_hh" + sfx), bHh = p.get("bias_hh" + sfx);
                for (int j = 0; j < hid; j++) {
                    double pre;
                    if (v.resetBeforeProduct() && flaw != Flaw.RESET_AFTER_FOR_BEFORE) {
                        double rh = bHh == null ? 0 : bHh[2 * hid + j];
                        for (int k = 0; k < hid; k++) {
                            rh += wHh[(2 * hid + j) * hid + k] * (r[k] * h[k]);
                        }
                        pre = gi[2 * hid + j] + rh;
                    } else {
                        pre = gi[2 * hid + j] + r[j] * gh[2 * hid + j];
                    }
                    double n = activation(g, clip(v, pre));
                    hNew[j] = (1 - z[j]) * n + z[j] * h[j];
                }
            }
            case LSTM -> {
                double[] peep = v.peepholes() ? p.get("weight_peephole" + sfx) : new double[3 * hid];
                double[] full = new double[hid];
                for (int j = 0; j < hid; j++) {
                    double i = activation(f, clip(v, gi[j] + gh[j] + peep[j] * c[j]));
                    double fg = v.inputForget() ? 1 - i : activation(f, clip(v, gi[hid + j] + gh[hid + j] + peep[hid + j] * c[j]));
                    double cand = activation(g, clip(v, gi[2 * hid + j] + gh[2 * hid + j]));
                    cNew[j] = fg * c[j] + i * cand;
                    double seen = flaw == Flaw.PEEPHOLE_O_SEES_OLD_C ? c[j] : cNew[j];
                    double o = activation(f, clip(v, gi[3 * hid + j] + gh[3 * hid + j] + peep[2 * hid + j] * seen));
                    full[j] = o * activation(hAct, flaw == Flaw.CLIP_CELL_OUTPUT ? clip(v, cNew[j]) : cNew[j]);
                }
                if (s.proj > 0) {
                    double[] whr = p.get("weight_hr" + sfx);
                    for (int q = 0; q < s.proj; q++) {
                        double val = 0;
                        for (int j = 0; j < hid; j++) {
                            val += whr[q * hid + j] * full[j];
                        }
                        hNew[q] = val;
                    }
                } else {
                    hNew = full;
                }
            }
        }
        return new double[][] {hNew, cNew};
    }
}
