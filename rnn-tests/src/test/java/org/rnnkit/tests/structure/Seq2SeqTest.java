package org.rnnkit.tests.structure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.CellType;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.TestData;
import org.rnnkit.train.Adam;
import org.rnnkit.train.Clipping;
import org.rnnkit.train.Seq2Seq;
import org.rnnkit.train.SequenceModel;

/** {@link Seq2Seq}'s decoding and variable lengths, and that it learns. */
class Seq2SeqTest {

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void aBeamOfWidthOneIsGreedyDecoding(Backend backend) {
        for (Seq2Seq.Form form : Seq2Seq.Form.values()) {
            Seq2Seq m = Seq2Seq.create(form, CellType.LSTM, 3, 8, 2, 6, 11, backend);
            Tensor source = TestData.normal(new SplittableRandom(4), 5, 4, 3);
            for (int end : new int[] {-1, 2}) {
                int[][] greedy = m.greedy(source, new int[] {5, 3, 1, 4}, 7, end);
                for (double alpha : new double[] {0, 1}) {
                    int[][] beam = m.beamSearch(source, new int[] {5, 3, 1, 4}, 7, end, 1, alpha);
                    for (int b = 0; b < 4; b++) {
                        assertArrayEquals(greedy[b], beam[b], form + " end " + end + " alpha " + alpha + " row " + b);
                    }
                }
            }
        }
    }

    /**
     * A beam wide enough to keep every hypothesis is an exhaustive search: its answer is the best of every
     * possible target, each scored independently through the teacher-forced training pass (total
     * log-probability = -length x mean cross-entropy).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void aWideBeamFindsWhatAnExhaustiveSearchFinds(Backend backend) {
        int vocab = 4, end = 3, maxLength = 3;
        for (Seq2Seq.Form form : Seq2Seq.Form.values()) {
            Seq2Seq m = Seq2Seq.create(form, CellType.GRU, 2, 6, 1, vocab, 21, backend);
            Tensor source = TestData.normal(new SplittableRandom(9), 4, 3, 2);
            for (double alpha : new double[] {0, 1}) {
                int[][] beam = m.beamSearch(source, null, maxLength, end, 64, alpha);
                for (int b = 0; b < 3; b++) {
                    Tensor row = Tensor.zeros(4, 1, 2);
                    for (int t = 0; t < 4; t++) {
                        System.arraycopy(source.data(), (t * 3 + b) * 2, row.data(), t * 2, 2);
                    }
                    int[] best = null;
                    double bestScore = Double.NEGATIVE_INFINITY;
                    for (int[] y : targets(vocab, end, maxLength)) {
                        double logProb = -y.length * m.lossAndGradients(row, null, y, null).loss();
                        double score = alpha == 0 ? logProb : logProb / Math.pow(y.length, alpha);
                        if (score > bestScore) {
                            bestScore = score;
                            best = y;
                        }
                    }
                    int[] padded = Arrays.copyOf(best, maxLength);
                    Arrays.fill(padded, best.length, maxLength, end);
                    assertArrayEquals(padded, beam[b], form + " alpha " + alpha + " row " + b);
                }
            }
        }
    }

    /** Every target up to {@code maxLength} tokens that ends at its first end token (or at maxLength). */
    private static List<int[]> targets(int vocab, int end, int maxLength) {
        List<int[]> all = new ArrayList<>();
        List<int[]> open = new ArrayList<>(List.of(new int[0]));
        for (int len = 1; len <= maxLength; len++) {
            List<int[]> next = new ArrayList<>();
            for (int[] p : open) {
                for (int v = 0; v < vocab; v++) {
                    int[] y = Arrays.copyOf(p, len);
                    y[len - 1] = v;
                    if (v == end || len == maxLength) {
                        all.add(y);
                    } else {
                        next.add(y);
                    }
                }
            }
            open = next;
        }
        return all;
    }

