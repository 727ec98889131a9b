package org.rnnkit.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.ModelFormatException;
import org.rnnkit.io.Npy;
import org.rnnkit.io.SafeTensors;
import org.rnnkit.io.SafeTensorsFile;
import org.rnnkit.nn.CellConfig;
import org.rnnkit.nn.CellOutput;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentCell;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.MemoryBudgetException;
import org.rnnkit.tensor.Tensor;

/** {@code rnnkit run}: inference with a model file on .npy tensors. */
final class RunCommand implements Main.Command {
    /** Every file a run may write; at commit, those this run does not write are an earlier run's, and go. */
    static final Set<String> RESULT_FILES = Set.of("output.npy", "h_n.npy", "c_n.npy");

    /** Options that override the model file's metadata, and the metadata key each sets. */
    private static final Map<String, String> CONFIG_OPTIONS = new LinkedHashMap<>();

    static {
        CONFIG_OPTIONS.put("--mode", RecurrentConfig.KEY_MODE);
        CONFIG_OPTIONS.put("--input-size", RecurrentConfig.KEY_INPUT);
        CONFIG_OPTIONS.put("--hidden-size", RecurrentConfig.KEY_HIDDEN);
        CONFIG_OPTIONS.put("--num-layers", RecurrentConfig.KEY_LAYERS);
        CONFIG_OPTIONS.put("--bidirectional", RecurrentConfig.KEY_BIDIRECTIONAL);
        CONFIG_OPTIONS.put("--batch-first", RecurrentConfig.KEY_BATCH_FIRST);
        CONFIG_OPTIONS.put("--bias", RecurrentConfig.KEY_BIAS);
        CONFIG_OPTIONS.put("--proj-size", RecurrentConfig.KEY_PROJ);
        CONFIG_OPTIONS.put("--cell", RecurrentConfig.KEY_CELL);
    }

