package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.json.Json;
import org.rnnkit.io.Untrusted;
import org.rnnkit.nn.CellType;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.train.Adam;
import org.rnnkit.train.Clipping;
import org.rnnkit.train.Seq2Seq;

/**
 * {@code rnnkit train --task seq2seq}: an encoder-decoder learns {@link DateTask} (dates in seven formats to
 * ISO 8601) from freshly drawn batches, and reports the exact-match accuracy of greedy decoding on 500
 * held-out dates (drawn from another seed) as it goes.
 */
final class Seq2SeqTrainCommand implements Main.Command {
    static final String KEY_SOURCE_VOCAB = "source_vocab", KEY_TARGET_VOCAB = "target_vocab", TASK = "dates-to-iso";
    static final int HELD_OUT = 500;

    @Override
    public String usage() {
        return """
                usage: rnnkit train --task seq2seq [--out seq2seq.safetensors] [--steps N] [--hidden H]
                                    [--layers L] [--cell lstm|gru|rnn] [--form init|every] [--batch B]
                                    [--lr LR] [--clip NORM] [--eval-every N] [--seed S] [--backend NAME]
                                    [--threads N]

                Trains an encoder-decoder (seq2seq) to write dates given in seven everyday formats
                ("March 7, 2021", "07.03.2021", "Sunday, March 7, 2021", ...) as ISO 8601 ("2021-03-07"),
                character by character: the encoder reads the date one-hot, its final state starts the
                decoder (--form init) or joins the decoder's input at every step (--form every), and the
                decoder writes the answer with teacher forcing. Each step draws a new batch; every
                --eval-every steps the progress line shows the exact-match accuracy of greedy decoding on
                500 held-out dates. 'rnnkit decode --model FILE TEXT...' reads the checkpoint.

                  --steps N        optimizer steps (default 3000)   --batch B     (default 64)
                  --hidden H       (default 128)                    --layers L    (default 1)
                  --cell C         lstm, gru or rnn (default lstm)  --form F      init or every (default init)
                  --lr LR          Adam (default 0.003)             --clip NORM   (default 1)
                  --eval-every N   (default 500)                    --seed S      (default 1)
                  --out FILE       checkpoint (default seq2seq.safetensors), written at the end
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = Args.parse(argv, 0, Set.of("--task", "--out", "--steps", "--hidden", "--layers", "--cell", "--form",
                "--batch", "--lr", "--clip", "--eval-every", "--seed", "--backend", "--threads"), Set.of());
        if (a.help) {
            out.print(usage());
            return 0;
        }
        a.noPositional();
        Path outFile = a.outputFile("--out", "seq2seq.safetensors");
        int steps = a.integer("--steps", 3000, 1, Integer.MAX_VALUE), hidden = a.integer("--hidden", 128, 1, 1 << 16),
                layers = a.integer("--layers", 1, 1, 64), batch = a.integer("--batch", 64, 1, 1 << 16),
                evalEvery = a.integer("--eval-every", 500, 1, Integer.MAX_VALUE);
        double lr = a.number("--lr", 3e-3, 0, true, Double.MAX_VALUE), clip = a.number("--clip", 1, 0, true, Double.MAX_VALUE);
        long seed = a.longInteger("--seed", 1, Long.MIN_VALUE, Long.MAX_VALUE);
        CellType cell = switch (a.options.getOrDefault("--cell", "lstm")) {
            case "lstm" -> CellType.LSTM;
            case "gru" -> CellType.GRU;
            case "rnn" -> CellType.RNN_TANH;
            default -> throw new Args.BadValueException("--cell: expected lstm, gru or rnn, got "
                    + Untrusted.quote(a.options.get("--cell")));
        };
        Seq2Seq.Form form = switch (a.options.getOrDefault("--form", "init")) {
            case "init" -> Seq2Seq.Form.INIT_STATE;
            case "every" -> Seq2Seq.Form.CONTEXT_EVERY_STEP;
            default -> throw new Args.BadValueException("--form: expected init or every, got "
                    + Untrusted.quote(a.options.get("--form")));
        };
        Backend backend = a.get("--backend") == null ? Backends.get() : Backends.select(a.get("--backend"), "--backend");
        if (a.get("--threads") != null) {
            backend = backend.withThreads(a.integer("--threads", 1, 1, 1024));
        }
        int vocab = 2 + DateTask.TARGET_CHARS.length();
        Seq2Seq model = Seq2Seq.create(form, cell, DateTask.SOURCE_CHARS.length(), hidden, layers, vocab, seed, backend);
        Adam adam = new Adam(lr);
        Clipping clipping = Clipping.byNorm(clip);
        out.printf(Locale.ROOT, "task %s: dates in %d formats to ISO 8601; %s %s, hidden %d, %d layer(s); backend %s%n",
                TASK, DateTask.FORMATS.size(), cell, form.structure(), hidden, layers, backend.name());

        // held out: another seed's dates
        List<DateTask.Pair> held = new ArrayList<>();
        SplittableRandom heldRnd = new SplittableRandom(~seed);
        for (int i = 0; i < HELD_OUT; i++) {
            held.add(DateTask.draw(heldRnd));
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        boolean tty = System.console() != null;
        long start = System.nanoTime();
        double smooth = Double.NaN, accuracy = Double.NaN;
        int[] lengths = new int[batch], targets = new int[DateTask.TARGET_LEN * batch];
        for (int step = 1; step <= steps; step++) {
            List<String> sources = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                DateTask.Pair p = DateTask.draw(rnd);
                sources.add(p.source());
                int[] t = DateTask.targetTokens(p.target());
                for (int s = 0; s < t.length; s++) {
                    targets[s * batch + b] = t[s];
                }
            }
            Tensor x = DateTask.sources(sources, lengths);
            double loss = model.trainStep(x, lengths, targets, null, adam, clipping).loss();
            if (!Double.isFinite(loss)) {
                err.printf(Locale.ROOT, "rnnkit train: diverged at step %d (loss %s); lower --lr (now %s)%n", step, loss, lr);
                return Main.CHECK_FAILED;
            }
            smooth = step == 1 ? loss : 0.95 * smooth + 0.05 * loss;
            if (step % evalEvery == 0 || step == steps) {
                accuracy = exactMatch(model, held);
            }
            double secs = (System.nanoTime() - start) / 1e9;
            String line = String.format(Locale.ROOT, "step %d/%d  loss %.4f (avg %.4f)  held-out exact %s  %.0fs",
                    step, steps, loss, smooth, Double.isNaN(accuracy) ? "-" : String.format(Locale.ROOT, "%.1f%%",
                            100 * accuracy), secs);
            if (tty) {
                err.print("\r" + line + "   ");
            } else if (step % 50 == 0 || step == steps || step == 1) {
                err.println(line);
            }
        }
        if (tty) {
            err.println();
        }
        model.save(outFile, Map.of("task", TASK, KEY_SOURCE_VOCAB, Json.write(DateTask.SOURCE_CHARS),
                KEY_TARGET_VOCAB, Json.write(DateTask.TARGET_CHARS)));
        out.printf(Locale.ROOT, "held-out exact match %.1f%% of %d dates after %d steps, %.0f s; wrote %s%n",
                100 * accuracy, HELD_OUT, steps, (System.nanoTime() - start) / 1e9, outFile);
        return 0;
    }

    /** The share of {@code pairs} whose greedy decoding is exactly the ISO date. */
    static double exactMatch(Seq2Seq model, List<DateTask.Pair> pairs) {
        int[] lengths = new int[pairs.size()];
        Tensor x = DateTask.sources(pairs.stream().map(DateTask.Pair::source).toList(), lengths);
        int[][] out = model.greedy(x, lengths, DateTask.TARGET_LEN, DateTask.END);
        int exact = 0;
        for (int b = 0; b < pairs.size(); b++) {
            exact += DateTask.text(out[b]).equals(pairs.get(b).target()) ? 1 : 0;
        }
        return (double) exact / pairs.size();
    }
}
