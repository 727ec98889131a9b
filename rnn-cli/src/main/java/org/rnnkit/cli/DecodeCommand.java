package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.Untrusted;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.train.Seq2Seq;

/** {@code rnnkit decode}: an encoder-decoder written by {@code rnnkit train --task seq2seq} on given texts. */
final class DecodeCommand implements Main.Command {
    @Override
    public String usage() {
        return """
                usage: rnnkit decode --model FILE [--beam K] [--alpha A] [--backend NAME] TEXT...

                Decodes each TEXT (a date, for the model 'rnnkit train --task seq2seq' writes) greedily and by
                beam search of width K (default 4), and prints one line per text: the text, the greedy
                answer, the beam's answer. The beam keeps the K best partial answers by total
                log-probability and picks the best by log-probability / length^A (default A 1: per token;
                0: total); width 1 is greedy decoding.
                """;
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Args a = Args.parse(argv, 0, Set.of("--model", "--beam", "--alpha", "--backend"), Set.of());
        if (a.help) {
            out.print(usage());
            return 0;
        }
        Path file = a.inputFile("--model", null);
        if (file == null) {
            throw new Args.UsageException("missing required option --model");
        }
        if (a.positional.isEmpty()) {
            throw new Args.UsageException("expected at least one TEXT to decode");
        }
        int width = a.integer("--beam", 4, 1, 1024);
        double alpha = a.number("--alpha", 1, 0, false, 100);
        Backend backend = a.get("--backend") == null ? Backends.get() : Backends.select(a.get("--backend"), "--backend");
        String task = SafeTensors.read(file).metadata().get("task");
        if (!Seq2SeqTrainCommand.TASK.equals(task)) {
            throw new ModelFormatException(file + ": metadata 'task': expected '" + Seq2SeqTrainCommand.TASK
                    + "' (a model written by 'rnnkit train --task seq2seq'), got " + (task == null ? "none"
                            : Untrusted.quote(task)));
        }
        Seq2Seq model = Seq2Seq.load(file, backend);
        List<String> texts = a.positional;
        int[] lengths = new int[texts.size()];
        Tensor x;
        try {
            x = DateTask.sources(texts, lengths);
        } catch (IllegalArgumentException e) {
            throw new Args.BadValueException(e.getMessage());
        }
        int[][] greedy = model.greedy(x, lengths, DateTask.TARGET_LEN, DateTask.END);
        int[][] beam = model.beamSearch(x, lengths, DateTask.TARGET_LEN, DateTask.END, width, alpha);
        for (int i = 0; i < texts.size(); i++) {
            out.println(Untrusted.line(texts.get(i), 80) + "  ->  greedy " + DateTask.text(greedy[i]) + "  beam("
                    + width + ") " + DateTask.text(beam[i]));
        }
        return 0;
    }
}
