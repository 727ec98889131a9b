package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.AtomicFile;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.onnx.OnnxWriter;

/** {@code rnnkit convert}: a layer from any readable format to rnnkit's safetensors or ONNX. */
final class ConvertCommand implements Main.Command {
    /** What convert writes. */
    enum Format {
        SAFETENSORS("safetensors"),
        ONNX("onnx");

        final String key;

        Format(String key) {
            this.key = key;
        }

        static Format parse(String option, String value) {
            for (Format f : values()) {
                if (f.key.equalsIgnoreCase(value.trim())) {
                    return f;
                }
            }
            throw new Args.BadValueException(option + ": expected safetensors or onnx, got "
                    + org.rnnkit.io.Untrusted.quote(value));
        }
    }

    @Override
    public String usage() {
        return """
                usage: rnnkit convert IN OUT [--to safetensors|onnx] [--initial-state]
                                             [--nonlinearity tanh|relu] [--batch-first true|false] [--prefix P]

                Converts a recurrent layer between rnnkit's safetensors file (what 'train' and
                RecurrentLayer.save write, and scripts/rnnkit_torch.py exports) and ONNX, and from PyTorch's
                torch.save files and Keras files to either. IN's format is read from its content; OUT's is --to, else OUT's
                extension (.onnx or .safetensors).
                ONNX in: one LSTM/GRU/RNN node with its weights as initializers (every attribute of the
                operators), or the graph PyTorch's exporter writes for nn.LSTM/GRU/RNN. ONNX out: opset %d,
                inputs input [, h0, c0 with --initial-state], outputs output, h_n [, c_n], as PyTorch
                exports them; every cell variant ONNX has is written as the node's attributes.
                Refused by name: what the other format cannot express (an LSTM projection, proj_size, and
                directions merged other than by concatenation have no ONNX form; a cell is not a layer).
                OUT is written whole or not at all.

                """.formatted(OnnxWriter.OPSET) + ModelFiles.TORCH_USAGE;
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Set<String> valued = new java.util.HashSet<>(ModelFiles.TORCH_OPTIONS);
        valued.addAll(Set.of("--to", "--batch-first"));
        Args a = Args.parse(argv, 0, valued, Set.of("--initial-state"));
        if (a.help) {
            out.print(usage());
            return 0;
        }
        if (a.positional.size() != 2) {
            throw new Args.UsageException("expected IN and OUT, got " + a.positional.size() + " file name"
                    + (a.positional.size() == 1 ? "" : "s"));
        }
        Path in = Args.checkedInput("IN", Path.of(a.positional.get(0)));
        Path outFile = Args.checkedOutput("OUT", Path.of(a.positional.get(1)));
        Format to = a.get("--to") != null ? Format.parse("--to", a.get("--to")) : byExtension(outFile);
        if (a.flag("--initial-state") && to != Format.ONNX) {
            throw new Args.UsageException("--initial-state: applies to ONNX output only");
        }
        Backend scalar = Backends.named("scalar"); // nothing runs: the reference backend only holds the weights
        boolean safetensors = ModelFiles.isSafeTensors(in);
        if (safetensors) {
            for (String opt : new String[] {"--nonlinearity", "--prefix", "--batch-first"}) {
                if (a.get(opt) != null) {
                    throw new Args.UsageException(opt + ": completes a PyTorch state_dict; IN is a safetensors file");
                }
            }
        }
        RecurrentLayer layer = safetensors ? RecurrentLayer.load(in, scalar)
                : ModelFiles.anyLayer(in, ModelFiles.loadOptions(a), scalar);
        byte[] bytes;
        if (to == Format.ONNX) {
            try {
                bytes = OnnxWriter.write(layer, a.flag("--initial-state"));
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(in + ": " + e.getMessage());
            }
            AtomicFile.write(outFile, bytes);
        } else {
            layer.save(outFile);
        }
        out.println("wrote " + outFile + " (" + to.key + "): " + layer.config());
        return 0;
    }

    private static Format byExtension(Path out) {
        String n = out.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".onnx")) {
            return Format.ONNX;
        }
        if (n.endsWith(".safetensors")) {
            return Format.SAFETENSORS;
        }
        throw new Args.UsageException("OUT: " + org.rnnkit.io.Untrusted.quote(out.toString())
                + ": give --to safetensors|onnx, or name it .onnx or .safetensors");
    }
}
