package org.rnnkit.tests.oracle;

import java.util.LinkedHashMap;
import java.util.Map;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.MergeMode;

/**
 * An independent double-precision implementation of PyTorch's recurrent layers and cells, written
 * straight from the equations of the PyTorch 1.13 documentation (LSTM gates i, f, g, o; GRU r, z, n with
 * {@code n = tanh(W_in x + b_in + r*(W_hn h + b_hn))}, {@code h' = (1-z)*n + z*h}), with per-row lengths
 * as {@code pack_padded_sequence}, and rnnkit's merge modes. It shares no code with rnnkit's compute path:
 * it only reads configurations and plain arrays.
 */
public final class Oracle {
    private Oracle() {}

    /** A layer's description for the oracle (the fields of {@code RecurrentConfig}). */
    public record Spec(CellType type, int input, int hidden, int layers, boolean bias, boolean batchFirst,
            boolean bidirectional, int proj, MergeMode merge) {
        int dirs() {
            return bidirectional ? 2 : 1;
        }

        int hOut() {
            return proj > 0 ? proj : hidden;
        }

        int outW() {
            return merge == MergeMode.CONCAT ? dirs() * hOut() : hOut();
        }

        int gates() {
            return type.gates();
        }
    }

    /** Results in PyTorch's layouts (same as rnnkit's), in double. */
    public record Result(double[] output, double[] hN, double[] cN) {}

    /** Parameters as doubles, by state_dict name. */
    public static Map<String, double[]> widen(Map<String, org.rnnkit.tensor.Tensor> sd) {
        Map<String, double[]> m = new LinkedHashMap<>();
        sd.forEach((k, v) -> {
            double[] d = new double[v.size()];
            for (int i = 0; i < d.length; i++) {
                d[i] = v.data()[i];
            }
            m.put(k, d);
        });
        return m;
    }

    /**
     * Runs a layer.
     *
     * @param x input in the layer's layout ({@code (T,B,I)}, {@code (B,T,I)}, or unbatched with B=1)
     * @param lengths per row, or null
     * @param h0 {@code (S, B, H_out)} or null; {@code c0} {@code (S, B, H)} or null
     */
    public static Result layer(Spec s, Map<String, double[]> p, double[] x, int seqLen, int batch, int[] lengths,
            double[] h0, double[] c0) {
        int hOut = s.hOut(), hid = s.hidden, d = s.dirs();
        int states = s.layers * d;
        double[] hN = new double[states * batch * hOut];
        double[] cN = s.type == CellType.LSTM ? new double[states * batch * hid] : null;
        // time-major working copy of the input: in[t][b][i]
        int inW = s.input;
        double[] in = new double[seqLen * batch * inW];
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                int src = s.batchFirst ? (b * seqLen + t) * inW : (t * batch + b) * inW;
                System.arraycopy(x, src, in, (t * batch + b) * inW, inW);
            }
        }
        double[] out = null;
        for (int k = 0; k < s.layers; k++) {
            double[] both = new double[seqLen * batch * d * hOut];
            for (int dir = 0; dir < d; dir++) {
                String sfx = "_l" + k + (dir == 1 ? "_reverse" : "");
                int st = k * d + dir;
                for (int b = 0; b < batch; b++) {
                    int len = lengths == null ? seqLen : lengths[b];
                    double[] h = new double[hOut], c = new double[hid];
                    if (h0 != null) {
                        System.arraycopy(h0, (st * batch + b) * hOut, h, 0, hOut);
                    }
                    if (c0 != null) {
                        System.arraycopy(c0, (st * batch + b) * hid, c, 0, hid);
                    }
                    for (int step = 0; step < len; step++) {
                        int t = dir == 1 ? len - 1 - step : step;
                        double[] xt = new double[inW];
                        System.arraycopy(in, (t * batch + b) * inW, xt, 0, inW);
                        double[][] hc = step(s, p, sfx, xt, h, c);
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
            out = new double[seqLen * batch * w];
            for (int r = 0; r < seqLen * batch; r++) {
                for (int j = 0; j < (w == d * hOut ? w : hOut); j++) {
                    out[r * w + j] = w == d * hOut ? both[r * d * hOut + j]
                            : merge(s.merge, both[r * 2 * hOut + j], both[r * 2 * hOut + hOut + j]);
                }
            }
            in = out;
            inW = w;
        }
        // back to the user's layout
        int w = s.outW();
        double[] output = new double[seqLen * batch * w];
        for (int t = 0; t < seqLen; t++) {
            for (int b = 0; b < batch; b++) {
                int dst = s.batchFirst ? (b * seqLen + t) * w : (t * batch + b) * w;
                System.arraycopy(out, (t * batch + b) * w, output, dst, w);
            }
        }
        return new Result(output, hN, cN);
    }

    /** One cell step for one row: returns {h', c'}. Also the cells' equation ({@code sfx} = "" for cells). */
    public static double[][] step(Spec s, Map<String, double[]> p, String sfx, double[] x, double[] h, double[] c) {
        int hid = s.hidden, hOut = s.hOut(), in = x.length;
        double[] wIh = p.get("weight_ih" + sfx), wHh = p.get("weight_hh" + sfx);
        double[] bIh = p.get("bias_ih" + sfx), bHh = p.get("bias_hh" + sfx);
        int rows = s.gates() * hid;
        double[] gi = new double[rows], gh = new double[rows];
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
        switch (s.type) {
            case RNN_TANH, RNN_RELU -> {
                for (int j = 0; j < hid; j++) {
                    double v = gi[j] + gh[j];
                    hNew[j] = s.type == CellType.RNN_TANH ? Math.tanh(v) : Math.max(0, v);
                }
            }
            case LSTM -> {
                double[] full = new double[hid];
                for (int j = 0; j < hid; j++) {
                    double i = sigmoid(gi[j] + gh[j]), f = sigmoid(gi[hid + j] + gh[hid + j]);
                    double g = Math.tanh(gi[2 * hid + j] + gh[2 * hid + j]), o = sigmoid(gi[3 * hid + j] + gh[3 * hid + j]);
                    cNew[j] = f * c[j] + i * g;
                    full[j] = o * Math.tanh(cNew[j]);
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
                    double r = sigmoid(gi[j] + gh[j]), z = sigmoid(gi[hid + j] + gh[hid + j]);
                    double n = Math.tanh(gi[2 * hid + j] + r * gh[2 * hid + j]);
                    hNew[j] = (1 - z) * n + z * h[j];
                }
            }
        }
        return new double[][] {hNew, cNew};
    }

    static double sigmoid(double v) {
        return 1 / (1 + Math.exp(-v));
    }

    static double merge(MergeMode m, double a, double b) {
        return switch (m) {
            case SUM -> a + b;
            case MUL -> a * b;
            case AVERAGE -> (a + b) / 2;
            case CONCAT -> throw new IllegalArgumentException("concat");
        };
    }
}
