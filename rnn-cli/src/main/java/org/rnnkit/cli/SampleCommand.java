package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;
import java.util.SplittableRandom;
import org.rnnkit.backend.Backends;
import org.rnnkit.internal.json.Json;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.StreamState;
import org.rnnkit.nn.Linear;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.train.SequenceModel;

/** {@code rnnkit sample}: text from a character-level model written by {@code rnnkit train}. */
final class SampleCommand implements Main.Command {
    @Override
    public String usage() {
        return """
                usage: rnnkit sample --model ckpt.safetensors [--prime TEXT] [--length N]
                                     [--temperature T] [--seed S] [--backend NAME]

                Feeds the prime text through the model, then draws --length characters (default 300), each
                from softmax(logits / T) (default T 0.8; smaller is more conservative), and prints the
                prime followed by them. Every prime character must be in the model's vocabulary.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = Args.parse(argv, 0, Set.of("--model", "--prime", "--length", "--temperature", "--seed", "--backend"),
                Set.of());
        if (a.help) {
            out.print(usage());
            return 0;
        }
        a.noPositional();
        Path file = a.inputFile("--model", null);
        if (file == null) {
            throw new Args.UsageException("missing required option --model");
        }
        int length = a.integer("--length", 300, 0, 100_000_000);
        double temperature = a.number("--temperature", 0.8, 0, true, Double.MAX_VALUE);
        long seed = a.longInteger("--seed", 1, Long.MIN_VALUE, Long.MAX_VALUE);
        Backend backend = a.get("--backend") == null ? Backends.get() : Backends.select(a.get("--backend"), "--backend");
        String vocabJson = SafeTensors.read(file).metadata().get(TrainCommand.KEY_VOCAB);
        if (vocabJson == null) {
            throw new ModelFormatException(file + ": metadata: missing key '" + TrainCommand.KEY_VOCAB
                    + "' (not a character model written by 'rnnkit train')");
        }
        String vocab = Json.asString(Json.parse(vocabJson), "vocab");
        SequenceModel model = SequenceModel.load(file, backend);
        String prime = a.options.getOrDefault("--prime", vocab.indexOf('T') >= 0 ? "The " : vocab.substring(0, 1));
        out.println(sample(model, vocab, prime, length, temperature, seed));
        return 0;
    }

    /** The prime followed by {@code length} sampled characters. */
    static String sample(SequenceModel model, String vocab, String prime, int length, double temperature, long seed) {
        if (prime.isEmpty()) {
            throw new Args.UsageException("--prime: expected at least one character");
        }
        int v = vocab.length(), w = model.config().outputSize();
        RecurrentLayer layer = model.layer();
        Linear head = model.head();
        SplittableRandom rnd = new SplittableRandom(seed);
        // a stream of one row: the prime in one call, then one step per character, into reused arrays
        StreamState state = layer.newStream(1);
        int[] ids = CharCorpus.encode(prime, vocab);
        float[] out = new float[ids.length * w];
        layer.stream(state, CharCorpus.oneHot(ids, ids.length, 1, v).data(), 0, ids.length, out, 0);
        float[] last = java.util.Arrays.copyOfRange(out, (ids.length - 1) * w, ids.length * w);
        Tensor lastRow = Tensor.wrap(last, 1, w); // the head reads the step's output in place
        float[] input = new float[v];
        StringBuilder sb = new StringBuilder(prime);
        for (int i = 0; i < length; i++) {
            int next = draw(head.forward(lastRow).data(), temperature, rnd);
            sb.append(vocab.charAt(next));
            java.util.Arrays.fill(input, 0f);
            input[next] = 1f;
            layer.stream(state, input, 0, 1, last, 0);
        }
        return sb.toString();
    }

    private static int draw(float[] logits, double temperature, SplittableRandom rnd) {
        double max = Double.NEGATIVE_INFINITY;
        for (float z : logits) {
            max = Math.max(max, z / temperature);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            p[i] = Math.exp(logits[i] / temperature - max);
            sum += p[i];
        }
        double u = rnd.nextDouble() * sum;
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u < 0) {
                return i;
            }
        }
        return p.length - 1;
    }
}
