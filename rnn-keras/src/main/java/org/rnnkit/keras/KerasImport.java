package org.rnnkit.keras;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backend;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.MergeMode;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.variant.Activation;
import org.rnnkit.variant.CellVariant;

/**
 * One {@link RecurrentLayer} from a {@link KerasFile}: a {@code Sequential} or functional model that is a chain
 * of an input, recurrent layers ({@code LSTM}, {@code GRU} with {@code reset_after} true or false,
 * {@code SimpleRNN}, {@code Bidirectional} with {@code merge_mode} concat/sum/mul/ave) and inference-time
 * {@code Dropout} layers (the identity at inference, as Keras's {@code predict}), stacked layers all alike (type,
 * units, bias, activations, directions, merge mode), every one but the last with {@code return_sequences=True}.
 *
 * <p>Mapping: input {@code (batch, seq, features)} is {@code batch_first}; {@code activation} and
 * {@code recurrent_activation} fill rnnkit's slots (LSTM {@code f}=recurrent, {@code g}={@code h}=activation; GRU
 * {@code f}=recurrent, {@code g}=activation; SimpleRNN its activation), Keras 3's {@code hard_sigmoid} being
 * {@code HardSigmoid(1/6, 0.5)} and Keras 2's {@code (0.2, 0.5)} (from the file's Keras version); kernels
 * {@code (I, G*units)} are transposed to PyTorch's {@code (G*units, I)}, GRU gates reordered from Keras's
 * {@code z, r, h} to {@code r, z, n} (LSTM's {@code i, f, c, o} is already PyTorch's order); a single Keras bias
 * goes to {@code bias_ih} with zeros in {@code bias_hh} (also for {@code reset_after=False}, where rnnkit's
 * {@link CellVariant#resetBeforeProduct()} keeps both biases outside the reset gate), a {@code reset_after=True}
 * bias {@code (2, 3*units)} is the input row and the recurrent row.
 *
 * <p>{@code go_backwards=True} (a one-layer model only) becomes {@link RecurrentConfig#withReverse}: rnnkit
 * returns the output in input-step order while Keras returns it in processing order (last input step first);
 * {@link Plan#kerasOutput} gives Keras's order. {@code h_n}/{@code c_n} are the same in both.
 *
 * <p>Refused, with a {@link KerasFormatException} naming the layer and option: any other layer ({@code Masking},
 * {@code Dense}, ...), {@code stateful=True}, {@code time_major=True}, a non-float32 dtype policy, an activation
 * rnnkit has no function for, {@code merge_mode=None}, a branching graph, layers that differ, a
 * {@code return_sequences=False} below the top or on a {@code Bidirectional}. {@code dropout} and
 * {@code recurrent_dropout} &gt; 0 are accepted (they act only in training) and listed in {@link Plan#notes()}.
 *
 * <p>Stateless and thread-safe.
 */
public final class KerasImport {
    private KerasImport() {}

    /**
     * What {@link #layer} builds.
     *
     * @param config the layer's configuration
     * @param stateDict its parameters, PyTorch's names and layouts
     * @param processingOrder Keras returns the output sequence in processing order ({@code go_backwards})
     * @param lastStepOnly Keras returns only the last processed step ({@code return_sequences=False} on the top layer)
     * @param notes what was accepted but does not act at inference (dropout, ...)
     *
     * <p>Thread safety: immutable (the tensors must not be modified).
     */
    public record Plan(RecurrentConfig config, Map<String, Tensor> stateDict, boolean processingOrder,
            boolean lastStepOnly, List<String> notes) {
        public Plan {
            stateDict = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(stateDict));
            notes = List.copyOf(notes);
        }