    /**
     * Padding is neither read nor counted: a batch of rows with their own source and target lengths has the
     * loss and gradients of its rows run alone, weighted by their target lengths (the mean is over the
     * counted steps). Float sums in another grouping: within 1e-5 of the gradients' scale.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void paddedRowsGiveWhatTheyGiveAlone(Backend backend) {
        for (Seq2Seq.Form form : Seq2Seq.Form.values()) {
            Seq2Seq m = Seq2Seq.create(form, CellType.LSTM, 3, 5, 2, 6, 5, backend);
            SplittableRandom rnd = new SplittableRandom(2);
            int ts = 6, tt = 5, batch = 3;
            int[] srcLen = {6, 2, 4}, tgtLen = {3, 5, 1};
            Tensor source = TestData.normal(rnd, ts, batch, 3);
            int[] targets = new int[tt * batch];
            for (int i = 0; i < targets.length; i++) {
                targets[i] = 1 + rnd.nextInt(5);
            }
            SequenceModel.Step all = m.lossAndGradients(source, srcLen, targets, tgtLen);
            double loss = all.loss();
            Map<String, float[]> grads = new java.util.LinkedHashMap<>();
            all.gradients().forEach((k, v) -> grads.put(k, v.data().clone()));
            double total = 0;
            Map<String, double[]> sum = new java.util.LinkedHashMap<>();
            for (int b = 0; b < batch; b++) {
                Tensor row = Tensor.zeros(srcLen[b], 1, 3);
                for (int t = 0; t < srcLen[b]; t++) {
                    System.arraycopy(source.data(), (t * batch + b) * 3, row.data(), t * 3, 3);
                }
                int[] y = new int[tgtLen[b]];
                for (int t = 0; t < tgtLen[b]; t++) {
                    y[t] = targets[t * batch + b];
                }
                SequenceModel.Step one = m.lossAndGradients(row, null, y, null);
                total += one.loss() * tgtLen[b];
                for (Map.Entry<String, Tensor> e : one.gradients().entrySet()) {
                    double[] s = sum.computeIfAbsent(e.getKey(), k -> new double[e.getValue().size()]);
                    for (int i = 0; i < s.length; i++) {
                        s[i] += e.getValue().data()[i] * (double) tgtLen[b];
                    }
                }
            }
            int counted = Arrays.stream(tgtLen).sum();
            assertEquals(total / counted, loss, 1e-5 * Math.max(1, loss), form + ": loss");
            for (Map.Entry<String, float[]> e : grads.entrySet()) {
                double[] s = sum.get(e.getKey());
                double scale = 1;
                for (double v : s) {
                    scale = Math.max(scale, Math.abs(v / counted));
                }
                for (int i = 0; i < s.length; i++) {
                    assertEquals(s[i] / counted, e.getValue()[i], 1e-5 * scale, form + ": " + e.getKey() + "[" + i + "]");
                }
            }
        }
    }

    /**
     * An embedding table is a factor of the decoder's input weights: the model with table {@code T (V, E)} and
     * input weights {@code W'} computes what the one-hot model with {@code W[:, v] = W'[:, :E] T[v]} computes
     * (the context columns unchanged), up to float summation order (1e-5 of the logits' scale).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void anEmbeddingTableIsAFactorOfTheInputWeights(Backend backend) {
        int vocab = 7, emb = 3, hidden = 5, gates = 4 * hidden;
        for (Seq2Seq.Form form : Seq2Seq.Form.values()) {
            Seq2Seq embedded = Seq2Seq.create(form, CellType.LSTM, 2, hidden, 1, vocab, emb, 8, backend);
            Map<String, Tensor> p = new java.util.LinkedHashMap<>(embedded.parameters());
            Tensor table = p.remove("embedding.weight"), w = p.get("decoder.weight_ih_l0");
            int inE = w.dim(1), inV = inE - emb + vocab;
            Tensor wv = Tensor.zeros(gates, inV);
            for (int g = 0; g < gates; g++) {
                for (int v = 0; v < vocab; v++) {
                    double s = 0;
                    for (int j = 0; j < emb; j++) {
                        s += (double) w.data()[g * inE + j] * table.data()[v * emb + j];
                    }
                    wv.data()[g * inV + v] = (float) s;
                }
                for (int j = emb; j < inE; j++) {
                    wv.data()[g * inV + vocab + j - emb] = w.data()[g * inE + j];
                }
            }
            p.put("decoder.weight_ih_l0", wv);
            Seq2Seq oneHot = Seq2Seq.of(form, CellType.LSTM, 2, hidden, 1, vocab, p, backend);
            Tensor source = TestData.normal(new SplittableRandom(3), 4, 2, 2);
            int[] targets = {1, 2, 3, 4, 5, 6};
            float[] a = embedded.lossAndGradients(source, null, targets, null).logits().data().clone();
            float[] b = oneHot.lossAndGradients(source, null, targets, null).logits().data();
            for (int i = 0; i < a.length; i++) {
                assertEquals(b[i], a[i], 1e-5 * Math.max(1, Math.abs(b[i])), form + ": logits[" + i + "]");
            }
            assertArrayEquals(oneHot.greedy(source, null, 5, -1)[1], embedded.greedy(source, null, 5, -1)[1], form + ": greedy");
        }
    }

    /**
     * The embedding table's gradient against central differences of the loss. Float32 losses, step 1e-2:
     * truncation O(step^2) ~ 1e-4 relative, rounding ~1e-7/1e-2 = 1e-5 relative to the loss; 2e-3 relative
     * plus 2e-4 absolute bounds both, while a gradient sent to the wrong row or step is off by its whole size.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.rnnkit.tests.BackendSource#all")
    void theEmbeddingGradientMatchesDifferences(Backend backend) {
        for (Seq2Seq.Form form : Seq2Seq.Form.values()) {
            Seq2Seq m = Seq2Seq.create(form, CellType.GRU, 2, 6, 2, 5, 4, 12, backend);
            Tensor source = TestData.normal(new SplittableRandom(7), 3, 2, 2);
            int[] targets = {1, 2, 2, 3, 4, 1, 3, 3};
            int[] lengths = {4, 2};
            float[] grad = m.lossAndGradients(source, null, targets, lengths).gradients().get("embedding.weight").data().clone();
            float[] table = m.parameters().get("embedding.weight").data();
            for (int idx : new int[] {0, 5, 9, 14, 19}) { // BOS's row and target tokens' rows
                float keep = table[idx];
                double h = 1e-2;
                table[idx] = (float) (keep + h);
                double up = m.lossAndGradients(source, null, targets, lengths).loss();
                table[idx] = (float) (keep - h);
                double down = m.lossAndGradients(source, null, targets, lengths).loss();
                table[idx] = keep;
                double numeric = (up - down) / (2 * h);
                assertEquals(numeric, grad[idx], 2e-3 * Math.abs(numeric) + 2e-4, form + ": embedding.weight[" + idx + "]");
            }
        }
    }

    /**
     * Learning: reversing a sequence of 4 digits (6 kinds), which the decoder can only do from what the encoder
     * handed it. Seeded; asserts the held-out exact-match accuracy of greedy decoding, not a time.
     */
    @Test
    void learnsToReverseDigits() {
        int digits = 6, len = 4, vocab = digits + 2, end = 1; // 0 BOS, 1 END, 2.. digits
        Seq2Seq m = Seq2Seq.create(Seq2Seq.Form.INIT_STATE, CellType.GRU, digits, 48, 1, vocab, 3, Backends.get());
        Adam adam = new Adam(0.01);
        SplittableRandom rnd = new SplittableRandom(17);
        int batch = 32;
        for (int step = 0; step < 300; step++) {
            int[][] d = new int[batch][];
            Tensor x = reverseTask(rnd, batch, len, digits, d);
            m.trainStep(x, null, reversedTargets(d, len, batch), null, adam, Clipping.byNorm(1.0));
        }
        int[][] d = new int[200][];
        Tensor x = reverseTask(new SplittableRandom(99), 200, len, digits, d);
        int[][] out = m.greedy(x, null, len + 1, end);
        int exact = 0;
        for (int b = 0; b < 200; b++) {
            int[] want = new int[len + 1];
            for (int t = 0; t < len; t++) {
                want[t] = 2 + d[b][len - 1 - t];
            }
            want[len] = end;
            exact += Arrays.equals(want, out[b]) ? 1 : 0;
        }
        System.out.printf("[seq2seq] reversal of %d digits: %d of 200 exact%n", len, exact);
        assertTrue(exact >= 180, "exact matches: " + exact + " of 200");
    }

    private static Tensor reverseTask(SplittableRandom rnd, int batch, int len, int digits, int[][] d) {
        Tensor x = Tensor.zeros(len, batch, digits);
        for (int b = 0; b < batch; b++) {
            d[b] = new int[len];
            for (int t = 0; t < len; t++) {
                d[b][t] = rnd.nextInt(digits);
                x.data()[(t * batch + b) * digits + d[b][t]] = 1f;
            }
        }
        return x;
    }

    private static int[] reversedTargets(int[][] d, int len, int batch) {
        int[] y = new int[(len + 1) * batch];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < len; t++) {
                y[t * batch + b] = 2 + d[b][len - 1 - t];
            }
            y[len * batch + b] = 1;
        }
        return y;
    }
}
