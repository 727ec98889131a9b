package org.rnnkit.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.tensor.Tensor;

/**
 * Inference for {@link Seq2Seq}: greedy decoding and beam search, each step feeding back the chosen tokens.
 *
 * <p>Thread safety: stateless; each call works on the model's immutable snapshots.
 */
final class Decoding {
    private Decoding() {}

    static int[][] greedy(Seq2Seq m, Tensor source, int[] sourceLengths, int maxLength, int endToken) {
        check(m, maxLength, endToken);
        LayerOutput enc = m.encode(source, sourceLengths);
        int batch = source.dim(1), vocab = m.vocab();
        boolean init = m.form() == Seq2Seq.Form.INIT_STATE;
        Tensor context = init ? null : topLayer(m, enc.hN(), batch, null);
        Tensor h = init ? enc.hN() : null, c = init ? enc.cN() : null;
        int[] prev = new int[batch]; // BOS
        int[][] out = new int[batch][maxLength];
        boolean[] done = new boolean[batch];
        float[] logits = new float[batch * vocab];
        for (int t = 0; t < maxLength; t++) {
            LayerOutput o = m.decodeStep(prev, h, c, context, logits);
            h = o.hN();
            c = o.cN();
            boolean all = true;
            for (int b = 0; b < batch; b++) {
                if (done[b]) {
                    out[b][t] = endToken;
                    continue;
                }
                int best = 0;
                for (int v = 1; v < vocab; v++) {
                    if (logits[b * vocab + v] > logits[b * vocab + best]) {
                        best = v; // the lowest index among equals
                    }
                }
                out[b][t] = prev[b] = best;
                done[b] = best == endToken;
                all &= done[b];
            }
            if (all) {
                for (int[] row : out) {
                    Arrays.fill(row, t + 1, maxLength, endToken);
                }
                break;
            }
        }
        return out;
    }

    /** A partial target: its tokens and total log-probability. */
    private record Hyp(int[] tokens, double score) {
        double normalized(double alpha) {
            return alpha == 0 ? score : score / Math.pow(tokens.length, alpha);
        }
    }

    static int[][] beam(Seq2Seq m, Tensor source, int[] sourceLengths, int maxLength, int endToken, int width,
            double alpha) {
        check(m, maxLength, endToken);
        if (width < 1) {
            throw new IllegalArgumentException("width: expected >= 1, got " + width);
        }
        if (!(alpha >= 0) || Double.isInfinite(alpha)) {
            throw new IllegalArgumentException("alpha: expected a finite number >= 0, got " + alpha);
        }
        LayerOutput enc = m.encode(source, sourceLengths);
        int batch = source.dim(1), vocab = m.vocab();
        boolean init = m.form() == Seq2Seq.Form.INIT_STATE;
        int[][] result = new int[batch][];
        for (int b = 0; b < batch; b++) {
            int[] one = {b};
            Tensor h = init ? gather(enc.hN(), batch, one) : null;
            Tensor c = init && enc.cN() != null ? gather(enc.cN(), batch, one) : null;
            Tensor context1 = init ? null : topLayer(m, enc.hN(), batch, one);
            List<Hyp> live = new ArrayList<>(List.of(new Hyp(new int[0], 0)));
            List<Hyp> finished = new ArrayList<>();
            for (int t = 0; t < maxLength && !live.isEmpty(); t++) {
                int k = live.size();
                int[] feed = new int[k], parents = new int[Math.min(width, k * vocab)];
                for (int i = 0; i < k; i++) {
                    int[] tok = live.get(i).tokens;
                    feed[i] = tok.length == 0 ? Seq2Seq.BOS : tok[tok.length - 1];
                }
                Tensor context = context1 == null ? null : gather(context1, 1, new int[k]);
                float[] logits = new float[k * vocab];
                LayerOutput o = m.decodeStep(feed, h, c, context, logits);
                // every expansion by total log-probability, best first; ties: earlier hypothesis, lower token
                int n = k * vocab;
                double[] score = new double[n];
                Integer[] order = new Integer[n];
                for (int i = 0; i < k; i++) {
                    double[] lp = logSoftmax(logits, i * vocab, vocab);
                    for (int v = 0; v < vocab; v++) {
                        score[i * vocab + v] = live.get(i).score + lp[v];
                        order[i * vocab + v] = i * vocab + v;
                    }
                }
                Arrays.sort(order, (x, y) -> score[x] != score[y] ? Double.compare(score[y], score[x]) : Integer.compare(x, y));
                List<Hyp> next = new ArrayList<>();
                int kept = 0;
                for (int j = 0; j < Math.min(width, n); j++) {
                    int e = order[j], parent = e / vocab, token = e % vocab;
                    int[] tok = Arrays.copyOf(live.get(parent).tokens, live.get(parent).tokens.length + 1);
                    tok[tok.length - 1] = token;
                    Hyp hyp = new Hyp(tok, score[e]);
                    if (token == endToken) {
                        finished.add(hyp);
                    } else {
                        next.add(hyp);
                        parents[kept++] = parent;
                    }
                }
                if (kept > 0) {
                    int[] p = Arrays.copyOf(parents, kept);
                    h = gather(o.hN(), k, p);
                    c = o.cN() == null ? null : gather(o.cN(), k, p);
                }
                live = next;
            }
            finished.addAll(live);
            Hyp best = finished.get(0);
            for (Hyp hyp : finished) {
                if (hyp.normalized(alpha) > best.normalized(alpha)) {
                    best = hyp; // the first among equals
                }
            }
            int[] row = Arrays.copyOf(best.tokens, maxLength);
            Arrays.fill(row, best.tokens.length, maxLength, endToken);
            result[b] = row;
        }
        return result;
    }