        /**
         * rnnkit's output {@code (batch, seq, F)} as Keras returns it: time-reversed when {@link #processingOrder},
         * and only the last processed step {@code (batch, F)} when {@link #lastStepOnly}.
         */
        public Tensor kerasOutput(Tensor output) {
            if (output.rank() != 3) {
                throw new IllegalArgumentException("output: expected shape (batch, seq, features), got "
                        + output.shapeString());
            }
            int b = output.dim(0), t = output.dim(1), f = output.dim(2);
            float[] src = output.data();
            if (lastStepOnly) {
                int step = processingOrder ? 0 : t - 1;
                float[] out = new float[b * f];
                for (int i = 0; i < b; i++) {
                    System.arraycopy(src, (i * t + step) * f, out, i * f, f);
                }
                return Tensor.wrap(out, b, f);
            }
            if (!processingOrder) {
                return output;
            }
            float[] out = new float[src.length];
            for (int i = 0; i < b; i++) {
                for (int s = 0; s < t; s++) {
                    System.arraycopy(src, (i * t + s) * f, out, (i * t + (t - 1 - s)) * f, f);
                }
            }
            return Tensor.wrap(out, b, t, f);
        }
    }

    /** The layer, on {@code backend}: {@code RecurrentLayer.of(plan.config(), plan.stateDict(), backend)}. */
    public static RecurrentLayer layer(KerasFile file, Backend backend) throws KerasFormatException {
        Objects.requireNonNull(backend, "backend");
        Plan p = plan(file);
        try {
            return RecurrentLayer.of(p.config(), p.stateDict(), backend);
        } catch (IllegalArgumentException e) {
            throw new KerasFormatException(file.source(), e.getMessage(), e);
        }
    }

    /** One recurrent Keras layer, one direction. */
    private record Cell(CellType type, int units, boolean bias, boolean resetAfter, List<Activation> acts,
            boolean goBackwards, boolean returnSequences) {
        boolean sameAs(Cell o) {
            return type == o.type && units == o.units && bias == o.bias && resetAfter == o.resetAfter
                    && acts.equals(o.acts);
        }
    }

    /** A recurrent model layer: its config name, its saved-weights name, cells, merge mode. */
    private record Rec(String name, String savedName, String cls, Cell fwd, Cell bwd, MergeMode merge) {}

    /** The configuration and parameters the file describes. */
    public static Plan plan(KerasFile file) throws KerasFormatException {
        Objects.requireNonNull(file, "file");
        String src = file.source();
        JsonNode root = file.config();
        String cls = text(src, root, "class_name", "model");
        JsonNode cfg = root.get("config");
        if (cfg == null || !cfg.isObject()) {
            throw new KerasFormatException(src, "model: expected a config object, found " + cfg);
        }
        boolean functional = switch (cls) {
            case "Sequential" -> false;
            case "Functional", "Model" -> true;
            default -> throw new KerasFormatException(src, "model: expected a Sequential or Functional model, found "
                    + cls);
        };
        JsonNode layers = cfg.get("layers");
        if (layers == null || !layers.isArray() || layers.isEmpty()) {
            throw new KerasFormatException(src, "model: expected a non-empty layers list, found " + layers);
        }
        boolean keras2 = file.kerasVersion() != null && !file.kerasVersion().startsWith("3");
        List<String> notes = new ArrayList<>();
        List<Rec> recs = new ArrayList<>();
        Map<String, Integer> used = new HashMap<>();
        String prev = null;
        String inputName = null;
        int inputFeatures = -1;
        for (int idx = 0; idx < layers.size(); idx++) {
            JsonNode l = layers.path(idx);
            String lc = text(src, l, "class_name", "layer " + idx);
            JsonNode lcfg = l.get("config");
            if (lcfg == null || !lcfg.isObject()) {
                throw new KerasFormatException(src, "layer " + idx + " (" + lc + "): expected a config object");
            }
            String name = l.hasNonNull("name") ? l.get("name").asText() : text(src, lcfg, "name", "layer " + idx);
            String where = "layer '" + name + "' (" + lc + ")";
            if (functional) {
                checkInbound(src, where, l, prev);
            }
            if (lc.equals("InputLayer")) {
                if (idx != 0) {
                    throw new KerasFormatException(src, where + ": expected the input first, found it at " + idx);
                }
                inputName = name;
                JsonNode shape = lcfg.has("batch_shape") ? lcfg.get("batch_shape") : lcfg.get("batch_input_shape");
                if (shape != null && shape.isArray()) {
                    if (shape.size() != 3) {
                        throw new KerasFormatException(src, where + ": expected an input (batch, seq, features),"
                                + " found shape " + shape);
                    }
                    if (shape.path(2).isInt()) {
                        inputFeatures = shape.path(2).asInt();
                    }
                }
                prev = name;
                continue;
            }
            String base = snake(lc);
            int k = used.merge(base, 1, Integer::sum) - 1;
            String saved = k == 0 ? base : base + "_" + k;
            if (lc.equals("Dropout") || lc.equals("SpatialDropout1D") || lc.equals("GaussianDropout")
                    || lc.equals("GaussianNoise")) {
                notes.add(where + ": the identity at inference (acts only in training); skipped");
                prev = name;
                continue;
            }
            switch (lc) {
                case "LSTM", "GRU", "SimpleRNN" -> {
                    Cell c = cell(src, where, lc, lcfg, keras2, notes);
                    recs.add(new Rec(name, saved, lc, c, null, null));
                }
                case "Bidirectional" -> {
                    JsonNode mm = lcfg.get("merge_mode");
                    if (mm == null || mm.isNull()) {
                        throw new KerasFormatException(src, where + ": merge_mode=None returns the two directions"
                                + " as separate outputs; expected concat, sum, mul or ave");
                    }
                    MergeMode merge;
                    try {
                        merge = MergeMode.parse(mm.asText());
                    } catch (IllegalArgumentException e) {
                        throw new KerasFormatException(src, where + ": " + e.getMessage());
                    }
                    JsonNode fl = lcfg.get("layer");
                    if (fl == null || !fl.isObject()) {
                        throw new KerasFormatException(src, where + ": expected the wrapped layer, found " + fl);
                    }
                    String fc = text(src, fl, "class_name", where + " layer");
                    requireRecurrent(src, where + " forward layer", fc);
                    Cell f = cell(src, where + " forward " + fc, fc, fl.get("config"), keras2, notes);
                    JsonNode bl = lcfg.get("backward_layer");
                    Cell b;
                    if (bl == null || bl.isNull()) {
                        b = new Cell(f.type, f.units, f.bias, f.resetAfter, f.acts, !f.goBackwards, f.returnSequences);
                    } else {
                        String bc = text(src, bl, "class_name", where + " backward_layer");
                        requireRecurrent(src, where + " backward layer", bc);
                        if (!bc.equals(fc)) {
                            throw new KerasFormatException(src, where + ": expected the backward layer to be a " + fc
                                    + " like the forward one, found " + bc);
                        }
                        b = cell(src, where + " backward " + bc, bc, bl.get("config"), keras2, notes);
                    }
                    if (f.goBackwards || !b.goBackwards) {
                        throw new KerasFormatException(src, where + ": expected go_backwards false forward and true"
                                + " backward, found " + f.goBackwards + " and " + b.goBackwards);
                    }
                    if (!f.sameAs(b)) {
                        throw new KerasFormatException(src, where + ": expected its two directions alike, found "
                                + f + " and " + b);
                    }
                    recs.add(new Rec(name, saved, fc, f, b, merge));
                }
                default -> throw new KerasFormatException(src, where + ": unsupported layer " + lc
                        + "; rnnkit reads recurrent models only (InputLayer, LSTM, GRU, SimpleRNN, Bidirectional,"
                        + " Dropout)");
            }
            prev = name;
        }
        if (recs.isEmpty()) {
            throw new KerasFormatException(src, "model: expected at least one recurrent layer (LSTM, GRU, SimpleRNN,"
                    + " Bidirectional), found none");
        }
        if (functional) {
            checkEnds(src, cfg, inputName, prev, recs);
        }
        Rec first = recs.get(0);
        for (int i = 0; i < recs.size(); i++) {
            Rec r = recs.get(i);
            boolean last = i == recs.size() - 1;
            if (!r.fwd.sameAs(first.fwd) || (r.bwd == null) != (first.bwd == null) || r.merge != first.merge) {
                throw new KerasFormatException(src, "layer '" + r.name + "': rnnkit stacks alike layers only; expected"
                        + " it like '" + first.name + "' (" + first.cls + " " + describe(first) + "), found "
                        + r.cls + " " + describe(r));
            }
            if (!last && !r.fwd.returnSequences) {
                throw new KerasFormatException(src, "layer '" + r.name + "': return_sequences=False below the top"
                        + " layer; expected True");
            }
            if (last && !r.fwd.returnSequences && r.bwd != null) {
                throw new KerasFormatException(src, "layer '" + r.name + "': return_sequences=False on a"
                        + " Bidirectional layer is not supported; expected True");
            }
            if (r.fwd.goBackwards && (r.bwd != null || recs.size() > 1)) {
                throw new KerasFormatException(src, "layer '" + r.name + "': go_backwards=True is supported on a"
                        + " one-layer model only (Keras feeds the next layer in processing order), found "
                        + recs.size() + " layers");
            }
        }
        Cell c = first.fwd;
        boolean bidi = first.bwd != null;
        Map<String, Tensor> sd = new LinkedHashMap<>();
        int in = -1;
        for (int i = 0; i < recs.size(); i++) {
            Rec r = recs.get(i);
            int expectIn = i == 0 ? -1 : (bidi && first.merge == MergeMode.CONCAT ? 2 : 1) * c.units;
            for (int d = 0; d < (bidi ? 2 : 1); d++) {
                int got = convert(file, r, d, i, expectIn, sd);
                if (i == 0 && d == 0) {
                    in = got;
                }
            }
        }
        if (inputFeatures > 0 && inputFeatures != in) {
            throw new KerasFormatException(src, "input: the model says " + inputFeatures + " features, the first"
                    + " layer's kernel has " + in + " rows");
        }
        CellVariant v = CellVariant.NONE.withActivations(c.acts);
        if (c.type == CellType.GRU && !c.resetAfter) {
            v = v.withResetBeforeProduct(true);
        }
        RecurrentConfig config;
        try {
            config = new RecurrentConfig(c.type, in, c.units, recs.size(), c.bias, true, bidi, 0,
                    bidi ? first.merge : MergeMode.CONCAT, c.goBackwards, v);
        } catch (IllegalArgumentException e) {
            throw new KerasFormatException(src, e.getMessage(), e);
        }
        return new Plan(config, sd, c.goBackwards, !recs.get(recs.size() - 1).fwd.returnSequences, notes);
    }

    private static String describe(Rec r) {
        return "units=" + r.fwd.units + " use_bias=" + r.fwd.bias + " activations=" + r.fwd.acts
                + (r.fwd.type == CellType.GRU ? " reset_after=" + r.fwd.resetAfter : "")
                + (r.bwd != null ? " bidirectional merge_mode=" + r.merge.key() : "");
    }

    private static void requireRecurrent(String src, String where, String cls) throws KerasFormatException {
        if (!cls.equals("LSTM") && !cls.equals("GRU") && !cls.equals("SimpleRNN")) {
            throw new KerasFormatException(src, where + ": expected LSTM, GRU or SimpleRNN, found " + cls);
        }
    }

    /** Keras 3's saved-object name of a class: {@code SimpleRNN} is {@code simple_rnn}. */
    static String snake(String cls) {
        String s = cls.replaceAll("(.)([A-Z][a-z]+)", "$1_$2");
        return s.replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    private static String text(String src, JsonNode n, String key, String where) throws KerasFormatException {
        JsonNode v = n == null ? null : n.get(key);
        if (v == null || !v.isTextual()) {
            throw new KerasFormatException(src, where + ": expected a string '" + key + "', found " + v);
        }
        return v.asText();
    }

    private static boolean bool(String src, String where, JsonNode cfg, String key, boolean dflt)
            throws KerasFormatException {
        JsonNode v = cfg.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new KerasFormatException(src, where + ": " + key + ": expected true or false, found " + v);
        }
        return v.asBoolean();
    }

    private static Cell cell(String src, String where, String cls, JsonNode cfg, boolean keras2, List<String> notes)
            throws KerasFormatException {
        if (cfg == null || !cfg.isObject()) {
            throw new KerasFormatException(src, where + ": expected a config object, found " + cfg);
        }
        if (bool(src, where, cfg, "stateful", false)) {
            throw new KerasFormatException(src, where + ": stateful=True (state carried across batches) is not"
                    + " supported; rnnkit streams state explicitly");
        }
        if (bool(src, where, cfg, "time_major", false)) {
            throw new KerasFormatException(src, where + ": time_major=True is not supported; expected"
                    + " (batch, seq, features)");
        }
        JsonNode dtype = cfg.get("dtype");
        String dt = dtype == null || dtype.isNull() ? "float32" : dtype.isTextual() ? dtype.asText()
                : dtype.path("config").path("name").asText("?");
        if (!dt.equals("float32")) {
            throw new KerasFormatException(src, where + ": dtype " + dt + ": expected float32");
        }
        for (String k : new String[] {"dropout", "recurrent_dropout"}) {
            JsonNode v = cfg.get(k);
            if (v != null && !v.isNull()) {
                if (!v.isNumber()) {
                    throw new KerasFormatException(src, where + ": " + k + ": expected a number, found " + v);
                }
                if (v.asDouble() != 0) {
                    notes.add(where + ": " + k + "=" + v.asDouble() + " acts only in training; ignored at inference");
                }
            }
        }
        JsonNode u = cfg.get("units");
        if (u == null || !u.canConvertToInt() || !u.isIntegralNumber() || u.asInt() < 1) {
            throw new KerasFormatException(src, where + ": units: expected a positive integer, found " + u);
        }
        int units = u.asInt();
        boolean bias = bool(src, where, cfg, "use_bias", true);
        boolean goBack = bool(src, where, cfg, "go_backwards", false);
        boolean seq = bool(src, where, cfg, "return_sequences", false);
        Activation act = activation(src, where, cfg, "activation", "tanh", keras2);
        List<Activation> acts;
        CellType type;
        boolean resetAfter = false;
        switch (cls) {
            case "LSTM" -> {
                type = CellType.LSTM;
                Activation rec = activation(src, where, cfg, "recurrent_activation", "sigmoid", keras2);
                acts = List.of(rec, act, act);
            }
            case "GRU" -> {
                type = CellType.GRU;
                Activation rec = activation(src, where, cfg, "recurrent_activation", "sigmoid", keras2);
                acts = List.of(rec, act);
                resetAfter = bool(src, where, cfg, "reset_after", true);
            }
            default -> {
                type = CellType.RNN_TANH;
                acts = List.of(act);
            }
        }
        return new Cell(type, units, bias, resetAfter, acts, goBack, seq);
    }

    private static Activation activation(String src, String where, JsonNode cfg, String key, String dflt,
            boolean keras2) throws KerasFormatException {
        JsonNode v = cfg.get(key);
        String name = v == null || v.isNull() ? dflt : v.isTextual() ? v.asText() : null;
        if (name == null) {
            throw new KerasFormatException(src, where + ": " + key + ": expected the name of a built-in activation,"
                    + " found " + v);
        }
        return switch (name) {
            case "sigmoid" -> Activation.SIGMOID;
            case "tanh" -> Activation.TANH;
            case "relu" -> Activation.RELU;
            case "linear" -> new Activation(Activation.Function.AFFINE, 1f, 0f);
            case "hard_sigmoid" -> new Activation(Activation.Function.HARD_SIGMOID, keras2 ? 0.2f : 1f / 6f, 0.5f);
            case "softsign" -> Activation.of(Activation.Function.SOFTSIGN);
            case "softplus" -> Activation.of(Activation.Function.SOFTPLUS);
            case "elu" -> Activation.of(Activation.Function.ELU, 1f);
            default -> throw new KerasFormatException(src, where + ": " + key + " '" + name + "' is not supported;"
                    + " expected sigmoid, tanh, relu, linear, hard_sigmoid, softsign, softplus or elu");
        };
    }

    /** The functional graph must be a chain: each layer called once on the previous layer's first output. */
    private static void checkInbound(String src, String where, JsonNode l, String prev) throws KerasFormatException {
        JsonNode nodes = l.get("inbound_nodes");
        if (prev == null) {
            if (nodes != null && nodes.isArray() && !nodes.isEmpty()) {
                throw new KerasFormatException(src, where + ": expected the model's input first, found a layer called"
                        + " on " + nodes);
            }
            return;
        }
        if (nodes == null || !nodes.isArray() || nodes.size() != 1) {
            throw new KerasFormatException(src, where + ": expected one call in a chain of layers, found inbound_nodes "
                    + nodes);
        }
        JsonNode node = nodes.path(0);
        JsonNode hist;
        if (node.isObject()) { // Keras 3
            JsonNode args = node.get("args");
            if (args == null || !args.isArray() || args.size() != 1) {
                throw new KerasFormatException(src, where + ": expected one input tensor, found args " + args);
            }
            hist = args.path(0).path("config").get("keras_history");
            JsonNode kw = node.get("kwargs");
            if (kw != null && kw.isObject()) {
                for (var it = kw.fields(); it.hasNext(); ) {
                    var e = it.next();
                    if (!e.getValue().isNull() && !e.getKey().equals("training")) {
                        throw new KerasFormatException(src, where + ": called with " + e.getKey() + "="
                                + e.getValue() + "; not supported (" + e.getKey() + " must be absent)");
                    }
                }
            }
        } else if (node.isArray() && node.size() == 1 && node.path(0).isArray()) { // Keras 2
            hist = node.path(0);
            JsonNode kw = hist.size() > 3 ? hist.path(3) : null;
            if (kw != null && kw.isObject() && !kw.isEmpty()) {
                throw new KerasFormatException(src, where + ": called with arguments " + kw + "; not supported");
            }
        } else {
            throw new KerasFormatException(src, where + ": expected one call on one tensor, found " + node);
        }
        if (hist == null || !hist.isArray() || hist.size() < 3 || !hist.path(0).asText().equals(prev)
                || hist.path(2).asInt(-1) != 0) {
            throw new KerasFormatException(src, where + ": expected to be called on the output of '" + prev
                    + "' (a chain of layers), found " + hist);
        }
    }

    private static void checkEnds(String src, JsonNode cfg, String input, String last, List<Rec> recs)
            throws KerasFormatException {
        JsonNode ins = cfg.get("input_layers");
        if (ins != null && ins.isArray() && ins.size() == 1 && ins.path(0).isArray()) {
            ins = ins.path(0);
        }
        if (ins == null || !ins.isArray() || ins.size() < 1 || !ins.path(0).asText().equals(input)) {
            throw new KerasFormatException(src, "model: expected one input '" + input + "', found input_layers " + ins);
        }
        JsonNode outs = cfg.get("output_layers");
        if (outs != null && outs.isArray() && !outs.isEmpty() && !outs.path(0).isArray()) {
            outs = com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode().add(outs);
        }
        if (outs == null || !outs.isArray() || outs.isEmpty()) {
            throw new KerasFormatException(src, "model: expected output_layers, found " + outs);
        }
        JsonNode o0 = outs.path(0);
        if (!o0.path(0).asText().equals(last) || o0.path(2).asInt(-1) != 0) {
            throw new KerasFormatException(src, "model: expected the output of the last layer '" + last
                    + "' first, found output_layers " + outs);
        }
        for (int i = 1; i < outs.size(); i++) {
            JsonNode o = outs.path(i);
            String n = o.path(0).asText();
            boolean state = o.path(2).asInt(-1) >= 1 && recs.stream().anyMatch(r -> r.name.equals(n));
            if (!state) {
                throw new KerasFormatException(src, "model: output " + i + " " + o + ": expected a recurrent layer's"
                        + " final state (they are the layer's h_n/c_n), found another tensor");
            }
        }
    }

    /** Converts one direction of one layer into the state dict; returns its input width. */
    private static int convert(KerasFile file, Rec r, int dir, int layer, int expectIn, Map<String, Tensor> sd)
            throws KerasFormatException {
        String src = file.source();
        Cell c = r.fwd;
        Tensor[] w = weights(file, r, dir);
        int g = c.type.gates(), units = c.units, gu = g * units;
        Tensor k = w[0], rk = w[1], b = w[2];
        String what = "layer '" + r.name + "'" + (r.bwd != null ? (dir == 0 ? " forward" : " backward") : "");
        if (k.rank() != 2 || k.dim(1) != gu || (expectIn > 0 && k.dim(0) != expectIn)) {
            throw new KerasFormatException(src, what + " kernel: expected shape (" + (expectIn > 0 ? expectIn : "I")
                    + ", " + gu + "), found " + k.shapeString());
        }
        if (rk.rank() != 2 || rk.dim(0) != units || rk.dim(1) != gu) {
            throw new KerasFormatException(src, what + " recurrent_kernel: expected shape (" + units + ", " + gu
                    + "), found " + rk.shapeString());
        }
        int[] perm = c.type == CellType.GRU ? new int[] {1, 0, 2} : c.type == CellType.LSTM
                ? new int[] {0, 1, 2, 3} : new int[] {0};
        String sfx = "_l" + layer + (dir == 1 ? "_reverse" : "");
        sd.put("weight_ih" + sfx, transpose(k, perm, units));
        sd.put("weight_hh" + sfx, transpose(rk, perm, units));
        if (c.bias) {
            if (b == null) {
                throw new KerasFormatException(src, what + ": use_bias=True but no bias weight found");
            }
            boolean two = c.type == CellType.GRU && c.resetAfter;
            if (two ? !b.sameShape(2, gu) : !b.sameShape(gu)) {
                throw new KerasFormatException(src, what + " bias: expected shape " + (two ? "(2, " + gu + ")"
                        : "(" + gu + ",)") + ", found " + b.shapeString());
            }
            float[] bd = b.data();
            sd.put("bias_ih" + sfx, reorder(bd, 0, perm, units));
            sd.put("bias_hh" + sfx, two ? reorder(bd, gu, perm, units) : Tensor.zeros(gu));
        } else if (b != null) {
            throw new KerasFormatException(src, what + ": use_bias=False but a bias weight " + b.shapeString()
                    + " is stored");
        }
        return k.dim(0);
    }

    private static Tensor transpose(Tensor k, int[] perm, int units) {
        int rows = k.dim(0), gu = k.dim(1);
        float[] src = k.data(), out = new float[src.length];
        for (int pg = 0; pg < perm.length; pg++) {
            int kg = perm[pg];
            for (int u = 0; u < units; u++) {
                int dst = (pg * units + u) * rows, col = kg * units + u;
                for (int i = 0; i < rows; i++) {
                    out[dst + i] = src[i * gu + col];
                }
            }
        }
        return Tensor.wrap(out, gu, rows);
    }

    private static Tensor reorder(float[] b, int off, int[] perm, int units) {
        float[] out = new float[perm.length * units];
        for (int pg = 0; pg < perm.length; pg++) {
            System.arraycopy(b, off + perm[pg] * units, out, pg * units, units);
        }
        return Tensor.wrap(out, out.length);
    }

    /** kernel, recurrent kernel, bias (or null) of one direction of one layer. */
    private static Tensor[] weights(KerasFile file, Rec r, int dir) throws KerasFormatException {
        String src = file.source();
        Map<String, Tensor> all = file.weights();
        String side = r.bwd == null ? "" : dir == 0 ? "forward_layer/" : "backward_layer/";
        if (file.format() == KerasFile.Format.KERAS) {
            String base = "layers/" + r.savedName + "/" + side + "cell/vars/";
            Tensor k = all.get(base + "0"), rk = all.get(base + "1"), b = all.get(base + "2");
            if (k == null || rk == null || all.containsKey(base + "3")) {
                throw new KerasFormatException(src, "layer '" + r.name + "': expected weights " + base + "0, 1"
                        + (r.fwd.bias ? ", 2" : "") + ", found " + under(all, "layers/" + r.savedName + "/"));
            }
            return new Tensor[] {k, rk, b};
        }
        String prefix = "model_weights/" + r.name + "/";
        Tensor[] out = new Tensor[3];
        String[] names = {"kernel", "recurrent_kernel", "bias"};
        for (var e : all.entrySet()) {
            if (!e.getKey().startsWith(prefix)) {
                continue;
            }
            String rest = e.getKey().substring(prefix.length());
            if (r.bwd != null) {
                boolean fwd = rest.contains("forward"), bwd = rest.contains("backward");
                if (fwd == bwd) {
                    throw new KerasFormatException(src, "layer '" + r.name + "': weight " + e.getKey()
                            + ": expected a forward or backward path");
                }
                if (fwd != (dir == 0)) {
                    continue;
                }
            }
            String leaf = rest.substring(rest.lastIndexOf('/') + 1);
            leaf = leaf.endsWith(":0") ? leaf.substring(0, leaf.length() - 2) : leaf;
            int slot = List.of(names).indexOf(leaf);
            if (slot < 0 || out[slot] != null) {
                throw new KerasFormatException(src, "layer '" + r.name + "': weight " + e.getKey() + ": expected one"
                        + " each of kernel, recurrent_kernel, bias");
            }
            out[slot] = e.getValue();
        }
        if (out[0] == null || out[1] == null) {
            throw new KerasFormatException(src, "layer '" + r.name + "': expected kernel and recurrent_kernel under "
                    + prefix + side + ", found " + under(all, prefix));
        }
        return out;
    }

    private static List<String> under(Map<String, Tensor> all, String prefix) {
        return all.keySet().stream().filter(k -> k.startsWith(prefix)).limit(8).toList();
    }
}