    @Override
    public String usage() {
        return """
                usage: rnnkit run --model M.safetensors|.onnx|.pt|.keras|.h5 --input X.npy [--h0 H.npy] [--c0 C.npy]
                                  [--lengths L.npy] --out DIR [--backend NAME] [CONFIG OPTIONS]

                Runs a layer or cell saved by rnnkit, exported from PyTorch (scripts/rnnkit_torch.py), or an
                ONNX model (format read from the content; see 'rnnkit convert --help' for what ONNX rnnkit
                runs: the layer it describes runs in PyTorch's layout here, input (T, B, I) or (B, T, I)) and
                writes DIR/output.npy, DIR/h_n.npy and, for LSTM, DIR/c_n.npy (cells: h_n.npy, c_n.npy, the
                new state). Tensors are float32 .npy; lengths.npy is int64, one length per batch row.
                The files appear together when the run succeeds, replacing an earlier run's (also its
                c_n.npy when this run has none), and not at all when it fails.

                The configuration comes from the file's __metadata__: mode (RNN_TANH, RNN_RELU, LSTM, GRU),
                input_size, hidden_size, num_layers, bidirectional, batch_first, bias, proj_size, cell
                (string values). These options set or override them:
                  --mode M  --input-size N  --hidden-size N  --num-layers N  --proj-size N
                  --bidirectional true|false  --batch-first true|false  --bias true|false  --cell true|false
                  --backend NAME   backend to use (default: the rnnkit.backend property, else auto)

                """ + ModelFiles.TORCH_USAGE;
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException {
        Set<String> valued = new java.util.HashSet<>(Set.of("--model", "--input", "--h0", "--c0", "--lengths", "--out",
                "--backend"));
        valued.addAll(ModelFiles.TORCH_OPTIONS);
        valued.addAll(CONFIG_OPTIONS.keySet());
        Args a = Args.parse(argv, 0, valued, Set.of());
        if (a.help) {
            out.print(usage());
            return 0;
        }
        a.noPositional();
        for (String required : new String[] {"--model", "--input", "--out"}) {
            a.required(required);
        }
        // every path is checked before anything is read or computed
        Path model = a.inputFile("--model", null), inputPath = a.inputFile("--input", null);
        if (model == null || inputPath == null) {
            throw new Args.UsageException("missing required option " + (model == null ? "--model" : "--input"));
        }
        Path h0Path = a.inputFile("--h0", null), c0Path = a.inputFile("--c0", null);
        Path lengthsPath = a.inputFile("--lengths", null);
        Path outDir = a.outputDirectory("--out");
        Backend backend = a.get("--backend") == null ? Backends.get() : Backends.select(a.get("--backend"), "--backend");

        Tensor input = Npy.readFloat32(inputPath);
        Tensor h0 = h0Path == null ? null : Npy.readFloat32(h0Path);
        Tensor c0 = c0Path == null ? null : Npy.readFloat32(c0Path);
        int[] lengths = lengthsPath == null ? null : toInts(lengthsPath, Npy.readInt64Vector(lengthsPath));
        if (!ModelFiles.isSafeTensors(model)) {
            for (String opt : CONFIG_OPTIONS.keySet()) {
                if (a.get(opt) != null && !opt.equals("--batch-first")) {
                    throw new Args.UsageException(opt + ": " + model.getFileName() + " says its configuration itself;"
                            + " only --nonlinearity, --batch-first and --prefix complete a PyTorch state_dict");
                }
            }
            long t0 = System.nanoTime();
            RecurrentLayer l = ModelFiles.anyLayer(model, ModelFiles.loadOptions(a), backend);
            return runLayer(l, t0, input, h0, c0, lengths, outDir, backend, out);
        }
        for (String opt : ModelFiles.TORCH_OPTIONS) {
            if (a.get(opt) != null) {
                throw new Args.UsageException(opt + ": applies to PyTorch state_dicts; " + model.getFileName()
                        + " is a safetensors file");
            }
        }
        SafeTensorsFile file = SafeTensors.read(model);
        Map<String, String> meta = new LinkedHashMap<>(file.metadata());
        CONFIG_OPTIONS.forEach((opt, key) -> {
            if (a.get(opt) != null) {
                meta.put(key, a.get(opt));
            }
        });
        boolean cell = Boolean.parseBoolean(meta.getOrDefault(RecurrentConfig.KEY_CELL, "false").trim());
        long t0 = System.nanoTime();
        if (!cell) {
            RecurrentLayer l = withFile(model, () -> RecurrentLayer.of(RecurrentConfig.fromMetadata(meta), file.tensors(), backend));
            return runLayer(l, t0, input, h0, c0, lengths, outDir, backend, out);
        }
        if (lengths != null) {
            throw new Args.UsageException("--lengths: a cell runs one step; lengths apply to layers only");
        }
        ResultFolder results = new ResultFolder(outDir, RESULT_FILES);
        Map<String, String> shapes = new LinkedHashMap<>();
        try {
            RecurrentCell c = withFile(model, () -> RecurrentCell.of(CellConfig.fromMetadata(meta), file.tensors(), backend));
            CellOutput r = c.forward(input, h0, c0, new Workspace());
            t0 = System.nanoTime() - t0;
            stage(results, shapes, "h_n.npy", r.h());
            stage(results, shapes, "c_n.npy", r.c());
            for (Path p : results.commit()) {
                out.println("wrote " + p + " " + shapes.get(p.getFileName().toString()));
            }
        } finally {
            results.discard();
        }
        out.printf("backend %s, %.3f ms (including weight preparation)%n", backend.name(), t0 / 1e6);
        return 0;
    }

    /** Runs {@code l} (built since {@code t0}) and writes its results. */
    private static int runLayer(RecurrentLayer l, long t0, Tensor input, Tensor h0, Tensor c0, int[] lengths,
            Path outDir, Backend backend, PrintStream out) throws IOException {
        ResultFolder results = new ResultFolder(outDir, RESULT_FILES);
        Map<String, String> shapes = new LinkedHashMap<>();
        try {
            LayerOutput r = l.forward(input, ForwardOptions.defaults().withLengths(lengths).withInitialState(h0, c0));
            t0 = System.nanoTime() - t0;
            stage(results, shapes, "output.npy", r.output());
            stage(results, shapes, "h_n.npy", r.hN());
            stage(results, shapes, "c_n.npy", r.cN());
            for (Path p : results.commit()) {
                out.println("wrote " + p + " " + shapes.get(p.getFileName().toString()));
            }
        } finally {
            results.discard();
        }
        out.printf("backend %s, %.3f ms (including weight preparation)%n", backend.name(), t0 / 1e6);
        return 0;
    }

    private interface Build<T> {
        T get();
    }

    /**
     * Configuration and tensor errors of the file become ModelFormatExceptions naming it; a model too large
     * for the memory budget stays what it is.
     */
    private static <T> T withFile(Path model, Build<T> build) throws ModelFormatException {
        try {
            return build.get();
        } catch (MemoryBudgetException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(model + ": " + e.getMessage());
        }
    }

    private static void stage(ResultFolder results, Map<String, String> shapes, String name, Tensor t)
            throws IOException {
        if (t != null) {
            results.stage(name, Npy.toBytes(t));
            shapes.put(name, t.shapeString());
        }
    }

    private static int[] toInts(Path p, long[] l) throws ModelFormatException {
        int[] out = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            if (l[i] < 1 || l[i] > Integer.MAX_VALUE) {
                throw new ModelFormatException(p + ": lengths[" + i + "]: expected a positive length, got " + l[i]);
            }
            out[i] = (int) l[i];
        }
        return out;
    }
}