    static double[] logSoftmax(float[] z, int off, int n) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int v = 0; v < n; v++) {
            max = Math.max(max, z[off + v]);
        }
        for (int v = 0; v < n; v++) {
            sum += Math.exp(z[off + v] - max);
        }
        double lse = max + Math.log(sum);
        double[] lp = new double[n];
        for (int v = 0; v < n; v++) {
            lp[v] = z[off + v] - lse;
        }
        return lp;
    }

    /** The rows {@code rows} of a state {@code (S, batch, W)}, as {@code (S, rows.length, W)}. */
    static Tensor gather(Tensor state, int batch, int[] rows) {
        int s = state.size() / (batch * state.dim(-1)), w = state.dim(-1);
        Tensor out = Tensor.zeros(s, rows.length, w);
        for (int l = 0; l < s; l++) {
            for (int i = 0; i < rows.length; i++) {
                System.arraycopy(state.data(), (l * batch + rows[i]) * w, out.data(), (l * rows.length + i) * w, w);
            }
        }
        return out;
    }

    /** The encoder's last layer's final hidden state, {@code (B, H)}, of the given rows (null: all). */
    private static Tensor topLayer(Seq2Seq m, Tensor hN, int batch, int[] rows) {
        int layers = m.encoderConfig().numLayers(), hidden = m.encoderConfig().hiddenSize();
        int n = rows == null ? batch : rows.length;
        Tensor out = Tensor.zeros(n, hidden);
        for (int i = 0; i < n; i++) {
            int b = rows == null ? i : rows[i];
            System.arraycopy(hN.data(), ((layers - 1) * batch + b) * hidden, out.data(), i * hidden, hidden);
        }
        return out;
    }

    private static void check(Seq2Seq m, int maxLength, int endToken) {
        if (maxLength < 1) {
            throw new IllegalArgumentException("maxLength: expected >= 1, got " + maxLength);
        }
        if (endToken < -1 || endToken >= m.vocab() || endToken == Seq2Seq.BOS) {
            throw new IllegalArgumentException("endToken: expected -1 (none) or a token in 1.." + (m.vocab() - 1)
                    + ", got " + endToken);
        }
    }
}
