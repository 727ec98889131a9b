package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.json.Json;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.backend.Backend;
import org.rnnkit.train.Adam;
import org.rnnkit.train.Clipping;
import org.rnnkit.train.SequenceModel;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.io.Untrusted;
import org.rnnkit.train.TruncatedBptt;

/**
 * {@code rnnkit train}: a character-level language model (LSTM → Linear → softmax over characters)
 * trained with truncated BPTT, Adam and gradient clipping; writes a PyTorch-loadable checkpoint.
 */
final class TrainCommand implements Main.Command {
    /** Metadata key holding the vocabulary (a JSON string of the characters, in id order). */
    static final String KEY_VOCAB = "vocab";

    @Override
    public String usage() {
        return """
                usage: rnnkit train [--corpus PATH] [--out ckpt.safetensors] [--steps N] [--hidden H]
                                    [--layers L] [--seq-len T] [--batch B] [--lr LR] [--clip NORM]
                                    [--dropout P] [--sample-every N] [--seed S] [--backend NAME]
                                    [--threads N]
                       rnnkit train --task seq2seq ...  (an encoder-decoder on dates: 'rnnkit train --task seq2seq --help')

                Trains a character-level LSTM language model: each step reads T characters from each of B
                streams of the corpus (one-hot input), predicts every next character (softmax
                cross-entropy), back-propagates through the T steps (truncated BPTT: the state carries over
                to the next chunk, the gradient does not), clips the gradients' global norm and takes an
                Adam step. A progress line shows step, loss, characters per second and the time left;
                every --sample-every steps it prints a sample. The checkpoint is a safetensors file with
                PyTorch's names (rnn.weight_ih_l0, ..., head.weight, head.bias); 'rnnkit sample' reads it.

                  --corpus PATH    a text file or a directory of them (default: %s,
                                   the licence texts of Debian's base-files)
                  --out FILE       checkpoint (default: charlm.safetensors), also written every 100 steps
                  --steps N        optimizer steps (default 300)
                  --hidden H       LSTM hidden size (default 128)     --layers L   (default 1)
                  --seq-len T      BPTT length (default 64)           --batch B    (default 16)
                  --lr LR          Adam learning rate (default 0.003) --clip NORM  (default 5)
                  --dropout P      between stacked layers (default 0)
                  --sample-every N (default 100; 0 = never)          --seed S     (default 1)
                  --threads N      threads one kernel call may use (default: the backend's, 1 unless
                                   -Drnnkit.<backend>.threads says otherwise); the results do not depend on it
                """.formatted(CharCorpus.DEBIAN_LICENSES);
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        for (int i = 0; i + 1 < argv.length; i++) {
            if (argv[i].equals("--task")) {
                switch (argv[i + 1]) {
                    case "seq2seq":
                        return new Seq2SeqTrainCommand().run(argv, out, err);
                    case "char-lm":
                        String[] rest = new String[argv.length - 2];
                        System.arraycopy(argv, 0, rest, 0, i);
                        System.arraycopy(argv, i + 2, rest, i, argv.length - i - 2);
                        argv = rest;
                        break;
                    default:
                        throw new Args.BadValueException("--task: expected char-lm or seq2seq, got "
                                + Untrusted.quote(argv[i + 1]));
                }
                break;
            }
        }
        Args a = Args.parse(argv, 0, Set.of("--corpus", "--out", "--steps", "--hidden", "--layers", "--seq-len",
                "--batch", "--lr", "--clip", "--dropout", "--sample-every", "--seed", "--backend", "--threads"), Set.of());
        if (a.help) {
            out.print(usage());
            return 0;
        }
        a.noPositional();
        Path corpusPath = a.get("--corpus") != null ? a.path("--corpus") : Path.of(CharCorpus.DEBIAN_LICENSES);
        if (!Files.isDirectory(corpusPath)) { // a directory of texts, or one text file
            Args.checkedInput("--corpus", corpusPath);
        }
        // checked before the corpus is read and the first step is taken: a bad --out fails now, not at step 100
        Path outFile = a.outputFile("--out", "charlm.safetensors");
        int steps = a.integer("--steps", 300, 1, Integer.MAX_VALUE), hidden = a.integer("--hidden", 128, 1, Integer.MAX_VALUE),
                layers = a.integer("--layers", 1, 1, Integer.MAX_VALUE),
                seqLen = a.integer("--seq-len", 64, 1, Integer.MAX_VALUE),
                batch = a.integer("--batch", 16, 1, Integer.MAX_VALUE),
                sampleEvery = a.integer("--sample-every", 100, 0, Integer.MAX_VALUE);
        double lr = a.number("--lr", 3e-3, 0, true, Double.MAX_VALUE);
        double clip = a.number("--clip", 5, 0, true, Double.MAX_VALUE);
        double dropout = a.number("--dropout", 0, 0, false, 1);
        if (dropout >= 1) {
            throw new Args.BadValueException("--dropout: expected a probability in [0, 1), got " + dropout);
        }
        long seed = a.longInteger("--seed", 1, Long.MIN_VALUE, Long.MAX_VALUE);
        if ((long) seqLen * batch > Integer.MAX_VALUE - 8) {
            throw new Args.BadValueException("--seq-len/--batch: " + seqLen + " x " + batch
                    + " characters per step exceed the largest Java array (2^31 - 9)");
        }
        Backend backend = a.get("--backend") == null ? Backends.get() : Backends.select(a.get("--backend"), "--backend");
        if (a.get("--threads") != null) {
            backend = backend.withThreads(a.integer("--threads", 1, 1, 1024));
        }

        CharCorpus corpus = CharCorpus.read(corpusPath);
        int vocab = corpus.vocab.length();
        int span = corpus.ids.length / batch; // each stream reads its own contiguous part
        if (span < (long) seqLen + 1) {
            throw new Args.BadValueException("--batch/--seq-len: the corpus of " + corpus.ids.length
                    + " characters is too short for " + batch + " streams of " + ((long) seqLen + 1) + " characters");
        }
        RecurrentConfig cfg = new RecurrentConfig(CellType.LSTM, vocab, hidden, layers, true, false, false, 0);
        SequenceModel model = SequenceModel.create(cfg, vocab, seed, backend);
        Adam adam = new Adam(lr);
        Clipping clipping = Clipping.byNorm(clip);
        TruncatedBptt tbptt = new TruncatedBptt(model, seqLen, dropout, seed);
        out.printf(Locale.ROOT, "corpus %s: %,d characters, vocabulary %d; LSTM %d x %d, %d layer(s); backend %s%n",
                corpusPath, corpus.ids.length, vocab, vocab, hidden, layers, backend.name());

        Map<String, String> meta = Map.of(KEY_VOCAB, Json.write(corpus.vocab), "task", "char-lm");
        boolean tty = System.console() != null;
        int pos = 0;
        long start = System.nanoTime();
        double smooth = Math.log(vocab);
        // one step's characters, targets and one-hot input, reused every step
        int[] in = new int[seqLen * batch], target = new int[seqLen * batch];
        Tensor x = Tensor.zeros(seqLen, batch, vocab);
        for (int step = 1; step <= steps; step++) {
            if (pos + seqLen + 1 > span) {
                pos = 0; // streams wrap around: start them afresh
                tbptt.reset();
            }
            for (int t = 0; t < seqLen; t++) {
                for (int b = 0; b < batch; b++) {
                    int at = b * span + pos + t;
                    in[t * batch + b] = corpus.ids[at];
                    target[t * batch + b] = corpus.ids[at + 1];
                }
            }
            pos += seqLen;
            double loss = tbptt.train(CharCorpus.oneHot(in, vocab, x), target, adam, clipping);
            if (!Double.isFinite(loss) || !finite(model)) {
                if (tty) {
                    err.println();
                }
                err.printf(Locale.ROOT, "rnnkit train: diverged at step %d (loss %s%s); %s was not overwritten with it;"
                        + " lower --lr (now %s) or --clip (now %s)%n", step, loss, Double.isFinite(loss) ? ", parameters"
                        + " not finite" : "", outFile, lr, clip);
                return Main.CHECK_FAILED;
            }
            smooth = step == 1 ? loss : 0.9 * smooth + 0.1 * loss;
            double secs = (System.nanoTime() - start) / 1e9;
            double cps = (double) step * seqLen * batch / secs;
            String line = String.format(Locale.ROOT, "step %d/%d  loss %.4f (avg %.4f)  %,.0f chars/s  ETA %s",
                    step, steps, loss, smooth, cps, duration(secs / step * (steps - step)));
            if (tty) {
                err.print("\r" + line + "   ");
            } else if (step % 10 == 0 || step == steps || step == 1) {
                err.println(line);
            }
            if (sampleEvery > 0 && step % sampleEvery == 0) {
                if (tty) {
                    err.println();
                }
                out.println("--- sample after step " + step + " ---");
                out.println(SampleCommand.sample(model, corpus.vocab, corpus.prefix(4), 200, 0.8, seed + step));
            }
            if (step % 100 == 0 || step == steps) {
                model.save(outFile, meta);
            }
        }
        if (tty) {
            err.println();
        }
        out.printf(Locale.ROOT, "wrote %s (%d steps, final average loss %.4f nats/char, %.1f s)%n", outFile, steps,
                smooth, (System.nanoTime() - start) / 1e9);
        return 0;
    }

    /** Whether every parameter is finite (checked each step: a NaN checkpoint must never be written). */
    private static boolean finite(SequenceModel model) {
        for (org.rnnkit.tensor.Tensor t : model.parameters().values()) {
            for (float v : t.data()) {
                if (!Float.isFinite(v)) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String duration(double secs) {
        long s = Math.round(secs);
        return s >= 60 ? (s / 60) + "m" + String.format("%02d", s % 60) + "s" : s + "s";
    }
}
